// vigil-bench: loads a running vigild (or vigil-baseline) over gRPC the way a payment gateway
// does, and reports throughput and latency honestly.
//
//   vigil-bench --target 127.0.0.1:50051 --mode closed --concurrency 64 --duration-s 10
//   vigil-bench --target 127.0.0.1:50051 --mode open --rate 5000 --duration-s 10 --json
//
// Closed loop keeps --concurrency calls in flight over --channels channels, to find the highest
// rate. Open loop sends at a fixed --rate and measures each call's latency from the moment it
// was meant to be sent, so a stalled server cannot hide its queue (no coordinated omission).
// Users are drawn with a Zipf popularity (--zipf), seeded (--seed), so runs repeat. Before the
// run it grants each user a general mandate through the API (--setup, on by default; off for
// vigil-baseline). A progress line prints every second; at the end a table for people, or JSON
// with --json.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "engine/server/dashed_flags.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "vigil/v1/vigil.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "vigild (or vigil-baseline) address");
ABSL_FLAG(std::string, mode, "closed", "closed (calls in flight) or open (fixed rate)");
ABSL_FLAG(int, concurrency, 64, "closed loop: calls in flight");
ABSL_FLAG(int, rate, 1000, "open loop: calls per second");
ABSL_FLAG(int, channels, 4, "gRPC channels (connections) to spread calls over");
ABSL_FLAG(double, duration_s, 10, "measured seconds");
ABSL_FLAG(double, warmup_s, 2, "seconds of load before measuring");
ABSL_FLAG(int, users, 10000, "distinct users");
ABSL_FLAG(double, zipf, 1.1, "Zipf exponent of user popularity (0 = uniform)");
ABSL_FLAG(uint64_t, seed, 1, "random seed");
ABSL_FLAG(bool, setup, true, "grant every user a general mandate first");
ABSL_FLAG(bool, json, false, "print the result as JSON");
ABSL_FLAG(bool, progress, true, "print a progress line every second (to stderr)");

namespace {

namespace v1 = vigil::v1;
using Clock = std::chrono::steady_clock;

// Draws user indices with P(rank k) proportional to 1 / k^s.
class Zipf {
 public:
  Zipf(int n, double s) : cdf_(n) {
    double total = 0;
    for (int k = 0; k < n; ++k) cdf_[k] = total += 1.0 / std::pow(k + 1, s);
    for (double& c : cdf_) c /= total;
  }
  int Draw(std::mt19937_64& random) const {
    const double u = std::uniform_real_distribution<double>(0, 1)(random);
    return static_cast<int>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  }

 private:
  std::vector<double> cdf_;
};

std::string UserId(int i) { return absl::StrCat("bench-user-", i); }

// What the calls did, in the measured interval.
class Recorder {
 public:
  void Record(Clock::time_point intended, Clock::time_point done, const grpc::Status& status,
              v1::Decision decision) {
    absl::MutexLock lock(&mu_);
    if (done < measure_from_ || done >= measure_until_) return;
    if (!status.ok()) {
      errors_[status.error_code()] += 1;
      return;
    }
    latencies_us_.push_back(std::chrono::duration<double, std::micro>(done - intended).count());
    decisions_[decision] += 1;
    window_.push_back(latencies_us_.back());
  }
  void SetInterval(Clock::time_point from, Clock::time_point until) {
    absl::MutexLock lock(&mu_);
    measure_from_ = from;
    measure_until_ = until;
  }
  // The p99 of the calls completed since the last call, and their count.
  std::pair<double, size_t> TakeWindow() {
    absl::MutexLock lock(&mu_);
    std::vector<double> window;
    window.swap(window_);
    if (window.empty()) return {0, 0};
    std::sort(window.begin(), window.end());
    return {window[static_cast<size_t>(0.99 * (window.size() - 1))], window.size()};
  }
  int64_t Errors() {
    absl::MutexLock lock(&mu_);
    int64_t total = 0;
    for (const auto& [code, count] : errors_) total += count;
    return total;
  }

  struct Summary {
    size_t calls = 0;
    double p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
    std::map<int, int64_t> errors;
    std::map<int, int64_t> decisions;
  };
  Summary Summarize() {
    absl::MutexLock lock(&mu_);
    Summary summary;
    std::sort(latencies_us_.begin(), latencies_us_.end());
    summary.calls = latencies_us_.size();
    auto at = [&](double q) {
      return latencies_us_.empty()
                 ? 0.0
                 : latencies_us_[static_cast<size_t>(q * (latencies_us_.size() - 1))] / 1000;
    };
    summary.p50_ms = at(0.5);
    summary.p90_ms = at(0.9);
    summary.p99_ms = at(0.99);
    summary.p999_ms = at(0.999);
    summary.max_ms = at(1.0);
    for (const auto& [code, count] : errors_) summary.errors[code] = count;
    for (const auto& [decision, count] : decisions_) summary.decisions[decision] = count;
    return summary;
  }

 private:
  absl::Mutex mu_;
  Clock::time_point measure_from_ ABSL_GUARDED_BY(mu_) = Clock::time_point::max();
  Clock::time_point measure_until_ ABSL_GUARDED_BY(mu_) = Clock::time_point::max();
  std::vector<double> latencies_us_ ABSL_GUARDED_BY(mu_);
  std::vector<double> window_ ABSL_GUARDED_BY(mu_);
  std::map<int, int64_t> errors_ ABSL_GUARDED_BY(mu_);
  std::map<int, int64_t> decisions_ ABSL_GUARDED_BY(mu_);
};

class Load {
 public:
  Load() : zipf_(absl::GetFlag(FLAGS_users), absl::GetFlag(FLAGS_zipf)) {
    for (int i = 0; i < std::max(1, absl::GetFlag(FLAGS_channels)); ++i) {
      // A channel argument that differs per channel keeps gRPC from sharing one connection.
      grpc::ChannelArguments arguments;
      arguments.SetInt("vigil.bench.channel", i);
      stubs_.push_back(v1::RiskEngine::NewStub(grpc::CreateCustomChannel(
          absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials(), arguments)));
    }
  }

  // Grants every user a general mandate. UNAVAILABLE etc. if the server says no.
  absl::Status Setup() {
    auto channel =
        grpc::CreateChannel(absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials());
    auto mandates = v1::Mandates::NewStub(channel);
    for (int i = 0; i < absl::GetFlag(FLAGS_users); ++i) {
      v1::GrantMandateRequest request;
      request.set_request_id(absl::StrCat("bench-grant-", i));
      request.set_user_id(UserId(i));
      request.set_merchant_id("*");
      request.mutable_consent()->set_explicit_opt_in(true);
      request.mutable_consent()->set_terms_version("bench");
      grpc::ClientContext context;
      v1::Mandate mandate;
      const grpc::Status status = mandates->GrantMandate(&context, request, &mandate);
      if (!status.ok()) {
        return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                            absl::StrCat("granting ", UserId(i), ": ", status.error_message()));
      }
    }
    return absl::OkStatus();
  }

  // Sends one Authorize; `done` runs on completion.
  void Send(Clock::time_point intended, std::function<void()> done) {
    struct Call {
      grpc::ClientContext context;
      v1::AuthorizeRequest request;
      v1::AuthorizeResponse response;
    };
    auto* call = new Call;
    const uint64_t n = next_.fetch_add(1);
    int user = 0;
    {
      absl::MutexLock lock(&random_mu_);
      user = zipf_.Draw(random_);
    }
    call->request.set_transaction_id(absl::StrCat("bench-", run_, "-", n));
    call->request.set_user_id(UserId(user));
    call->request.set_merchant_id("bench-merchant");
    call->request.set_amount_minor(1000 + static_cast<int64_t>(n % 5000));
    call->request.set_currency("CNY");
    call->request.set_channel(v1::QR_CODE);
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    in_flight_.fetch_add(1);
    stubs_[n % stubs_.size()]->async()->Authorize(
        &call->context, &call->request, &call->response,
        [this, call, intended, done = std::move(done)](grpc::Status status) {
          recorder_.Record(intended, Clock::now(), status, call->response.decision());
          delete call;
          in_flight_.fetch_sub(1);
          done();
        });
  }

  void Closed(Clock::time_point until) {
    const int concurrency = std::max(1, absl::GetFlag(FLAGS_concurrency));
    std::function<void()> again;
    again = [this, until, &again] {
      if (Clock::now() < until) Send(Clock::now(), again);
    };
    for (int i = 0; i < concurrency; ++i) Send(Clock::now(), again);
    Wait(until);
  }

  void Open(Clock::time_point start, Clock::time_point until) {
    const double rate = std::max(1, absl::GetFlag(FLAGS_rate));
    for (uint64_t i = 0;; ++i) {
      const Clock::time_point intended =
          start + std::chrono::nanoseconds(static_cast<int64_t>(i * 1e9 / rate));
      if (intended >= until) break;
      std::this_thread::sleep_until(intended);
      Send(intended, [] {});
    }
    Wait(until);
  }

  Recorder& recorder() { return recorder_; }

 private:
  void Wait(Clock::time_point until) {
    while (Clock::now() < until || in_flight_.load() > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  Zipf zipf_;
  absl::Mutex random_mu_;
  std::mt19937_64 random_{absl::GetFlag(FLAGS_seed)};
  std::vector<std::unique_ptr<v1::RiskEngine::Stub>> stubs_;
  std::atomic<uint64_t> next_{0};
  std::atomic<int> in_flight_{0};
  const std::string run_ =
      absl::StrCat(std::chrono::system_clock::now().time_since_epoch().count());
  Recorder recorder_;
};

std::string CodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("load-tests vigild over gRPC; see bench/vigil_bench.cc");
  vigil::AcceptDashedFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode != "closed" && mode != "open") {
    std::fprintf(stderr, "vigil-bench: --mode is closed or open, not \"%s\"\n", mode.c_str());
    return 2;
  }
  Load load;
  if (absl::GetFlag(FLAGS_setup)) {
    if (absl::Status status = load.Setup(); !status.ok()) {
      std::fprintf(stderr, "vigil-bench: setup failed: %s\n", status.ToString().c_str());
      return 1;
    }
  }
  const auto seconds = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  const Clock::time_point start = Clock::now();
  const Clock::time_point measure_from = start + seconds(absl::GetFlag(FLAGS_warmup_s));
  const Clock::time_point until = measure_from + seconds(absl::GetFlag(FLAGS_duration_s));
  load.recorder().SetInterval(measure_from, until);

  std::atomic<bool> finished{false};
  std::thread progress([&] {
    while (!finished.load()) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      const auto [p99_us, calls] = load.recorder().TakeWindow();
      if (absl::GetFlag(FLAGS_progress) && !finished.load()) {
        std::fprintf(stderr, "vigil-bench: %s %6zu calls/s  p99 %.2f ms  errors %lld\n",
                     Clock::now() < measure_from ? "warm-up " : "measured", calls, p99_us / 1000,
                     static_cast<long long>(load.recorder().Errors()));
      }
    }
  });
  if (mode == "closed") {
    load.Closed(until);
  } else {
    load.Open(start, until);
  }
  finished = true;
  progress.join();

  const Recorder::Summary summary = load.recorder().Summarize();
  const double rate = summary.calls / absl::GetFlag(FLAGS_duration_s);
  int64_t decided = 0;
  for (const auto& [decision, count] : summary.decisions) decided += count;
  std::vector<std::string> mix;
  std::vector<std::string> errors;
  for (const auto& [decision, count] : summary.decisions) {
    mix.push_back(absl::StrCat(absl::GetFlag(FLAGS_json) ? "\"" : "",
                               v1::Decision_Name(static_cast<v1::Decision>(decision)),
                               absl::GetFlag(FLAGS_json) ? "\": " : " ",
                               absl::GetFlag(FLAGS_json)
                                   ? absl::StrCat(count)
                                   : absl::StrFormat("%.1f%%", 100.0 * count / decided)));
  }
  for (const auto& [code, count] : summary.errors) {
    errors.push_back(absl::GetFlag(FLAGS_json) ? absl::StrCat("\"", CodeName(code), "\": ", count)
                                               : absl::StrCat(CodeName(code), " ", count));
  }
  if (absl::GetFlag(FLAGS_json)) {
    std::printf(
        "{\"target\": \"%s\", \"mode\": \"%s\", \"concurrency\": %d, \"offered_rate\": %d, "
        "\"duration_s\": %.1f, \"calls\": %zu, \"rate\": %.1f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, "
        "\"p99_ms\": %.3f, \"p999_ms\": %.3f, \"max_ms\": %.3f, \"errors\": {%s}, "
        "\"decisions\": {%s}}\n",
        absl::GetFlag(FLAGS_target).c_str(), mode.c_str(), absl::GetFlag(FLAGS_concurrency),
        absl::GetFlag(FLAGS_rate), absl::GetFlag(FLAGS_duration_s), summary.calls, rate,
        summary.p50_ms, summary.p90_ms, summary.p99_ms, summary.p999_ms, summary.max_ms,
        absl::StrJoin(errors, ", ").c_str(), absl::StrJoin(mix, ", ").c_str());
  } else {
    std::printf("vigil-bench: %s loop against %s, %.1f s measured after %.1f s warm-up\n",
                mode.c_str(), absl::GetFlag(FLAGS_target).c_str(), absl::GetFlag(FLAGS_duration_s),
                absl::GetFlag(FLAGS_warmup_s));
    std::printf("  rate         %.0f calls/s (%zu calls)\n", rate, summary.calls);
    std::printf("  latency ms   p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
                summary.p50_ms, summary.p90_ms, summary.p99_ms, summary.p999_ms, summary.max_ms);
    std::printf("  errors       %s\n",
                errors.empty() ? "none" : absl::StrJoin(errors, ", ").c_str());
    std::printf("  decisions    %s\n", absl::StrJoin(mix, "  ").c_str());
  }
  return summary.calls > 0 && summary.errors.empty() ? 0 : 1;
}
