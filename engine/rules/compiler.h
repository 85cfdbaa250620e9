#pragma once

// Compiles a rule set — the YAML files of a rules directory — into a CompiledRuleSet:
//
//   files -> (yaml-cpp) documents -> params, lists, macros, settings, rules
//         -> (parser) Ast -> (checker) CheckedExpr -> (planner) Plan -> CompiledRuleSet
//
// Every mistake becomes a Diagnostic with file:line:column; a rule set with any error is not
// built. `rules_version` is a fingerprint of every file's name and content, list files included.
//
//   CompileOutput out = CompileRuleDirectory("rules");
//   if (out.rule_set == nullptr) for (auto& d : out.diagnostics) print(d.ToString());
//
// Thread-safe (no shared state).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/rules/compiled_rule_set.h"
#include "engine/rules/diagnostic.h"

namespace vigil::rules {

struct RuleFile {
  std::string path;  // as diagnostics name it
  std::string text;
};

// Reads a list file named in a rule file (`lists: {x: {file: lists/x.txt}}`), relative to the
// rules directory.
using ListFileReader = std::function<absl::StatusOr<std::string>(const std::string& relative)>;

struct CompileOutput {
  std::unique_ptr<CompiledRuleSet> rule_set;  // nullptr when there are errors
  std::vector<Diagnostic> diagnostics;        // errors and warnings, in file order
};

CompileOutput CompileRuleFiles(const std::vector<RuleFile>& files, const ListFileReader& lists);

// Compiles every `*.yaml` file directly in `dir` (sorted by name; rule tests live in
// `dir/tests/` and are not part of the rule set). A directory that cannot be read, or that holds
// no rule file, is one diagnostic.
CompileOutput CompileRuleDirectory(const std::string& dir);

}  // namespace vigil::rules
