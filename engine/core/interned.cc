#include "engine/core/interned.h"

#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace vigil {
namespace {

// Values are heap-allocated once and never freed, so pointers stay valid as the maps grow.
struct Pool {
  absl::Mutex mu;
  absl::flat_hash_map<std::string, std::unique_ptr<const Reason>> reasons ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, std::unique_ptr<const std::string>> strings ABSL_GUARDED_BY(mu);
};

// Never destroyed: interned pointers stay valid until the process ends.
Pool& ThePool() {
  static Pool* const pool = new Pool;
  return *pool;
}

}  // namespace

const Reason* InternReason(const Reason& reason) {
  // The three fields with their lengths: no two different reasons share a key.
  const std::string key = absl::StrCat(reason.code.size(), ":", reason.code, reason.rule_id.size(),
                                       ":", reason.rule_id, reason.message);
  Pool& pool = ThePool();
  absl::MutexLock lock(&pool.mu);
  std::unique_ptr<const Reason>& slot = pool.reasons[key];
  if (slot == nullptr) slot = std::make_unique<const Reason>(reason);
  return slot.get();
}

const std::string* InternString(absl::string_view value) {
  Pool& pool = ThePool();
  absl::MutexLock lock(&pool.mu);
  std::unique_ptr<const std::string>& slot = pool.strings[value];
  if (slot == nullptr) slot = std::make_unique<const std::string>(value);
  return slot.get();
}

}  // namespace vigil
