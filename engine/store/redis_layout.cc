#include "engine/store/redis_layout.h"

#include <array>
#include <memory>

#include "absl/strings/match.h"
#include "engine/redis/key_slot.h"

namespace vigil::store::redis_layout {
namespace {

// For each slot, the first key "{o:N}:outbox" (N = 0, 1, 2...) whose hash tag lands in it:
// about 170,000 CRC16s of a few bytes each, once.
std::unique_ptr<std::array<std::string, redis::kSlotCount>> MakeOutboxKeys() {
  auto keys = std::make_unique<std::array<std::string, redis::kSlotCount>>();
  int missing = redis::kSlotCount;
  for (int n = 0; missing > 0; ++n) {
    const std::string tag = absl::StrCat("o:", n);
    std::string& key = (*keys)[redis::Crc16(tag) % redis::kSlotCount];
    if (!key.empty()) continue;
    key = absl::StrCat("{", tag, "}:outbox");
    missing -= 1;
  }
  return keys;
}

}  // namespace

absl::string_view UserIdOfKey(absl::string_view key) {
  if (!absl::StartsWith(key, "{u:") || !absl::EndsWith(key, "}") || key.size() < 5) return {};
  return key.substr(3, key.size() - 4);
}

const std::string& OutboxKey(int slot) {
  static const std::unique_ptr<std::array<std::string, redis::kSlotCount>> keys = MakeOutboxKeys();
  return (*keys)[slot];
}

int UserSlot(absl::string_view user_id) { return redis::KeySlot(UserKey(user_id)); }

}  // namespace vigil::store::redis_layout
