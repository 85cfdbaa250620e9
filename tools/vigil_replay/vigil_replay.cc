// vigil-replay: decides a recorded decision log again under a rule set, and says what changes.
//
//   vigilctl export-decisions --since 2026-11-27T00:00:00+08:00 > week.jsonl
//   vigil-replay --log week.jsonl --rules rules-next/ [--json] [--strict]
//
// Every charge, outcome, mandate change and profile of the log is replayed in order, at its
// recorded time, on an engine that starts empty (see engine/replay/replay.h). A malformed line
// is reported with its number; --strict stops there, otherwise replay goes on without it.
//
// Exit status: 0 when the log was replayed, 1 when it could not be (or --strict met a bad
// line), 2 for a usage mistake.

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/core/vocabulary.h"
#include "engine/replay/replay.h"
#include "engine/rules/rule_set.h"
#include "engine/server/dashed_flags.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(std::string, log, "", "the decision log, JSON Lines from vigilctl export-decisions");
ABSL_FLAG(std::string, rules, "", "the rules directory to replay under");
ABSL_FLAG(bool, json, false, "print the report as one JSON object");
ABSL_FLAG(bool, strict, false, "stop at the first malformed line instead of skipping it");
ABSL_FLAG(int, sample, 20, "how many changed charges to show");
ABSL_FLAG(int, top_users, 10, "how many of the most affected users to show");
ABSL_FLAG(int, idempotency_retention_h, 24 * 7,
          "how long a transaction_id is remembered, as vigild's flag of the same name");

namespace {

using nlohmann::json;
using vigil::AuthorizeResponse;
using vigil::replay::ReplayReport;

constexpr size_t kBadLinesKept = 20;

[[noreturn]] void UsageError(const std::string& message) {
  std::fprintf(stderr, "vigil-replay: %s\n(see vigil-replay --help)\n", message.c_str());
  std::exit(2);
}

// A bar on stderr while a terminal watches, redrawn a few times a second.
class Progress {
 public:
  explicit Progress(int64_t total_bytes)
      : total_bytes_(total_bytes), shown_(isatty(STDERR_FILENO) == 1 && total_bytes > 0) {}

  void Update(int64_t bytes, int64_t lines) {
    if (!shown_ || (lines & 0xfff) != 0) return;
    const auto now = Clock::now();
    if (now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    Draw(bytes, lines);
  }
  void Done(int64_t lines) {
    if (!shown_) return;
    Draw(total_bytes_, lines);
    std::fputc('\n', stderr);
  }

 private:
  using Clock = std::chrono::steady_clock;

  void Draw(int64_t bytes, int64_t lines) const {
    constexpr int kWidth = 30;
    const double done = static_cast<double>(bytes) / static_cast<double>(total_bytes_);
    const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    const double rate = seconds > 0 ? static_cast<double>(lines) / seconds : 0;
    const double eta = done > 0 ? seconds * (1 - done) / done : 0;
    const int filled = static_cast<int>(done * kWidth);
    std::fprintf(stderr, "\rreplaying [%s%s] %3.0f%%  %lld lines  %.0f/s  %.0fs left ",
                 std::string(filled, '#').c_str(), std::string(kWidth - filled, '.').c_str(),
                 done * 100, static_cast<long long>(lines), rate, eta);
  }

  const int64_t total_bytes_;
  const bool shown_;
  const Clock::time_point start_ = Clock::now();
  Clock::time_point last_ = start_;
};

struct BadLine {
  int64_t line;
  std::string error;
};

// One line of the log, parsed.
struct ParsedLine {
  int64_t number = 0;
  int64_t end_byte = 0;  // where the next line starts
  absl::StatusOr<vigil::DecisionLogEntry> entry;
};

// Reads and parses the log on a thread of its own, a batch of lines at a time, a bounded number
// of batches ahead of the replay: reading and parsing take about as long as deciding, and the
// deciding thread then only decides. Lines come out in the file's order, so the replay stays
// deterministic.
class LogReader {
 public:
  explicit LogReader(std::ifstream& log)
      : thread_([this, &log](std::stop_token stop) { Read(log, stop); }) {}

  // The next batch, in order; false after the last one.
  bool Next(std::vector<ParsedLine>& batch) {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [this] { return !batches_.empty() || finished_; });
    if (batches_.empty()) return false;
    batch = std::move(batches_.front());
    batches_.pop_front();
    changed_.notify_all();
    return true;
  }
  // Whether reading the file failed (rather than ended).
  bool failed() {
    std::unique_lock lock(mu_);
    return failed_;
  }

 private:
  static constexpr size_t kBatchLines = 512;
  static constexpr size_t kBatchesAhead = 64;

  void Read(std::ifstream& log, std::stop_token stop) {
    std::string line;
    int64_t number = 0;
    int64_t bytes = 0;
    std::vector<ParsedLine> batch;
    auto push = [&] {
      std::unique_lock lock(mu_);
      if (!changed_.wait(lock, stop, [this] { return batches_.size() < kBatchesAhead; })) return;
      batches_.push_back(std::move(batch));
      batch.clear();
      changed_.notify_all();
    };
    while (!stop.stop_requested() && std::getline(log, line)) {
      ++number;
      bytes += static_cast<int64_t>(line.size()) + 1;
      if (line.empty()) continue;
      batch.push_back(ParsedLine{number, bytes, vigil::replay::ParseLogLine(line)});
      if (batch.size() == kBatchLines) push();
    }
    if (!batch.empty()) push();
    std::unique_lock lock(mu_);
    failed_ = log.bad();
    finished_ = true;
    changed_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable_any changed_;
  std::deque<std::vector<ParsedLine>> batches_;
  bool finished_ = false;
  bool failed_ = false;
  std::jthread thread_;  // last: it stops and joins before the rest goes
};

json ReasonsJson(const std::vector<const vigil::Reason*>& reasons) {
  json out = json::array();
  for (const vigil::Reason* reason : reasons) {
    out.push_back(
        {{"code", reason->code}, {"rule_id", reason->rule_id}, {"message", reason->message}});
  }
  return out;
}

json AnswerJson(const AuthorizeResponse& response) {
  return {{"decision", std::string(vigil::Name(response.decision))},
          {"reasons", ReasonsJson(response.reasons)},
          {"shadow_reasons", ReasonsJson(response.shadow_reasons)},
          {"notify_user", response.notify_user}};
}

json ReportJson(const ReplayReport& report, absl::string_view rules_version, int64_t lines,
                int64_t malformed, const std::vector<BadLine>& bad_lines) {
  json out = {
      {"rules_version", rules_version}, {"lines", lines},
      {"malformed", malformed},         {"total", report.total},
      {"changed", report.changed},      {"reasons_changed", report.reasons_changed},
      {"outcomes", report.outcomes},    {"mandate_changes", report.mandate_changes},
      {"profiles", report.profiles},    {"refused", report.refused},
      {"refusals", report.refusals},    {"transitions", report.transitions},
      {"rule_hits", report.rule_hits},  {"logged_rule_hits", report.logged_rule_hits},
  };
  json& users = out["top_users"] = json::array();
  for (const auto& [user, changed] : report.top_users) {
    users.push_back({{"user_id", user}, {"changed", changed}});
  }
  json& sample = out["sample"] = json::array();
  for (const vigil::replay::ChangedCharge& charge : report.sample) {
    sample.push_back({{"time_ms", charge.time_ms},
                      {"transaction_id", charge.transaction_id},
                      {"user_id", charge.user_id},
                      {"logged", AnswerJson(charge.logged)},
                      {"replayed", AnswerJson(charge.replayed)}});
  }
  json& bad = out["malformed_lines"] = json::array();
  for (const BadLine& line : bad_lines) bad.push_back({{"line", line.line}, {"error", line.error}});
  return out;
}

std::string Codes(const std::vector<const vigil::Reason*>& reasons) {
  std::string out;
  for (const vigil::Reason* reason : reasons) {
    absl::StrAppend(&out, out.empty() ? "" : ",", reason->code);
  }
  return out.empty() ? "-" : out;
}

std::string Time(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

void PrintText(const ReplayReport& report, absl::string_view rules_version, int64_t malformed) {
  const double share =
      report.total > 0 ? 100.0 * static_cast<double>(report.changed) / report.total : 0;
  std::printf(
      "%lld charges replayed under rules %s: %lld decided differently (%.2f%%), %lld with "
      "other reasons\n",
      static_cast<long long>(report.total), std::string(rules_version).c_str(),
      static_cast<long long>(report.changed), share,
      static_cast<long long>(report.reasons_changed));
  std::printf(
      "also replayed: %lld outcomes, %lld mandate changes, %lld profiles; %lld refused; "
      "%lld malformed lines skipped\n",
      static_cast<long long>(report.outcomes), static_cast<long long>(report.mandate_changes),
      static_cast<long long>(report.profiles), static_cast<long long>(report.refused),
      static_cast<long long>(malformed));

  if (!report.transitions.empty()) {
    std::printf("\ntransitions\n");
    for (const auto& [transition, count] : report.transitions) {
      std::printf("  %-24s %10lld\n", transition.c_str(), static_cast<long long>(count));
    }
  }
  std::map<std::string, std::pair<int64_t, int64_t>> hits;  // rule -> (logged, replayed)
  for (const auto& [rule, count] : report.logged_rule_hits) hits[rule].first = count;
  for (const auto& [rule, count] : report.rule_hits) hits[rule].second = count;
  if (!hits.empty()) {
    std::printf("\nrule hits (enforced and shadow)   %10s %10s %10s\n", "logged", "replayed",
                "change");
    for (const auto& [rule, counts] : hits) {
      std::printf("  %-32s %10lld %10lld %+10lld\n", rule.c_str(),
                  static_cast<long long>(counts.first), static_cast<long long>(counts.second),
                  static_cast<long long>(counts.second - counts.first));
    }
  }
  if (!report.top_users.empty()) {
    std::printf("\nusers most affected (charges decided differently)\n");
    for (const auto& [user, changed] : report.top_users) {
      std::printf("  %-32s %10lld\n", user.c_str(), static_cast<long long>(changed));
    }
  }
  if (!report.sample.empty()) {
    std::printf("\nchanged charges (the first %zu)\n", report.sample.size());
    for (const vigil::replay::ChangedCharge& charge : report.sample) {
      std::printf("  %s  %s  user %s\n    logged   %-9s %s\n    replayed %-9s %s\n",
                  Time(charge.time_ms).c_str(), charge.transaction_id.c_str(),
                  charge.user_id.c_str(), std::string(vigil::Name(charge.logged.decision)).c_str(),
                  Codes(charge.logged.reasons).c_str(),
                  std::string(vigil::Name(charge.replayed.decision)).c_str(),
                  Codes(charge.replayed.reasons).c_str());
    }
  }
  if (!report.refusals.empty()) {
    std::printf("\nrefused by the replaying engine (the first %zu)\n", report.refusals.size());
    for (const std::string& refusal : report.refusals) std::printf("  %s\n", refusal.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "decides a decision log again under a rule set.\n"
      "usage: vigil-replay --log FILE --rules DIR [--json] [--strict]");
  vigil::AcceptDashedFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);
  // As in vigild: Abseil's deadlock detector (on in Debian's build) would update its process-wide
  // lock graph on every lock the engine takes.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const std::string log_path = absl::GetFlag(FLAGS_log);
  const std::string rules_dir = absl::GetFlag(FLAGS_rules);
  if (log_path.empty()) UsageError("--log is required");
  if (rules_dir.empty()) UsageError("--rules is required");
  if (absl::GetFlag(FLAGS_sample) < 0 || absl::GetFlag(FLAGS_top_users) < 0) {
    UsageError("--sample and --top-users cannot be negative");
  }

  absl::StatusOr<std::unique_ptr<const vigil::Policy>> policy =
      vigil::rules::LoadRuleSet(rules_dir);
  if (!policy.ok()) {
    std::fprintf(stderr, "vigil-replay: %s: %s\n", rules_dir.c_str(),
                 std::string(policy.status().message()).c_str());
    return 1;
  }
  const std::string rules_version((*policy)->version());
  std::ifstream log(log_path, std::ios::binary | std::ios::ate);
  if (!log) {
    std::fprintf(stderr, "vigil-replay: cannot open %s\n", log_path.c_str());
    return 1;
  }
  const int64_t log_bytes = log.tellg();
  log.seekg(0);

  vigil::replay::Replayer replayer(
      *std::move(policy), vigil::replay::ReplayOptions{
                              static_cast<size_t>(absl::GetFlag(FLAGS_sample)),
                              static_cast<size_t>(absl::GetFlag(FLAGS_top_users)),
                              int64_t{absl::GetFlag(FLAGS_idempotency_retention_h)} * 3'600'000});
  Progress progress(log_bytes);
  const absl::Time started = absl::Now();
  int64_t lines = 0;
  int64_t malformed = 0;
  std::vector<BadLine> bad_lines;
  LogReader reader(log);
  std::vector<ParsedLine> batch;
  while (reader.Next(batch)) {
    for (const ParsedLine& parsed : batch) {
      lines = parsed.number;
      const absl::StatusOr<vigil::DecisionLogEntry>& entry = parsed.entry;
      if (!entry.ok()) {
        ++malformed;
        std::fprintf(stderr, "%s%s:%lld: %s\n", isatty(STDERR_FILENO) ? "\n" : "", log_path.c_str(),
                     static_cast<long long>(lines), std::string(entry.status().message()).c_str());
        if (absl::GetFlag(FLAGS_strict)) {
          std::fprintf(stderr, "vigil-replay: stopped at line %lld (--strict)\n",
                       static_cast<long long>(lines));
          return 1;
        }
        if (bad_lines.size() < kBadLinesKept) {
          bad_lines.push_back(BadLine{lines, std::string(entry.status().message())});
        }
        continue;
      }
      replayer.Replay(*entry);
      progress.Update(parsed.end_byte, lines);
    }
  }
  if (reader.failed()) {
    std::fprintf(stderr, "vigil-replay: reading %s failed at line %lld\n", log_path.c_str(),
                 static_cast<long long>(lines));
    return 1;
  }
  progress.Done(lines);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - started);
  const ReplayReport report = replayer.Finish();
  std::fprintf(stderr, "vigil-replay: %lld lines in %.2f s (%.0f lines/s)\n",
               static_cast<long long>(lines), seconds,
               seconds > 0 ? static_cast<double>(lines) / seconds : 0.0);

  if (absl::GetFlag(FLAGS_json)) {
    std::printf("%s\n",
                ReportJson(report, rules_version, lines, malformed, bad_lines).dump(2).c_str());
  } else {
    PrintText(report, rules_version, malformed);
  }
  return 0;
}
