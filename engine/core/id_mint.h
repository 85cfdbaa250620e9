#pragma once

// IdMint mints the ids an engine hands out: mandate ids ("mdt_" and 16 hex digits) and decision
// ids ("d_" and 13 base-32 digits). Ids of one mint never repeat; their order does not show,
// since each is a bijective mix of a counter and the seed. Give each process its own seed.
//
//   IdMint mint(seed);
//   std::string id = mint.MandateId();
//
// Thread-safe. Decision ids, one per charge, are taken in blocks per thread, so that the
// server's threads rarely write to the shared counter's cache line.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace vigil {

class IdMint {
 public:
  explicit IdMint(uint64_t seed);
  IdMint(const IdMint&) = delete;
  IdMint& operator=(const IdMint&) = delete;

  std::string MandateId();
  // 15 characters, short enough for std::string to keep inline: no allocation.
  std::string DecisionId();

  // The number in a mandate id a mint made, or none for an id no mint can have made.
  static std::optional<uint64_t> MandateNumber(absl::string_view mandate_id);

 private:
  const uint64_t seed_;
  const uint64_t serial_;  // this mint's number in the process, for the per-thread blocks
  std::atomic<uint64_t> next_{0};
};

}  // namespace vigil
