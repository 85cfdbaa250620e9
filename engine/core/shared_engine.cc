#include "engine/core/shared_engine.h"

#include <algorithm>
#include <random>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/core/notice_scan.h"
#include "engine/core/snapshot.h"
#include "engine/core/stable_hash.h"
#include "engine/core/status_macros.h"
#include "engine/core/validation.h"

namespace vigil {
namespace {

// Decisions again after conflicts before a call gives up. Each such conflict means another
// node committed for the same user in between: a node whose calls for a user keep coming can
// win many times in a row, so from the third attempt on the loser waits a little (up to 100 µs
// a conflict, at random) to let the other's burst through.
constexpr int kMaxAttempts = 16;
constexpr int64_t kBackoffNsPerConflict = 100'000;
// A commit refused because another node has the user's turn is no such conflict: the call
// waits for the turn to pass, a slice at a time (the turn ends early when its node commits),
// with the user's stripe free meanwhile. A call gives up after this long all told.
constexpr absl::Duration kTurnWaitSlice = absl::Milliseconds(5);
constexpr absl::Duration kGiveUpAfter = absl::Seconds(2);

// Where the change of the call running on this thread goes, and the time floor of its user.
thread_local StateChange* capture_target = nullptr;
thread_local int64_t time_floor_ms = 0;

class CaptureScope {
 public:
  CaptureScope(StateChange* target, int64_t floor_ms) {
    capture_target = target;
    time_floor_ms = floor_ms;
  }
  ~CaptureScope() {
    capture_target = nullptr;
    time_floor_ms = 0;
  }
};

void Merge(StateChange& into, StateChange&& from) {
  auto move_all = [](auto& to, auto& what) {
    to.insert(to.end(), std::make_move_iterator(what.begin()), std::make_move_iterator(what.end()));
  };
  move_all(into.users, from.users);
  move_all(into.transactions, from.transactions);
  move_all(into.grants, from.grants);
  move_all(into.log, from.log);
  move_all(into.notices, from.notices);
}

}  // namespace

// The local engine's journal: the change a call makes is taken by the thread that makes it
// (SharedEngine commits it); a change no call captures (the sweep of this node's records) stays
// on this node. Every change is "durable" at once: the commit, not the journal, decides.
class SharedEngine::CaptureJournal final : public Journal {
 public:
  absl::StatusOr<RestoredState> Load() override { return RestoredState{}; }
  absl::Status Ready() const override { return absl::OkStatus(); }
  uint64_t Append(StateChange change) override {
    if (capture_target != nullptr) Merge(*capture_target, std::move(change));
    return sequence_.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  uint64_t LastSequence() const override { return sequence_.load(std::memory_order_relaxed); }
  absl::Status WaitDurable(uint64_t) override { return absl::OkStatus(); }

 private:
  std::atomic<uint64_t> sequence_{0};
};

// The local engine's clock: the node's, but never before the time floor of the user the call
// on this thread is for.
class SharedEngine::FloorClock final : public Clock {
 public:
  explicit FloorClock(const Clock* clock) : clock_(clock) {}
  int64_t NowMs() const override { return std::max(clock_->NowMs(), time_floor_ms); }

 private:
  const Clock* const clock_;
};

std::unique_ptr<SharedEngine> SharedEngine::Create(std::shared_ptr<const Policy> policy,
                                                   const Clock* clock, EngineOptions options,
                                                   SharedState* state, int workers) {
  std::unique_ptr<SharedEngine> engine(new SharedEngine(clock, options, state));
  engine->workers_ = std::make_unique<WorkerPool>(workers);
  EngineOptions local = options;
  local.journal = engine->capture_.get();
  engine->local_ =
      std::make_unique<EngineImpl>(std::move(policy), engine->floor_clock_.get(), local);
  return engine;
}

SharedEngine::SharedEngine(const Clock* clock, EngineOptions options, SharedState* state)
    : clock_(clock),
      options_(options),
      writer_(absl::StrCat(absl::Hex(options.id_seed, absl::kZeroPad16))),
      state_(state),
      capture_(std::make_unique<CaptureJournal>()),
      floor_clock_(std::make_unique<FloorClock>(clock)),
      stripes_(std::make_unique<std::array<Stripe, kStripes>>()) {}

SharedEngine::~SharedEngine() = default;

SharedEngine::Stripe& SharedEngine::StripeFor(absl::string_view user_id) {
  return (*stripes_)[StableHash(user_id) % kStripes];
}

std::string SharedEngine::NewToken() {
  return absl::StrCat(writer_, "-", tokens_.fetch_add(1, std::memory_order_relaxed));
}

template <typename T>
absl::StatusOr<T> SharedEngine::Serialized(absl::string_view user_id, Writes writes, bool fresh,
                                           absl::FunctionRef<absl::StatusOr<T>()> call) {
  Stripe& stripe = StripeFor(user_id);
  absl::MutexLock lock(&stripe.mu);
  return DecideAndCommit<T>(stripe, user_id, writes, fresh, call);
}

template <typename T>
absl::StatusOr<T> SharedEngine::DecideAndCommit(Stripe& stripe, absl::string_view user_id,
                                                Writes writes, bool fresh,
                                                absl::FunctionRef<absl::StatusOr<T>()> call) {
  const absl::Time give_up = absl::Now() + kGiveUpAfter;
  for (int attempt = 0; attempt < kMaxAttempts && absl::Now() < give_up;) {
    if (fresh || !stripe.known.contains(user_id)) VIGIL_RETURN_IF_ERROR(Load(stripe, user_id));
    SharedState::UserRecord& record = stripe.known.find(user_id)->second;
    StateChange change;
    absl::StatusOr<T> result;
    {
      CaptureScope capture(&change, record.time_floor_ms);
      result = call();
    }
    if (!result.ok() || change.users.empty()) return result;

    SharedState::Write commit;
    commit.writer = writer_;
    commit.user_id = std::string(user_id);
    commit.base_token = record.token;
    commit.new_token = NewToken();
    commit.user = std::move(change.users.back());
    commit.time_floor_ms = std::max(record.time_floor_ms, clock_->NowMs());
    for (TransactionSnapshot& transaction : change.transactions) {
      commit.transactions.push_back({std::move(transaction), writes == Writes::kNew});
    }
    commit.grants = std::move(change.grants);
    commit.notices = std::move(change.notices);
    absl::StatusOr<std::optional<SharedState::Conflict>> committed = state_->Commit(commit);
    if (!committed.ok()) {
      Forget(stripe, user_id, commit);
      return committed.status();
    }
    if (!committed->has_value()) {
      record.token = commit.new_token;
      record.time_floor_ms = commit.time_floor_ms;
      // The decision log stays on this node, written after the commit: a crash between the
      // two loses its entries (see the README's limits of a cluster). The notices went with
      // the commit.
      if (options_.journal != nullptr && !change.log.empty()) {
        StateChange log;
        log.log = std::move(change.log);
        options_.journal->Append(std::move(log));
      }
      return result;
    }
    conflicts_.fetch_add(1, std::memory_order_relaxed);
    if (absl::Status installed = Install(stripe, user_id, **committed, commit); !installed.ok()) {
      Forget(stripe, user_id, commit);  // half installed: read it all again next time
      return installed;
    }
    if (const absl::Duration turn = (*committed)->others_turn; turn > absl::ZeroDuration()) {
      stripe.mu.Unlock();
      absl::SleepFor(std::min(turn, kTurnWaitSlice));
      stripe.mu.Lock();
      continue;
    }
    if (++attempt >= 2) {
      thread_local std::minstd_rand random(static_cast<uint32_t>(StableHash(user_id)));
      absl::SleepFor(absl::Nanoseconds(
          std::uniform_int_distribution<int64_t>(0, kBackoffNsPerConflict * attempt)(random)));
    }
  }
  return absl::UnavailableError(absl::StrCat(
      "user ", user_id, " is being changed by other nodes too often to decide; try again"));
}

absl::Status SharedEngine::Load(Stripe& stripe, absl::string_view user_id) {
  absl::StatusOr<SharedState::UserRecord> stored = state_->ReadUser(user_id);
  if (!stored.ok()) return stored.status();
  if (stored->user.has_value()) {
    VIGIL_RETURN_IF_ERROR(local_->InstallUser(*stored->user));
  } else {
    local_->ResetUser(user_id);
  }
  stored->user.reset();  // the local engine holds the state; the stripe keeps token and floor
  stripe.known[std::string(user_id)] = *std::move(stored);
  return absl::OkStatus();
}

absl::Status SharedEngine::Install(Stripe& stripe, absl::string_view user_id,
                                   const SharedState::Conflict& conflict,
                                   const SharedState::Write& commit) {
  if (conflict.user.user.has_value()) {
    VIGIL_RETURN_IF_ERROR(local_->InstallUser(*conflict.user.user));
  } else {
    local_->ResetUser(user_id);
  }
  SharedState::UserRecord& record = stripe.known[std::string(user_id)];
  record.token = conflict.user.token;
  record.time_floor_ms = conflict.user.time_floor_ms;
  for (size_t i = 0; i < commit.transactions.size(); ++i) {
    const std::optional<TransactionSnapshot>& stored =
        i < conflict.transactions.size() ? conflict.transactions[i] : std::nullopt;
    if (stored.has_value()) {
      local_->InstallTransaction(*stored);
    } else {
      local_->ForgetTransaction(commit.transactions[i].record.transaction_id);
    }
  }
  for (size_t i = 0; i < commit.grants.size(); ++i) {
    const std::optional<GrantSnapshot>& stored =
        i < conflict.grants.size() ? conflict.grants[i] : std::nullopt;
    if (stored.has_value()) {
      local_->InstallGrant(*stored);
    } else {
      local_->ForgetGrant(commit.grants[i].request.request_id);
    }
  }
  return absl::OkStatus();
}

void SharedEngine::Forget(Stripe& stripe, absl::string_view user_id,
                          const SharedState::Write& commit) {
  local_->ResetUser(user_id);
  stripe.known.erase(user_id);
  for (const SharedState::Write::TransactionWrite& write : commit.transactions) {
    local_->ForgetTransaction(write.record.transaction_id);
  }
  for (const GrantSnapshot& grant : commit.grants) local_->ForgetGrant(grant.request.request_id);
}

absl::Status SharedEngine::LoadTransaction(absl::string_view user_id,
                                           absl::string_view transaction_id) {
  absl::StatusOr<std::optional<TransactionSnapshot>> stored =
      state_->ReadTransaction(user_id, transaction_id);
  if (!stored.ok()) return stored.status();
  if (stored->has_value()) local_->InstallTransaction(**stored);
  return absl::OkStatus();
}

absl::StatusOr<AuthorizeResponse> SharedEngine::Authorize(const AuthorizeRequest& request) {
  VIGIL_RETURN_IF_ERROR(ValidateAuthorize(request));
  const std::string& user_id = request.user_id;
  const std::string& transaction_id = request.transaction_id;
  // The claim of the id travels while this call waits for its user's stripe and is decided.
  const std::shared_ptr<SharedState::Claim> claim = state_->StartClaim(transaction_id, user_id);
  Stripe& stripe = StripeFor(user_id);
  Charge charge(&request);
  {
    absl::MutexLock queued(&stripe.queue_mu);
    stripe.queue.push_back(&charge);
    if (stripe.leading) {
      stripe.queue_mu.Await(absl::Condition(
          +[](Charge* charge) { return charge->done || charge->lead; }, &charge));
    } else {
      stripe.leading = true;
    }
  }
  if (!charge.done) LeadBatch(stripe);
  // Waited for with the stripe free: the user's next call need not wait for this claim too.
  const absl::Status claimed = claim->Wait();
  if (claimed.ok()) return std::move(charge.answer);
  // UNAVAILABLE: the answer may be stored, and a retry of the call finds it.
  if (!absl::IsAlreadyExists(claimed)) return claimed;
  // The id is another user's. This user's charge under it may be stored all the same (by this
  // call, or by an earlier attempt whose answer was lost), and nobody was told it was approved:
  // it is released as a charge that failed. If that cannot be stored the amount stays reserved,
  // which refuses rather than allows, until a retry of this call releases it.
  absl::MutexLock lock(&stripe.mu);
  if (local_->TransactionUser(transaction_id) == user_id) {
    absl::StatusOr<std::monostate> released = DecideAndCommit<std::monostate>(
        stripe, user_id, Writes::kUpdate, /*fresh=*/false, [&]() -> absl::StatusOr<std::monostate> {
          VIGIL_RETURN_IF_ERROR(local_->ReportOutcome(transaction_id, Outcome::kFailed));
          return std::monostate{};
        });
    if (!released.ok()) return released.status();
  }
  local_->ForgetTransaction(transaction_id);  // so that outcomes for it go to its owner
  return claimed;
}

void SharedEngine::LeadBatch(Stripe& stripe) {
  std::vector<Charge*> batch;
  {
    absl::MutexLock queued(&stripe.queue_mu);
    batch.swap(stripe.queue);
  }
  {
    absl::MutexLock lock(&stripe.mu);
    // Each user's charges in the order they came, decided one after the other on the user's
    // record and committed at once. A retry first decided on another node is decided afresh
    // here, and its commit is refused with the stored record, which then answers it.
    std::vector<std::vector<Charge*>> by_user;
    for (Charge* charge : batch) {
      auto same_user = [&](const std::vector<Charge*>& group) {
        return group.front()->request->user_id == charge->request->user_id;
      };
      auto group = std::find_if(by_user.begin(), by_user.end(), same_user);
      if (group == by_user.end()) {
        by_user.push_back({charge});
      } else {
        group->push_back(charge);
      }
    }
    for (const std::vector<Charge*>& group : by_user) {
      const absl::StatusOr<std::monostate> committed = DecideAndCommit<std::monostate>(
          stripe, group.front()->request->user_id, Writes::kNew, /*fresh=*/false, [&] {
            for (Charge* charge : group) charge->answer = local_->Authorize(*charge->request);
            return absl::StatusOr<std::monostate>(std::monostate{});
          });
      // Not committed: no answer decided on the way stands.
      if (!committed.ok()) {
        for (Charge* charge : group) charge->answer = committed.status();
      }
    }
  }
  absl::MutexLock queued(&stripe.queue_mu);
  for (Charge* charge : batch) charge->done = true;
  if (stripe.queue.empty()) {
    stripe.leading = false;
  } else {
    stripe.queue.front()->lead = true;
  }
}

void SharedEngine::Authorize(const AuthorizeRequest& request, AuthorizeCallback done) {
  workers_->Run(
      [this, request, done = std::move(done)]() mutable { std::move(done)(Authorize(request)); });
}

absl::Status SharedEngine::ReportOutcome(absl::string_view transaction_id, Outcome outcome,
                                         int64_t event_time_ms) {
  VIGIL_RETURN_IF_ERROR(ValidateId("transaction_id", transaction_id));
  std::optional<std::string> user = local_->TransactionUser(transaction_id);
  if (!user.has_value()) {
    absl::StatusOr<std::string> owner = state_->TransactionOwner(transaction_id);
    if (absl::IsNotFound(owner.status())) {
      return absl::NotFoundError(
          absl::StrCat("transaction_id: no authorization \"", transaction_id, "\" is known"));
    }
    if (!owner.ok()) return owner.status();
    user = *std::move(owner);
    VIGIL_RETURN_IF_ERROR(LoadTransaction(*user, transaction_id));
  }
  return Serialized<std::monostate>(
             *user, Writes::kUpdate, /*fresh=*/false,
             [&]() -> absl::StatusOr<std::monostate> {
               VIGIL_RETURN_IF_ERROR(local_->ReportOutcome(transaction_id, outcome, event_time_ms));
               return std::monostate{};
             })
      .status();
}

absl::StatusOr<Mandate> SharedEngine::GrantMandate(const GrantMandateRequest& request) {
  VIGIL_RETURN_IF_ERROR(ValidateGrant(request));
  return Serialized<Mandate>(
      request.user_id, Writes::kNew, /*fresh=*/false, [&]() -> absl::StatusOr<Mandate> {
        absl::StatusOr<Mandate> granted = local_->GrantMandate(request);
        // Indexed before it is committed: an index entry whose mandate
        // was never stored only makes GetMandate say NOT_FOUND.
        if (granted.ok()) {
          VIGIL_RETURN_IF_ERROR(state_->SetMandateOwner(granted->mandate_id, request.user_id));
        }
        return granted;
      });
}

absl::StatusOr<Mandate> SharedEngine::GetMandate(absl::string_view mandate_id) {
  VIGIL_RETURN_IF_ERROR(ValidateId("mandate_id", mandate_id));
  absl::StatusOr<std::string> owner = state_->MandateOwner(mandate_id);
  if (absl::IsNotFound(owner.status())) {
    return absl::NotFoundError(absl::StrCat("mandate_id: no mandate \"", mandate_id, "\""));
  }
  if (!owner.ok()) return owner.status();
  return Serialized<Mandate>(*owner, Writes::kUpdate, /*fresh=*/true,
                             [&] { return local_->GetMandate(mandate_id); });
}

absl::StatusOr<std::vector<Mandate>> SharedEngine::ListMandates(absl::string_view user_id,
                                                                bool include_revoked) {
  VIGIL_RETURN_IF_ERROR(ValidateId("user_id", user_id));
  return Serialized<std::vector<Mandate>>(user_id, Writes::kUpdate, /*fresh=*/true, [&] {
    return local_->ListMandates(user_id, include_revoked);
  });
}

absl::StatusOr<Mandate> SharedEngine::RevokeMandate(absl::string_view mandate_id,
                                                    absl::string_view user_id,
                                                    absl::string_view reason) {
  VIGIL_RETURN_IF_ERROR(ValidateId("user_id", user_id));
  return Serialized<Mandate>(user_id, Writes::kUpdate, /*fresh=*/false,
                             [&] { return local_->RevokeMandate(mandate_id, user_id, reason); });
}

absl::StatusOr<Mandate> SharedEngine::PauseMandate(absl::string_view mandate_id,
                                                   absl::string_view user_id) {
  VIGIL_RETURN_IF_ERROR(ValidateId("user_id", user_id));
  return Serialized<Mandate>(user_id, Writes::kUpdate, /*fresh=*/false,
                             [&] { return local_->PauseMandate(mandate_id, user_id); });
}

absl::StatusOr<Mandate> SharedEngine::ResumeMandate(absl::string_view mandate_id,
                                                    absl::string_view user_id) {
  VIGIL_RETURN_IF_ERROR(ValidateId("user_id", user_id));
  return Serialized<Mandate>(user_id, Writes::kUpdate, /*fresh=*/false,
                             [&] { return local_->ResumeMandate(mandate_id, user_id); });
}

absl::StatusOr<std::vector<Mandate>> SharedEngine::RevokeAllMandates(absl::string_view user_id,
                                                                     absl::string_view reason) {
  VIGIL_RETURN_IF_ERROR(ValidateId("user_id", user_id));
  return Serialized<std::vector<Mandate>>(user_id, Writes::kUpdate, /*fresh=*/false, [&] {
    return local_->RevokeAllMandates(user_id, reason);
  });
}

absl::StatusOr<UserProfile> SharedEngine::PutUserProfile(const UserProfile& profile) {
  VIGIL_RETURN_IF_ERROR(ValidateId("user_id", profile.user_id));
  return Serialized<UserProfile>(profile.user_id, Writes::kUpdate, /*fresh=*/false,
                                 [&] { return local_->PutUserProfile(profile); });
}

absl::StatusOr<UserProfile> SharedEngine::GetUserProfile(absl::string_view user_id) {
  VIGIL_RETURN_IF_ERROR(ValidateId("user_id", user_id));
  return Serialized<UserProfile>(user_id, Writes::kUpdate, /*fresh=*/true,
                                 [&] { return local_->GetUserProfile(user_id); });
}

absl::Status SharedEngine::Restore(const RestoredState&) { return absl::OkStatus(); }

absl::StatusOr<size_t> SharedEngine::ExpireTransactions(int64_t before_ms, size_t part,
                                                        size_t parts) {
  return local_->ExpireTransactions(before_ms, part, parts);
}

Engine::RecordCounts SharedEngine::CountRecords() { return local_->CountRecords(); }

absl::StatusOr<size_t> SharedEngine::ScanStoredUsers(
    const ScanMark& mark,
    absl::FunctionRef<void(absl::string_view, const UserState&, std::vector<Notice>&)> find) {
  size_t found = 0;
  VIGIL_RETURN_IF_ERROR(
      state_->ForEachUser([&](const std::vector<UserSnapshot>& users) -> absl::Status {
        std::vector<Notice> notices;
        for (const UserSnapshot& user : users) {
          UserState state;
          if (absl::Status restored = RestoreUser(user, state); !restored.ok()) {
            return absl::DataLossError(restored.message());
          }
          find(user.user_id, state, notices);
        }
        found += notices.size();
        return notices.empty() ? absl::OkStatus() : state_->Notify(std::move(notices));
      }));
  VIGIL_RETURN_IF_ERROR(state_->SetMark(mark.name, mark.value));
  return found;
}

absl::StatusOr<size_t> SharedEngine::ScanMandates(int64_t since_ms, int64_t now_ms,
                                                  const ScanMark& mark) {
  const std::shared_ptr<const Policy> policy = local_->policy();
  return ScanStoredUsers(
      mark, [&](absl::string_view user_id, const UserState& state, std::vector<Notice>& notices) {
        FindDormantAndExpiring(user_id, state, *policy, since_ms, now_ms, notices);
      });
}

absl::StatusOr<size_t> SharedEngine::SummarizeMonth(int64_t month, int64_t now_ms,
                                                    const ScanMark& mark) {
  const std::shared_ptr<const Policy> policy = local_->policy();
  VIGIL_RETURN_IF_ERROR(CheckSummaryMonth(month, now_ms, *policy));
  return ScanStoredUsers(mark, [&](absl::string_view user_id, const UserState& state,
                                   std::vector<Notice>& notices) {
    if (std::optional<Notice> summary = MonthlySummary(user_id, state, *policy, month, now_ms)) {
      notices.push_back(*std::move(summary));
    }
  });
}

std::shared_ptr<const Policy> SharedEngine::policy() const { return local_->policy(); }

void SharedEngine::SetPolicy(std::shared_ptr<const Policy> policy) {
  local_->SetPolicy(std::move(policy));
}

}  // namespace vigil
