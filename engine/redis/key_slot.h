#pragma once

// Which of Redis Cluster's 16,384 hash slots a key lives in, as the cluster computes it: CRC16
// (XMODEM) of the key, or of its hash tag, modulo 16,384. A hash tag is the part between the
// first '{' and the first '}' after it, when that part is not empty: every key of one user is
// written "{u:ID}:..." so that all of them share one slot, one primary and one atomic script.
//
//   KeySlot("{u:42}:state") == KeySlot("{u:42}:txn:t-1")   // one user, one slot
//
// Pure functions; thread-safe.

#include <cstdint>

#include "absl/strings/string_view.h"

namespace vigil::redis {

inline constexpr int kSlotCount = 16384;

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), as Redis Cluster uses it.
uint16_t Crc16(absl::string_view data);

// The part of `key` that is hashed: its hash tag if it has one, else the whole key.
absl::string_view HashedPart(absl::string_view key);

// The key's slot, 0 to kSlotCount - 1.
int KeySlot(absl::string_view key);

}  // namespace vigil::redis
