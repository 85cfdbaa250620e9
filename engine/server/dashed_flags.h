#pragma once

// Lets command lines spell flags with dashes (--data-dir, as the README names vigild's flags) as
// well as with Abseil's underscores (--data_dir). Call before absl::ParseCommandLine.

#include <algorithm>
#include <cstring>

namespace vigil {

// Rewrites, in place, every "--some-flag[=value]" in argv[1..argc) to "--some_flag[=value]".
// Values are untouched, and so is everything after a bare "--".
inline void AcceptDashedFlagNames(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    char* arg = argv[i];
    if (std::strcmp(arg, "--") == 0) return;
    if (std::strncmp(arg, "--", 2) != 0) continue;
    char* name_end = std::strchr(arg, '=');
    if (name_end == nullptr) name_end = arg + std::strlen(arg);
    std::replace(arg + 2, name_end, '-', '_');
  }
}

}  // namespace vigil
