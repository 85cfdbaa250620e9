#include "engine/core/id_mint.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace vigil {
namespace {

constexpr absl::string_view kMandatePrefix = "mdt_";

// A bijection on 64-bit integers (SplitMix64's finaliser): consecutive counters become ids that
// look unrelated, yet never collide within one seed.
uint64_t Mix(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t NextSerial() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

IdMint::IdMint(uint64_t seed) : seed_(seed), serial_(NextSerial()) {}

std::string IdMint::MandateId() {
  const uint64_t n = next_.fetch_add(1, std::memory_order_relaxed);
  return absl::StrCat(kMandatePrefix, absl::Hex(Mix(seed_ + n), absl::kZeroPad16));
}

std::string IdMint::DecisionId() {
  constexpr uint64_t kBlock = 1024;
  struct Block {
    uint64_t mint = 0;
    uint64_t next = 0;
    uint64_t end = 0;
  };
  thread_local Block block;
  if (block.mint != serial_ || block.next == block.end) {
    block.mint = serial_;
    block.next = next_.fetch_add(kBlock, std::memory_order_relaxed);
    block.end = block.next + kBlock;
  }
  static constexpr char kDigits[] = "0123456789abcdefghjkmnpqrstvwxyz";
  uint64_t n = Mix(seed_ + block.next++);
  std::string id(15, '0');
  id[0] = 'd';
  id[1] = '_';
  for (int i = 14; i >= 2; --i, n >>= 5) id[i] = kDigits[n & 31];
  return id;
}

std::optional<uint64_t> IdMint::MandateNumber(absl::string_view mandate_id) {
  uint64_t number = 0;
  if (mandate_id.size() != kMandatePrefix.size() + 16 ||
      !absl::StartsWith(mandate_id, kMandatePrefix) ||
      !absl::SimpleHexAtoi(mandate_id.substr(kMandatePrefix.size()), &number)) {
    return std::nullopt;
  }
  return number;
}

}  // namespace vigil
