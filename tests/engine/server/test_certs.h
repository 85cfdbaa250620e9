#pragma once

// Certificates for the TLS tests, made by tools/make-certs.sh (openssl) in a fresh directory.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace vigil::testing {

// A new directory under the test's temporary directory, named `name`, holding a CA and the
// server, gateway, app and risk certificates of tools/make-certs.sh.
inline std::string MakeCerts(const std::string& name) {
  const std::string dir = absl::StrCat(::testing::TempDir(), "/certs-", name, "-", ::getpid());
  std::filesystem::remove_all(dir);
  const std::string command =
      absl::StrCat(VIGIL_SOURCE_DIR, "/tools/make-certs.sh ", dir, " >/dev/null");
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return dir;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// Replaces `path` with `content` at once (a rename), as a certificate rotation tool would.
inline void ReplaceFile(const std::string& path, const std::string& content) {
  const std::string staged = path + ".new";
  std::ofstream(staged, std::ios::binary) << content;
  std::filesystem::rename(staged, path);
}

}  // namespace vigil::testing
