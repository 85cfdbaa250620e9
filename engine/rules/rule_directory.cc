// CompileRuleDirectory: the rule files of a directory, read from disk and compiled.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/rules/compiler.h"

namespace vigil::rules {
namespace {

absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

CompileOutput CompileRuleDirectory(const std::string& dir) {
  CompileOutput output;
  std::vector<std::filesystem::path> paths;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.is_regular_file() && entry.path().extension() == ".yaml") {
      paths.push_back(entry.path());
    }
  }
  if (error || paths.empty()) {
    output.diagnostics.push_back(
        Diagnostic{Severity::kError, dir, 0, 0,
                   error ? absl::StrCat("cannot read the rules directory: ", error.message())
                         : "no rule files (*.yaml) in the rules directory"});
    return output;
  }
  std::sort(paths.begin(), paths.end());
  std::vector<RuleFile> files;
  for (const auto& path : paths) {
    absl::StatusOr<std::string> text = ReadFile(path);
    if (!text.ok()) {
      output.diagnostics.push_back(
          Diagnostic{Severity::kError, path.string(), 0, 0, std::string(text.status().message())});
      return output;
    }
    files.push_back(RuleFile{path.string(), *std::move(text)});
  }
  const std::filesystem::path root(dir);
  return CompileRuleFiles(files, [&root](const std::string& relative) {
    if (relative.empty() || relative[0] == '/' || absl::StrContains(relative, "..")) {
      return absl::StatusOr<std::string>(absl::InvalidArgumentError(
          "list files are named relative to the rules directory, without \"..\""));
    }
    return ReadFile(root / relative);
  });
}

}  // namespace vigil::rules
