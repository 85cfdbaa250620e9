// vigil-rules: checks and tests a rules directory without starting vigild.
//
//   vigil-rules check DIR   compile; print every error and warning as file:line:column
//   vigil-rules test DIR    compile, then run the cases in DIR/tests/*.yaml
//   vigil-rules show DIR    compile, then print exactly what would be loaded: the version, the
//                           settings, every param, list (with its size) and rule
//
// Exit status: 0 when all is well, 1 when the rules do not compile or a test fails, 2 for a
// usage mistake.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "engine/core/money.h"
#include "engine/rules/compiler.h"
#include "engine/rules/rule_tests.h"

namespace {

namespace fs = std::filesystem;
using vigil::rules::CompileOutput;
using vigil::rules::Diagnostic;
using vigil::rules::RuleMode;
using vigil::rules::Severity;

int Usage() {
  std::fputs(
      "usage: vigil-rules check DIR\n       vigil-rules test DIR\n       vigil-rules show DIR\n",
      stderr);
  return 2;
}

// Compiles DIR and prints its diagnostics; nullptr when it does not compile.
std::shared_ptr<const vigil::rules::CompiledRuleSet> Compile(const std::string& dir) {
  CompileOutput output = vigil::rules::CompileRuleDirectory(dir);
  int errors = 0;
  for (const Diagnostic& diagnostic : output.diagnostics) {
    std::fprintf(stderr, "%s\n", diagnostic.ToString().c_str());
    errors += diagnostic.severity == Severity::kError;
  }
  if (output.rule_set == nullptr) {
    std::fprintf(stderr, "%s: %d error(s); the rule set does not compile\n", dir.c_str(), errors);
    return nullptr;
  }
  return std::shared_ptr<const vigil::rules::CompiledRuleSet>(std::move(output.rule_set));
}

int Check(const std::string& dir) {
  std::shared_ptr<const vigil::rules::CompiledRuleSet> rule_set = Compile(dir);
  if (rule_set == nullptr) return 1;
  int shadow = 0;
  for (const auto& rule : rule_set->rules()) shadow += rule.mode == RuleMode::kShadow;
  std::printf("%s: ok, %zu rules (%zu enforced, %d shadow), %zu velocity windows, version %s\n",
              dir.c_str(), rule_set->rules().size(), rule_set->rules().size() - shadow, shadow,
              rule_set->layout().specs().size(), std::string(rule_set->version()).c_str());
  return 0;
}

std::string Money(int64_t minor, const std::string& currency) {
  return absl::StrCat(vigil::FormatAmount(minor, currency), " ", currency);
}

int Show(const std::string& dir) {
  std::shared_ptr<const vigil::rules::CompiledRuleSet> rule_set = Compile(dir);
  if (rule_set == nullptr) return 1;
  const vigil::rules::RuleSetSettings& settings = rule_set->settings();
  const vigil::rules::RuleSetContents& contents = rule_set->contents();
  const std::string& currency = settings.currency;
  std::printf("rule set %s, from %s\n\n", std::string(rule_set->version()).c_str(), dir.c_str());
  std::printf("settings\n");
  std::printf("  currency                 %s\n", currency.c_str());
  std::printf("  utc_offset               %+.2f h\n", settings.utc_offset_ms / 3'600'000.0);
  std::printf("  elderly_age              %d (risk assessment %s)\n", settings.elderly_age,
              settings.elderly_requires_risk_assessment ? "required" : "not required");
  std::printf("  dormant_after            %lld days\n",
              static_cast<long long>(settings.dormant_after_ms / 86'400'000));
  std::printf("  caps, standard           per txn %s, daily %s\n",
              Money(settings.standard_per_txn_cap_minor, currency).c_str(),
              Money(settings.standard_daily_cap_minor, currency).c_str());
  std::printf("  caps, elderly            per txn %s, daily %s\n",
              Money(settings.elderly_per_txn_cap_minor, currency).c_str(),
              Money(settings.elderly_daily_cap_minor, currency).c_str());
  std::printf("  notify_user              %s\n", contents.notify_user.c_str());
  const vigil::NoticeSchedule& notices = settings.notices;
  std::printf(
      "  notices                  daily scan at %02lld:%02lld local, summary on day %d, "
      "expiring within %lld days\n",
      static_cast<long long>(notices.scan_at_ms / 3'600'000),
      static_cast<long long>(notices.scan_at_ms / 60'000 % 60), notices.summary_day,
      static_cast<long long>(notices.expiring_within_ms / 86'400'000));

  std::printf("\nparams (%zu)\n", contents.params.size());
  for (const auto& param : contents.params) {
    std::printf("  %-32s %-16s %s\n", param.name.c_str(), param.value.c_str(), param.file.c_str());
  }
  std::printf("\nlists (%zu)\n", contents.lists.size());
  for (const auto& list : contents.lists) {
    std::printf("  %-32s %8zu items  %s\n", list.name.c_str(), list.size, list.file.c_str());
  }
  const size_t enabled = static_cast<size_t>(std::count_if(
      contents.rules.begin(), contents.rules.end(), [](const auto& rule) { return rule.enabled; }));
  std::printf("\nrules (%zu, %zu enabled, in evaluation order)\n", contents.rules.size(), enabled);
  for (const auto& rule : contents.rules) {
    std::printf("  %-28s %-7s %-9s %-28s%s  %s:%d\n", rule.id.c_str(), rule.mode.c_str(),
                rule.action.c_str(), rule.code.c_str(), rule.enabled ? "" : " (disabled)",
                rule.file.c_str(), rule.line);
    std::printf("      when: %s\n", absl::StrReplaceAll(absl::StripAsciiWhitespace(rule.when),
                                                        {{"\n", "\n            "}})
                                        .c_str());
    if (!rule.exceptions.empty()) {
      std::printf("      except: %s\n", absl::StrJoin(rule.exceptions, " | ").c_str());
    }
  }
  return 0;
}

int Test(const std::string& dir) {
  std::shared_ptr<const vigil::rules::CompiledRuleSet> rule_set = Compile(dir);
  if (rule_set == nullptr) return 1;
  std::vector<fs::path> paths;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(fs::path(dir) / "tests", error)) {
    if (entry.is_regular_file() && entry.path().extension() == ".yaml") {
      paths.push_back(entry.path());
    }
  }
  std::sort(paths.begin(), paths.end());
  if (paths.empty()) {
    std::fprintf(stderr, "%s/tests: no rule tests (*.yaml)\n", dir.c_str());
    return 1;
  }
  std::vector<std::pair<std::string, std::string>> files;
  for (const fs::path& path : paths) {
    std::ifstream file(path);
    std::ostringstream text;
    text << file.rdbuf();
    files.emplace_back(path.string(), text.str());
  }
  const vigil::rules::RuleTestReport report = vigil::rules::RunRuleTests(rule_set, files);
  int passed = 0;
  int failed = 0;
  for (const auto& result : report.results) {
    if (result.passed) {
      ++passed;
      std::printf("PASS %s\n", result.name.c_str());
    } else {
      ++failed;
      std::printf("FAIL %s (%s:%d): %s\n", result.name.c_str(), result.file.c_str(), result.line,
                  result.failure.c_str());
    }
  }
  for (const Diagnostic& diagnostic : report.diagnostics) {
    std::printf("%s\n", diagnostic.ToString().c_str());
  }
  const int broken = static_cast<int>(report.diagnostics.size());
  std::printf("%d passed, %d failed\n", passed, failed + broken);
  return failed + broken == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return Usage();
  const std::string command = argv[1];
  if (command == "check") return Check(argv[2]);
  if (command == "test") return Test(argv[2]);
  if (command == "show") return Show(argv[2]);
  return Usage();
}
