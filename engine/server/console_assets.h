#pragma once

// The console's files (console/src and its charting library), built into vigild by CMake
// (cmake/embed_files.cmake): the machines that run vigild may have no internet, so the page
// loads nothing from elsewhere.

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace vigil::server {

struct ConsoleAsset {
  absl::string_view name;  // "index.html", "uplot.js", ...
  absl::string_view bytes;
};

absl::Span<const ConsoleAsset> ConsoleAssets();

}  // namespace vigil::server
