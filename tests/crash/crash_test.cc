// The crash test: vigild, with its embedded store, under concurrent Authorize, GrantMandate,
// RevokeMandate and ReportOutcome traffic, is killed with SIGKILL at random moments and
// restarted, again and again. After every restart it checks that nothing acknowledged was lost:
//
//   - every acknowledged grant is there, and every acknowledged revocation;
//   - no revoked mandate approves again, neither after a restart nor in between;
//   - no user's approved total (less acknowledged FAILED outcomes) ever exceeds the daily cap,
//     across all the crashes — the usage was restored, not reset;
//   - a retried transaction_id gets its first answer and is never counted twice;
//   - every acknowledged outcome is known;
//   - every acknowledged event that tells its user (a grant, a revocation, an approved charge
//     of a user told of each) has its notice, which a consumer watching after the restart gets.
//
//   crash_test VIGILD RULES_DIR [CYCLES]      (CYCLES defaults to 20)
//
// It prints what it checked and exits non-zero on the first broken promise.

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "vigil/v1/vigil.grpc.pb.h"

namespace {

namespace fs = std::filesystem;
namespace v1 = vigil::v1;
using Clock = std::chrono::steady_clock;

// Enough users that each stays under the burst rule and reaches its daily cap instead.
constexpr int kUsers = 200;
constexpr int kWorkers = 4;
constexpr int64_t kDailyCapMinor = 200000;  // the shipped rules' standard daily cap

// Charges are dated half a second apart from 2026-06-01 22:30 (+08:00), so that a run crosses
// local midnight after about 10,000 charges, where the daily cap rightly resets: the ledger keeps
// each user's approvals per local day, and every run checks the caps on both sides.
constexpr int64_t kStepMs = 500;
const absl::TimeZone kLocal = absl::FixedTimeZone(8 * 3600);
const int64_t kDayStart =
    absl::ToUnixMillis(absl::FromCivil(absl::CivilSecond(2026, 6, 1, 22, 30, 0), kLocal));

absl::CivilDay LocalDay(int64_t epoch_ms) {
  return absl::ToCivilDay(absl::FromUnixMillis(epoch_ms), kLocal);
}

// The running vigild, so that a failure does not leave it behind.
std::atomic<pid_t> running_vigild{-1};

[[noreturn]] void Broken(const std::string& what) {
  std::fprintf(stderr, "crash test: BROKEN PROMISE: %s\n", what.c_str());
  std::printf("0 passed, 1 failed\n");
  std::fflush(stdout);
  if (const pid_t pid = running_vigild.load(); pid > 0) kill(pid, SIGKILL);
  std::exit(1);
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

std::string UserId(int i) { return absl::StrCat("crash-user-", i); }
// Every other user is told of each approved charge.
bool Told(const std::string& user) { return (user.back() - '0') % 2 == 0; }
// What a notice is about: its kind and the transaction or mandate, e.g. "MANDATE_GRANTED mdt_1".
std::string NoticeKey(v1::NoticeKind kind, const std::string& subject) {
  return absl::StrCat(v1::NoticeKind_Name(kind), " ", subject);
}

struct Acked {
  std::string user;
  absl::CivilDay day;  // the local day it was dated, whose cap it counts against
  int64_t amount = 0;
  std::string decision_id;
  bool approved = false;
};

// What the clients were told, which the server must never contradict.
struct Ledger {
  absl::Mutex mu;
  std::map<std::string, Acked> authorizations;       // txn -> first acknowledged answer
  std::map<std::string, std::string> mandates;       // mandate -> user, acknowledged grants
  std::map<std::string, Clock::time_point> revoked;  // mandate -> when the revocation was acked
  std::map<std::string, bool> probed;                // revoked mandates charged after a restart
  std::map<std::string, int64_t> released;           // txn -> amount, acknowledged FAILED
  // Sent, but the answer was lost with the process: retried after the restart, as a gateway
  // would, with the same content.
  std::map<std::string, v1::AuthorizeRequest> uncertain_charges;
  std::map<std::string, int64_t> uncertain_releases;
  int64_t approvals = 0;
  // Notices: those owed for acknowledged events, those the consumer was sent, and the first
  // not yet sent.
  std::set<std::string> owed, sent_notices, missing;

  void Owe(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (owed.insert(key).second && sent_notices.count(key) == 0) missing.insert(key);
  }
  void Sent(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    sent_notices.insert(key);
    missing.erase(key);
  }

  // Records an acknowledged answer; checks the promises it could break.
  void Acknowledge(const v1::AuthorizeRequest& request, const v1::AuthorizeResponse& response,
                   Clock::time_point sent) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const bool approved = response.decision() == v1::APPROVE;
    auto [it, first] = authorizations.try_emplace(
        request.transaction_id(), Acked{request.user_id(), LocalDay(request.event_time_ms()),
                                        request.amount_minor(), response.decision_id(), approved});
    if (!first && it->second.decision_id != response.decision_id()) {
      Broken(absl::StrCat("transaction ", request.transaction_id(), " was decided twice"));
    }
    if (!first) return;
    approvals += approved;
    if (approved && Told(request.user_id())) {
      Owe(NoticeKey(v1::CHARGE_APPROVED, request.transaction_id()));
    }
    const UserDay user_day{request.user_id(), it->second.day};
    if (approved) net[user_day] += request.amount_minor();
    auto revocation = revoked.find(request.mandate_id());
    if (approved && revocation != revoked.end() && revocation->second < sent) {
      Broken(absl::StrCat("mandate ", request.mandate_id(), " approved ", request.transaction_id(),
                          " after its revocation"));
    }
    if (net[user_day] > kDailyCapMinor) {
      Broken(absl::StrCat(request.user_id(), " was approved ", net[user_day], " fen on ",
                          absl::FormatCivilTime(user_day.second), ", above the daily cap"));
    }
  }

  // Per user and local day: acknowledged approvals less acknowledged FAILED outcomes.
  using UserDay = std::pair<std::string, absl::CivilDay>;
  std::map<UserDay, int64_t> net;

  // Releases in flight: counted from the moment they are sent, since the server may apply them
  // from then on and let another charge use the room before this client hears back.
  std::map<std::string, int64_t> releasing;

  int64_t NetApproved(const std::string& user, absl::CivilDay day) { return net[{user, day}]; }
  bool BeginRelease(const std::string& txn, int64_t amount) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (released.count(txn) != 0 || releasing.count(txn) != 0 ||
        uncertain_releases.count(txn) != 0) {
      return false;
    }
    releasing[txn] = amount;
    const Acked& charge = authorizations[txn];
    net[{charge.user, charge.day}] -= amount;
    return true;
  }
  void EndRelease(const std::string& txn, bool acknowledged) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const int64_t amount = releasing[txn];
    releasing.erase(txn);
    (acknowledged ? released : uncertain_releases)[txn] = amount;
  }
};

class Vigild {
 public:
  Vigild(std::string binary, std::string rules, std::string data)
      : binary_(std::move(binary)), rules_(std::move(rules)), data_(std::move(data)) {}

  void Start() {
    port_ = FreePort();
    pid_ = fork();
    if (pid_ == 0) {
      const std::string listen = absl::StrCat("127.0.0.1:", port_);
      freopen("/dev/null", "w", stderr);
      execl(binary_.c_str(), binary_.c_str(), "--listen", listen.c_str(), "--rules", rules_.c_str(),
            "--data-dir", data_.c_str(), "--trust-client-time", "--rules-poll-ms", "0",
            "--admin-listen", "127.0.0.1:0", static_cast<char*>(nullptr));
      _exit(127);
    }
    running_vigild = pid_;
    // Wait until it listens before connecting, so that the channel does not start in its
    // reconnect backoff.
    for (int i = 0; i < 500 && !Listening(); ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) Broken("vigild exited at start");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
    auto health = grpc::health::v1::Health::NewStub(channel_);
    for (int i = 0; i < 300; ++i) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
      grpc::health::v1::HealthCheckResponse response;
      if (health->Check(&context, {}, &response).ok()) return;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) Broken("vigild exited at start");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    Broken("vigild did not start serving within 6 s");
  }

  void Kill() {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    running_vigild = -1;
  }

  void Stop() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    running_vigild = -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Broken("vigild did not exit 0 on SIGTERM");
  }

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

 private:
  bool Listening() const {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port_));
    const bool connected = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    close(fd);
    return connected;
  }

  std::string binary_, rules_, data_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::shared_ptr<grpc::Channel> channel_;
};

grpc::ClientContext* Deadline(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return &context;
}

v1::AuthorizeRequest Charge(const std::string& txn, const std::string& user,
                            const std::string& mandate, int64_t amount, int64_t event_ms) {
  v1::AuthorizeRequest request;
  request.set_transaction_id(txn);
  request.set_user_id(user);
  request.set_merchant_id("crash-shop");
  request.set_mandate_id(mandate);
  request.set_amount_minor(amount);
  request.set_currency("CNY");
  request.set_channel(v1::NFC);
  request.set_event_time_ms(event_ms);
  return request;
}

// One client thread's traffic until `stop`.
void Traffic(int worker, std::shared_ptr<grpc::Channel> channel, Ledger& ledger,
             std::atomic<bool>& stop, std::atomic<int64_t>& clock_ms, std::atomic<int>& serial) {
  auto risk = v1::RiskEngine::NewStub(channel);
  auto mandates = v1::Mandates::NewStub(channel);
  std::mt19937 random(worker * 7919 + serial.load());
  while (!stop.load()) {
    const int kind = std::uniform_int_distribution<int>(0, 99)(random);
    const std::string user = UserId(std::uniform_int_distribution<int>(0, kUsers - 1)(random));
    const int n = serial.fetch_add(1);
    if (kind < 87) {
      std::string mandate;
      {
        absl::MutexLock lock(&ledger.mu);
        std::vector<std::string> own;
        for (const auto& [id, owner] : ledger.mandates) {
          if (owner == user) own.push_back(id);
        }
        if (own.empty()) continue;
        mandate = own[std::uniform_int_distribution<size_t>(0, own.size() - 1)(random)];
      }
      const int64_t amount = std::uniform_int_distribution<int64_t>(300, 700)(random) * 100;
      const v1::AuthorizeRequest request =
          Charge(absl::StrCat("charge-", n), user, mandate, amount, clock_ms.fetch_add(kStepMs));
      const Clock::time_point sent = Clock::now();
      grpc::ClientContext context;
      v1::AuthorizeResponse response;
      const grpc::Status status = risk->Authorize(Deadline(context), request, &response);
      absl::MutexLock lock(&ledger.mu);
      if (!status.ok()) {
        ledger.uncertain_charges[request.transaction_id()] = request;
        continue;
      }
      ledger.Acknowledge(request, response, sent);
    } else if (kind < 90) {  // a FAILED outcome for an approved charge
      std::string txn;
      {
        absl::MutexLock lock(&ledger.mu);
        for (const auto& [id, acked] : ledger.authorizations) {
          if (acked.approved && std::uniform_int_distribution<int>(0, 3)(random) == 0 &&
              ledger.BeginRelease(id, acked.amount)) {
            txn = id;
            break;
          }
        }
      }
      if (txn.empty()) continue;
      grpc::ClientContext context;
      v1::ReportOutcomeRequest request;
      request.set_transaction_id(txn);
      request.set_outcome(v1::FAILED);
      v1::ReportOutcomeResponse response;
      const bool ok = risk->ReportOutcome(Deadline(context), request, &response).ok();
      absl::MutexLock lock(&ledger.mu);
      ledger.EndRelease(txn, ok);
    } else if (kind < 93) {
      std::string mandate;
      {
        absl::MutexLock lock(&ledger.mu);
        for (const auto& [id, owner] : ledger.mandates) {
          if (owner == user && ledger.revoked.count(id) == 0) mandate = id;
        }
      }
      if (mandate.empty()) continue;
      grpc::ClientContext context;
      v1::RevokeMandateRequest request;
      request.set_mandate_id(mandate);
      request.set_user_id(user);
      request.set_reason("crash test");
      v1::Mandate response;
      if (mandates->RevokeMandate(Deadline(context), request, &response).ok()) {
        absl::MutexLock lock(&ledger.mu);
        ledger.revoked.emplace(mandate, Clock::now());
        ledger.Owe(NoticeKey(v1::MANDATE_REVOKED, mandate));
      }
    } else {
      grpc::ClientContext context;
      v1::GrantMandateRequest request;
      request.set_request_id(absl::StrCat("grant-", n));
      request.set_user_id(user);
      request.set_merchant_id("*");
      request.mutable_consent()->set_explicit_opt_in(true);
      request.mutable_consent()->set_terms_version("2026-01");
      request.mutable_consent()->set_consented_at_ms(absl::ToUnixMillis(absl::Now()) - 1000);
      v1::Mandate response;
      if (mandates->GrantMandate(Deadline(context), request, &response).ok()) {
        absl::MutexLock lock(&ledger.mu);
        ledger.mandates[response.mandate_id()] = user;
        ledger.Owe(NoticeKey(v1::MANDATE_GRANTED, response.mandate_id()));
      }
    }
  }
}

struct Checked {
  int64_t grants = 0, revocations = 0, probes = 0, replays = 0, outcomes = 0, retried = 0;
  int64_t notices = 0, resent = 0;
};

// After a restart, as the app backend would: watches the consumer's notices from its last ack
// until every notice owed has come, acking as it goes. A notice sent before may come again
// (at least once); one owed that never comes within 20 s was lost.
void WatchNotices(std::shared_ptr<grpc::Channel> channel, Ledger& ledger, Checked& checked) {
  auto notices = v1::Notices::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::WatchNoticesRequest request;
  request.set_consumer("crash-app");
  std::unique_ptr<grpc::ClientReader<v1::Notice>> reader = notices->Watch(&context, request);
  v1::Notice notice;
  while (true) {
    {
      absl::MutexLock lock(&ledger.mu);
      if (ledger.missing.empty()) break;
    }
    if (!reader->Read(&notice)) {
      const grpc::Status status = reader->Finish();
      absl::MutexLock lock(&ledger.mu);
      Broken(absl::StrCat(
          "the notice of an acknowledged event never came: ", *ledger.missing.begin(), " (",
          ledger.missing.size(), " missing; the stream ended: ", status.error_message(), ")"));
    }
    const std::string& subject =
        notice.kind() == v1::CHARGE_APPROVED ? notice.transaction_id() : notice.mandate_id();
    absl::MutexLock lock(&ledger.mu);
    const std::string key = NoticeKey(notice.kind(), subject);
    if (ledger.sent_notices.count(key) != 0) ++checked.resent;
    ledger.Sent(key);
    ++checked.notices;
    grpc::ClientContext ack_context;
    v1::AckNoticesRequest ack;
    ack.set_consumer(request.consumer());
    ack.set_cursor(notice.cursor());
    v1::AckNoticesResponse acked;
    if (!notices->Ack(Deadline(ack_context), ack, &acked).ok()) Broken("an ack failed");
  }
  context.TryCancel();
}

v1::ReportOutcomeRequest Failed(const std::string& txn) {
  v1::ReportOutcomeRequest request;
  request.set_transaction_id(txn);
  request.set_outcome(v1::FAILED);
  return request;
}

// After a restart: everything acknowledged must be there.
void Verify(std::shared_ptr<grpc::Channel> channel, Ledger& ledger, std::atomic<int64_t>& clock_ms,
            Checked& checked) {
  auto risk = v1::RiskEngine::NewStub(channel);
  auto mandates = v1::Mandates::NewStub(channel);
  absl::MutexLock lock(&ledger.mu);
  for (const auto& [id, user] : ledger.mandates) {
    grpc::ClientContext context;
    v1::GetMandateRequest request;
    request.set_mandate_id(id);
    v1::Mandate mandate;
    const grpc::Status status = mandates->GetMandate(Deadline(context), request, &mandate);
    if (!status.ok())
      Broken(absl::StrCat("acknowledged grant ", id, " is gone: ", status.error_message()));
    ++checked.grants;
    if (ledger.revoked.count(id) == 0) continue;
    if (mandate.status() != v1::REVOKED) Broken(absl::StrCat("revocation of ", id, " was lost"));
    ++checked.revocations;
    if (ledger.probed[id]) continue;
    ledger.probed[id] = true;
    grpc::ClientContext charge_context;
    v1::AuthorizeResponse response;
    const std::string txn = absl::StrCat("probe-", id, "-", clock_ms.load());
    if (!risk->Authorize(Deadline(charge_context),
                         Charge(txn, user, id, 100, clock_ms.fetch_add(kStepMs)), &response)
             .ok()) {
      Broken("a probe charge failed");
    }
    if (response.decision() == v1::APPROVE) Broken(absl::StrCat("revoked ", id, " approved again"));
    ++checked.probes;
  }
  // Acknowledged outcomes are known; unanswered ones are reported again, as a gateway would.
  for (const auto& [txn, amount] : ledger.released) {
    grpc::ClientContext context;
    v1::ReportOutcomeResponse response;
    if (!risk->ReportOutcome(Deadline(context), Failed(txn), &response).ok()) {
      Broken(absl::StrCat("the outcome of ", txn, " was lost"));
    }
    ++checked.outcomes;
  }
  for (const auto& [txn, amount] : ledger.uncertain_releases) {
    grpc::ClientContext context;
    v1::ReportOutcomeResponse response;
    if (!risk->ReportOutcome(Deadline(context), Failed(txn), &response).ok()) {
      Broken(absl::StrCat("reporting the outcome of ", txn, " again failed"));
    }
    ledger.released[txn] = amount;
  }
  ledger.uncertain_releases.clear();
  // Retried transactions get their first answer and count once: a sample of acknowledged ones,
  // and every one whose answer was lost in the crash.
  int replays = 0;
  for (const auto& [txn, acked] : ledger.authorizations) {
    if (++replays > 40) break;
    grpc::ClientContext context;
    v1::AuthorizeResponse response;
    const grpc::Status status =
        risk->Authorize(Deadline(context), Charge(txn, acked.user, "", acked.amount, 0), &response);
    if (!status.ok() || response.decision_id() != acked.decision_id) {
      Broken(absl::StrCat("retried ", txn, " was decided again (", response.decision_id(),
                          " instead of ", acked.decision_id, ")"));
    }
    ++checked.replays;
  }
  for (const auto& [txn, request] : ledger.uncertain_charges) {
    grpc::ClientContext context;
    v1::AuthorizeResponse response;
    const Clock::time_point sent = Clock::now();
    if (!risk->Authorize(Deadline(context), request, &response).ok()) {
      Broken(absl::StrCat("retrying ", txn, " after the restart failed"));
    }
    ledger.Acknowledge(request, response, sent);
    ++checked.retried;
  }
  ledger.uncertain_charges.clear();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: crash_test VIGILD RULES_DIR [CYCLES]\n");
    return 2;
  }
  const int cycles = argc > 3 ? std::atoi(argv[3]) : 20;
  const fs::path data = fs::temp_directory_path() / absl::StrCat("vigil-crash-", getpid());
  fs::remove_all(data);
  Vigild vigild(argv[1], argv[2], data.string());
  Ledger ledger;
  std::atomic<int64_t> clock_ms{kDayStart};
  std::atomic<int> serial{0};
  Checked checked;
  std::mt19937 random(20261127);

  vigild.Start();
  {
    auto mandates = v1::Mandates::NewStub(vigild.channel());
    for (int i = 0; i < kUsers; ++i) {
      grpc::ClientContext context;
      v1::GrantMandateRequest request;
      request.set_user_id(UserId(i));
      request.set_merchant_id("*");
      request.mutable_consent()->set_explicit_opt_in(true);
      request.mutable_consent()->set_terms_version("2026-01");
      request.mutable_consent()->set_consented_at_ms(absl::ToUnixMillis(absl::Now()) - 1000);
      v1::Mandate mandate;
      if (!mandates->GrantMandate(Deadline(context), request, &mandate).ok()) Broken("setup grant");
      absl::MutexLock lock(&ledger.mu);
      ledger.mandates[mandate.mandate_id()] = UserId(i);
      ledger.Owe(NoticeKey(v1::MANDATE_GRANTED, mandate.mandate_id()));
    }
    auto users = v1::Users::NewStub(vigild.channel());
    for (int i = 0; i < kUsers; ++i) {
      if (!Told(UserId(i))) continue;
      grpc::ClientContext context;
      v1::UserProfile profile;
      profile.set_user_id(UserId(i));
      profile.set_notify_every_transaction(true);
      v1::UserProfile stored;
      if (!users->PutUserProfile(Deadline(context), profile, &stored).ok()) Broken("setup profile");
    }
  }
  const absl::Time began = absl::Now();
  for (int cycle = 1; cycle <= cycles; ++cycle) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> workers;
    for (int w = 0; w < kWorkers; ++w) {
      workers.emplace_back(Traffic, w, vigild.channel(), std::ref(ledger), std::ref(stop),
                           std::ref(clock_ms), std::ref(serial));
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(200, 1500)(random)));
    vigild.Kill();  // mid-traffic: calls in flight get no answer
    stop = true;
    for (std::thread& worker : workers) worker.join();
    vigild.Start();
    Verify(vigild.channel(), ledger, clock_ms, checked);
    WatchNotices(vigild.channel(), ledger, checked);
    int64_t top = 0;
    {
      absl::MutexLock lock(&ledger.mu);
      const absl::CivilDay today = LocalDay(clock_ms.load());
      for (int i = 0; i < kUsers; ++i) top = std::max(top, ledger.NetApproved(UserId(i), today));
      int at_cap = 0;
      for (int i = 0; i < kUsers; ++i)
        at_cap += ledger.NetApproved(UserId(i), today) > kDailyCapMinor - 30000;
      std::printf(
          "crash test: cycle %d/%d: killed and restarted; %zu authorizations acknowledged "
          "(%lld approved); on %s, %d users within 300 CNY of the cap, highest %lld of %lld "
          "fen\n",
          cycle, cycles, ledger.authorizations.size(), static_cast<long long>(ledger.approvals),
          absl::FormatCivilTime(today).c_str(), at_cap, static_cast<long long>(top),
          static_cast<long long>(kDailyCapMinor));
    }
  }
  vigild.Stop();
  fs::remove_all(data);
  std::printf(
      "crash test: %d SIGKILLs in %s; after every restart checked %lld grants, %lld revocations "
      "(%lld probed with a charge: none approves), %lld replayed transactions (same answer, "
      "counted once), %lld "
      "outcomes, and retried %lld charges whose answer died with the process; no user above "
      "the daily cap; every acknowledged event's notice came (%zu kinds and subjects, %lld sent, "
      "%lld of them again)\n",
      cycles, absl::FormatDuration(absl::Trunc(absl::Now() - began, absl::Seconds(1))).c_str(),
      static_cast<long long>(checked.grants), static_cast<long long>(checked.revocations),
      static_cast<long long>(checked.probes), static_cast<long long>(checked.replays),
      static_cast<long long>(checked.outcomes), static_cast<long long>(checked.retried),
      ledger.owed.size(), static_cast<long long>(checked.notices),
      static_cast<long long>(checked.resent));
  std::printf("1 passed, 0 failed\n");
  return 0;
}
