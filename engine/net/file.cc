#include "engine/net/file.h"

#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"

namespace vigil::net {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError(absl::StrCat(path, " cannot be read"));
  return std::string{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

}  // namespace vigil::net
