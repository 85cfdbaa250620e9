#pragma once

#include <cstdint>

#include "absl/strings/string_view.h"

namespace vigil {

// 64-bit FNV-1a: the same value for the same bytes in every process and on every machine, for
// fingerprints that are compared across runs (rule set versions, remembered merchant ids).
// Not for hash tables exposed to untrusted keys.
inline uint64_t StableHash(absl::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

}  // namespace vigil
