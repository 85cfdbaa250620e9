#include "engine/core/engine_impl.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/core/interned.h"
#include "engine/core/mandate_invariant.h"
#include "engine/core/snapshot.h"
#include "engine/core/stable_hash.h"
#include "engine/core/status_macros.h"
#include "engine/core/validation.h"

namespace vigil {

std::unique_ptr<Engine> Engine::Create(std::shared_ptr<const Policy> policy, const Clock* clock,
                                       EngineOptions options) {
  return std::make_unique<EngineImpl>(std::move(policy), clock, options);
}

EngineImpl::EngineImpl(std::shared_ptr<const Policy> policy, const Clock* clock,
                       EngineOptions options)
    : clock_(clock), options_(options), ids_(options.id_seed), policy_(std::move(policy)) {}

uint64_t EngineImpl::Append(StateChange change) {
  return journaled() ? options_.journal->Append(std::move(change)) : 0;
}

uint64_t EngineImpl::LastSequence() const {
  return journaled() ? options_.journal->LastSequence() : 0;
}

absl::Status EngineImpl::Durable(uint64_t sequence) {
  if (!journaled()) return absl::OkStatus();
  return options_.journal->WaitDurable(sequence);
}

void EngineImpl::AwaitVisible(uint64_t sequence) {
  // A read waits for what it saw to be durable, unless the store cannot write: reads keep
  // working then, answering from memory.
  if (journaled()) (void)options_.journal->WaitDurable(sequence);
}

absl::Status EngineImpl::Writable() const {
  return journaled() ? options_.journal->Ready() : absl::OkStatus();
}

int64_t EngineImpl::EventTime(const AuthorizeRequest& request) const {
  if (options_.trust_client_time && request.event_time_ms > 0) return request.event_time_ms;
  return clock_->NowMs();
}

std::optional<int> EngineImpl::AgeAt(const std::optional<absl::CivilDay>& birth_date,
                                     const Policy& policy, int64_t now_ms) {
  if (!birth_date.has_value()) return std::nullopt;
  return AgeOn(*birth_date, policy.calendar().DayOf(now_ms));
}

absl::StatusOr<AuthorizeResponse> EngineImpl::Authorize(const AuthorizeRequest& request) {
  uint64_t sequence = 0;
  absl::StatusOr<AuthorizeResponse> response = Decide(request, sequence);
  if (!response.ok()) return response;
  VIGIL_RETURN_IF_ERROR(Durable(sequence));
  return response;
}

void EngineImpl::Authorize(const AuthorizeRequest& request, Engine::AuthorizeCallback done) {
  uint64_t sequence = 0;
  absl::StatusOr<AuthorizeResponse> response = Decide(request, sequence);
  if (!response.ok() || !journaled()) return std::move(done)(std::move(response));
  options_.journal->WhenDurable(sequence, [response = *std::move(response),
                                           done = std::move(done)](absl::Status durable) mutable {
    if (durable.ok()) return std::move(done)(std::move(response));
    std::move(done)(std::move(durable));
  });
}

absl::StatusOr<AuthorizeResponse> EngineImpl::Decide(const AuthorizeRequest& request,
                                                     uint64_t& sequence) {
  VIGIL_RETURN_IF_ERROR(ValidateAuthorize(request));
  const Policy& policy = policy_.ForThisThread();
  const uint64_t merchant_hash = StableHash(request.merchant_id);

  UserShard& shard = users_.ShardFor(request.user_id);
  absl::ReleasableMutexLock user_lock(&shard.mu);
  // Read under the user's lock, so that one user's decisions are logged in time order as they
  // were made: a replay of the log, in time order, sees each as its decision did.
  const int64_t now_ms = EventTime(request);
  // Among millions of users, this user's entry is rarely in cache: start loading it now, so
  // that it arrives while the transaction id is claimed.
  shard.map.prefetch(request.user_id);

  // Claim the transaction id before deciding: a record, pending until the decision is in it.
  const TransactionKey txn_key(request.transaction_id);
  TransactionTable::Shard& txn_shard = transactions_.ShardFor(txn_key);
  Claim claim;
  {
    absl::MutexLock lock(&txn_shard.mu);
    if (auto it = txn_shard.map.find(txn_key); it != txn_shard.map.end()) {
      return AnswerRetry(request, *it->record, sequence);
    }
    VIGIL_RETURN_IF_ERROR(Writable());
    claim = ClaimTransaction(shard, txn_shard, txn_key, request, merchant_hash, now_ms);
  }

  HeldSubjects subjects;
  LockSubjects(policy.layout(), request, subjects);
  Inputs inputs;
  GatherFacts(request, policy, now_ms, claim, subjects, inputs);
  Verdict verdict = policy.Evaluate(inputs.facts);
  EnforceMandateInvariant(claim.mandate != nullptr && claim.match == MandateMatch::kFound &&
                              claim.mandate->mandate.Usable(now_ms),
                          verdict);
  const bool approved = verdict.decision == Decision::kApprove;
  Reserve(request, policy, now_ms, merchant_hash, approved, claim, subjects);
  AuthorizeResponse response = Answer(verdict, claim, policy);

  {
    // The claimed record is still there: only the sweeper removes records, never pending ones.
    absl::MutexLock lock(&txn_shard.mu);
    Settle(*claim.record, request, verdict, policy, now_ms);
    if (journaled()) {
      sequence =
          Append(DecisionChange(request, response, *claim.record, *claim.user, subjects, now_ms));
    }
  }
  subjects.merchant_lock.reset();
  subjects.device_lock.reset();
  user_lock.Release();
  return response;
}

absl::StatusOr<AuthorizeResponse> EngineImpl::AnswerRetry(const AuthorizeRequest& request,
                                                          const TransactionRecord& record,
                                                          uint64_t& sequence) {
  // A record can only be pending for a call holding its user's lock, and this user's lock is
  // held here: a pending record is another user's charge in flight, a conflict.
  if (record.pending || !record.SameCharge(request)) {
    return absl::AlreadyExistsError(
        absl::StrCat("transaction_id: \"", request.transaction_id,
                     "\" was already used for a different charge (user, merchant, amount or "
                     "currency differ)"));
  }
  // The first answer may not be durable yet: wait for it, as its own caller does.
  sequence = LastSequence();
  return record.Response();
}

EngineImpl::Claim EngineImpl::ClaimTransaction(UserShard& shard, TransactionTable::Shard& txn_shard,
                                               const TransactionKey& key,
                                               const AuthorizeRequest& request,
                                               uint64_t merchant_hash, int64_t now_ms) {
  Claim claim;
  claim.decision_id = ids_.DecisionId();
  // The record keeps the charged mandate's id with the others, in one allocation: resolve the
  // mandate first.
  claim.user = &StateOf(shard, request.user_id);
  claim.user->windows.Prefetch();
  claim.mandate = ResolveMandate(claim.user->mandates, request, merchant_hash, now_ms, claim.match);
  auto record = std::make_unique<TransactionRecord>();
  record->ids = PackedStrings<TransactionRecord::kIdCount>(
      {request.transaction_id, request.user_id, request.merchant_id, request.currency,
       request.device_id,
       claim.mandate != nullptr ? claim.mandate->mandate.mandate_id() : absl::string_view(),
       claim.decision_id});
  claim.record = record.get();
  txn_shard.map.insert(TransactionSlot{key.hash, std::move(record)});
  return claim;
}

void EngineImpl::LockSubjects(const WindowLayout& layout, const AuthorizeRequest& request,
                              HeldSubjects& held) {
  // A subject's windows matter only when the policy reads some and the charge names it.
  if (!request.device_id.empty() && !layout.of(Subject::kDevice).empty()) {
    SubjectShard& shard = devices_.ShardFor(request.device_id);
    held.device_lock.emplace(&shard.mu);
    held.device = &shard.map[request.device_id];
  }
  if (!request.merchant_id.empty() && !layout.of(Subject::kMerchant).empty()) {
    SubjectShard& shard = merchants_.ShardFor(request.merchant_id);
    held.merchant_lock.emplace(&shard.mu);
    held.merchant = &shard.map[request.merchant_id];
  }
}

void EngineImpl::GatherFacts(const AuthorizeRequest& request, const Policy& policy, int64_t now_ms,
                             const Claim& claim, const HeldSubjects& subjects, Inputs& inputs) {
  const UserState& state = *claim.user;
  const WindowLayout& layout = policy.layout();
  inputs.readings.resize(layout.specs().size());
  auto read = [&](SubjectWindows* windows, Subject subject) {
    if (windows == nullptr) return;
    windows->Conform(layout, subject);
    windows->Read(layout, subject, now_ms, absl::MakeSpan(inputs.readings));
  };
  read(&claim.user->windows, Subject::kUser);
  read(subjects.device, Subject::kDevice);
  read(subjects.merchant, Subject::kMerchant);
  read(claim.mandate != nullptr ? &claim.mandate->windows : nullptr, Subject::kMandate);

  const LocalCalendar& calendar = policy.calendar();
  const int64_t day = calendar.DayNumber(now_ms);
  Facts& facts = inputs.facts;
  facts.request = &request;
  facts.now_ms = now_ms;
  // The rules read the profile's numbers and flags; its strings stay empty here.
  if (state.has_profile) inputs.profile = state.ProfileNumbers();
  facts.profile = state.has_profile ? &inputs.profile : nullptr;
  facts.age = AgeAt(state.birth_date(), policy, now_ms);
  facts.segment = policy.Segment(facts.age);
  facts.user_day_used_minor = state.day.AmountIn(day);
  facts.mandate.match = claim.match;
  if (claim.mandate != nullptr) {
    const StoredMandate& m = claim.mandate->mandate;
    facts.mandate.status = m.Expired(now_ms) ? MandateStatus::kExpired : m.status;
    facts.mandate.general = m.general;
    facts.mandate.per_txn_limit_minor = m.per_txn_limit_minor;
    facts.mandate.daily_limit_minor = m.daily_limit_minor;
    facts.mandate.monthly_limit_minor = m.monthly_limit_minor;
    facts.mandate.idle_ms = m.IdleMs(now_ms);
    facts.mandate.dormant = facts.mandate.idle_ms >= policy.dormant_after_ms();
    facts.mandate.day_used_minor = claim.mandate->day.AmountIn(day);
    facts.mandate.month_used_minor = claim.mandate->month.AmountIn(calendar.MonthNumber(now_ms));
  }
  facts.windows = inputs.readings;
  facts.strong_auth_failures = state.strong_auth_failures;
  facts.approvals_since_strong_auth = state.approvals_since_strong_auth;
  facts.attempts_since_strong_auth = state.attempts_since_strong_auth;
}

void EngineImpl::Reserve(const AuthorizeRequest& request, const Policy& policy, int64_t now_ms,
                         uint64_t merchant_hash, bool approved, const Claim& claim,
                         const HeldSubjects& subjects) {
  const WindowLayout& layout = policy.layout();
  auto record = [&](SubjectWindows* windows, Subject subject) {
    if (windows == nullptr) return;
    windows->Record(layout, subject, now_ms, request.amount_minor, merchant_hash, approved);
  };
  UserState& state = *claim.user;
  MandateState* mandate = claim.mandate;
  record(&state.windows, Subject::kUser);
  record(subjects.device, Subject::kDevice);
  record(subjects.merchant, Subject::kMerchant);
  record(mandate != nullptr ? &mandate->windows : nullptr, Subject::kMandate);
  state.attempts_since_strong_auth += 1;
  if (!approved) return;
  // Approved means the mandate invariant held: there is a mandate.
  const LocalCalendar& calendar = policy.calendar();
  const int64_t day = calendar.DayNumber(now_ms);
  state.approvals_since_strong_auth += 1;
  state.day.Add(day, request.amount_minor);
  mandate->day.Add(day, request.amount_minor);
  mandate->month.Add(calendar.MonthNumber(now_ms), request.amount_minor);
  mandate->mandate.last_used_at_ms = std::max(mandate->mandate.last_used_at_ms, now_ms);
}

AuthorizeResponse EngineImpl::Answer(const Verdict& verdict, const Claim& claim,
                                     const Policy& policy) {
  AuthorizeResponse response;
  response.decision = verdict.decision;
  response.notify_user = verdict.notify_user;
  response.reasons.reserve(verdict.hits.size());
  for (const RuleHit& hit : verdict.hits) response.reasons.push_back(hit.reason);
  response.shadow_reasons.reserve(verdict.shadow_hits.size());
  for (const RuleHit& hit : verdict.shadow_hits) response.shadow_reasons.push_back(hit.reason);
  response.decision_id = claim.decision_id;
  response.rules_version = std::string(policy.version());
  return response;
}

void EngineImpl::Settle(TransactionRecord& record, const AuthorizeRequest& request,
                        const Verdict& verdict, const Policy& policy, int64_t now_ms) {
  record.pending = false;
  record.amount_minor = request.amount_minor;
  record.time_ms = now_ms;
  record.seen_ms = options_.trust_client_time ? clock_->NowMs() : now_ms;
  record.approved = verdict.decision == Decision::kApprove;
  record.decision = verdict.decision;
  record.notify_user = verdict.notify_user;
  record.rules_version = policy.version();
  for (const RuleHit& hit : verdict.hits) record.reasons.push_back(hit.reason);
  record.enforced = static_cast<uint16_t>(record.reasons.size());
  for (const RuleHit& hit : verdict.shadow_hits) record.reasons.push_back(hit.reason);
}

StateChange EngineImpl::DecisionChange(const AuthorizeRequest& request,
                                       const AuthorizeResponse& response,
                                       const TransactionRecord& record, const UserState& user,
                                       const HeldSubjects& subjects, int64_t now_ms) const {
  StateChange change;
  change.transactions.push_back(SnapshotOf(record));
  change.users.push_back(SnapshotOf(request.user_id, user));
  if (subjects.device != nullptr) {
    change.subjects.push_back(
        SubjectSnapshot{Subject::kDevice, request.device_id, subjects.device->Save()});
  }
  if (subjects.merchant != nullptr) {
    change.subjects.push_back(
        SubjectSnapshot{Subject::kMerchant, request.merchant_id, subjects.merchant->Save()});
  }
  DecisionLogEntry entry;
  entry.time_ms = now_ms;
  entry.transaction_id = request.transaction_id;
  entry.request = request;
  entry.response = response;
  change.log.push_back(std::move(entry));
  if (record.approved && response.notify_user) {
    change.notices.push_back(ChargeNotice(request, record.id(TransactionRecord::kMandate), now_ms));
  }
  return change;
}

void EngineImpl::Release(UserState& state, const TransactionRecord& record, const Policy& policy,
                         StateChange& change) {
  state.windows.Release(record.time_ms, record.amount_minor);
  state.approvals_since_strong_auth = std::max(0, state.approvals_since_strong_auth - 1);
  const LocalCalendar& calendar = policy.calendar();
  const int64_t day = calendar.DayNumber(record.time_ms);
  state.day.Remove(day, record.amount_minor);
  if (MandateState* mandate = FindMandate(state.mandates, record.id(TransactionRecord::kMandate));
      mandate != nullptr) {
    mandate->day.Remove(day, record.amount_minor);
    mandate->month.Remove(calendar.MonthNumber(record.time_ms), record.amount_minor);
    mandate->windows.Release(record.time_ms, record.amount_minor);
  }
  // Same lock order as Authorize: the caller holds the user's shard.
  for (auto [table, subject, id] :
       {std::tuple{&devices_, Subject::kDevice, record.id(TransactionRecord::kDevice)},
        std::tuple{&merchants_, Subject::kMerchant, record.id(TransactionRecord::kMerchant)}}) {
    if (id.empty()) continue;
    SubjectShard& shard = table->ShardFor(id);
    absl::MutexLock lock(&shard.mu);
    auto it = shard.map.find(id);
    if (it == shard.map.end()) continue;
    it->second.Release(record.time_ms, record.amount_minor);
    if (journaled()) {
      change.subjects.push_back(SubjectSnapshot{subject, std::string(id), it->second.Save()});
    }
  }
}

bool EngineImpl::ApplyOutcome(UserState& state, const TransactionRecord& record, Outcome outcome,
                              const Policy& policy, int64_t now_ms, StateChange& change) {
  bool release = false;
  switch (outcome) {
    case Outcome::kCompleted:
      break;
    case Outcome::kFailed:
    case Outcome::kReversed:
      release = record.approved && !record.released;
      if (release) Release(state, record, policy, change);
      break;
    case Outcome::kStrongAuthPassed:
      state.strong_auth_failures = 0;
      state.approvals_since_strong_auth = 0;
      state.attempts_since_strong_auth = 0;
      if (MandateState* mandate =
              FindMandate(state.mandates, record.id(TransactionRecord::kMandate));
          mandate != nullptr) {
        mandate->mandate.last_used_at_ms = std::max(mandate->mandate.last_used_at_ms, now_ms);
      }
      break;
    case Outcome::kStrongAuthFailed:
      if (record.outcome != Outcome::kStrongAuthFailed) state.strong_auth_failures += 1;
      break;
  }
  return release;
}

absl::Status EngineImpl::ReportOutcome(absl::string_view transaction_id, Outcome outcome,
                                       int64_t event_time_ms) {
  VIGIL_RETURN_IF_ERROR(ValidateId("transaction_id", transaction_id));
  const TransactionKey txn_key(transaction_id);
  TransactionTable::Shard& txn_shard = transactions_.ShardFor(txn_key);
  auto unknown = [&] {
    return absl::NotFoundError(
        absl::StrCat("transaction_id: no authorization \"", transaction_id, "\" is known"));
  };
  std::string user_id;
  {
    absl::MutexLock lock(&txn_shard.mu);
    auto it = txn_shard.map.find(txn_key);
    if (it == txn_shard.map.end() || it->record->pending) return unknown();
    user_id = std::string(it->record->id(TransactionRecord::kUser));
  }
  const std::shared_ptr<const Policy> policy = policy_.Get();

  // Holding the user's lock, nobody else changes this record; work on a copy so that the
  // transaction shard is not held while Release() takes device and merchant locks (they come
  // before it in the lock order).
  UserShard& shard = users_.ShardFor(user_id);
  absl::ReleasableMutexLock user_lock(&shard.mu);
  VIGIL_RETURN_IF_ERROR(Writable());
  TransactionRecord record;
  {
    absl::MutexLock lock(&txn_shard.mu);
    auto it = txn_shard.map.find(txn_key);
    // Gone since we looked: its idempotency record expired.
    if (it == txn_shard.map.end()) return unknown();
    record = *it->record;
  }
  UserState* state = FindState(shard, user_id);
  if (state == nullptr) return absl::InternalError("transaction without user state");
  const int64_t now_ms = !options_.trust_client_time ? clock_->NowMs()
                         : event_time_ms > 0         ? event_time_ms
                                                     : record.time_ms;

  StateChange change;
  const bool release = ApplyOutcome(*state, record, outcome, *policy, now_ms, change);
  uint64_t sequence = 0;
  {
    absl::MutexLock lock(&txn_shard.mu);
    // The sweeper may have forgotten the record meanwhile (it takes no user's lock); the
    // outcome's effect on the user stands.
    auto it = txn_shard.map.find(txn_key);
    if (it != txn_shard.map.end()) {
      TransactionRecord& stored = *it->record;
      stored.released = stored.released || release;
      stored.outcome = outcome;
      if (journaled()) change.transactions.push_back(SnapshotOf(stored));
    }
    if (journaled()) {
      change.users.push_back(SnapshotOf(user_id, *state));
      DecisionLogEntry entry;
      entry.time_ms = now_ms;
      entry.transaction_id = std::string(transaction_id);
      entry.outcome = outcome;
      change.log.push_back(std::move(entry));
      sequence = Append(std::move(change));
    }
  }
  user_lock.Release();
  return Durable(sequence);
}

absl::Status EngineImpl::Restore(const RestoredState& state) {
  for (const UserSnapshot& user : state.users) {
    UserShard& shard = users_.ShardFor(user.user_id);
    absl::MutexLock lock(&shard.mu);
    VIGIL_RETURN_IF_ERROR(RestoreUser(user, StateOf(shard, user.user_id)));
    const std::string& owner_key = shard.map.find(user.user_id)->first;
    for (const MandateSnapshot& saved : user.mandates) {
      mandate_owners_.Add(saved.mandate.mandate_id, owner_key);
    }
  }
  for (const SubjectSnapshot& subject : state.subjects) {
    SubjectTable& table = subject.subject == Subject::kDevice ? devices_ : merchants_;
    SubjectShard& shard = table.ShardFor(subject.id);
    absl::MutexLock lock(&shard.mu);
    shard.map[subject.id].Restore(subject.windows);
  }
  // A transaction saved twice: the later record stands.
  for (const TransactionSnapshot& saved : state.transactions) {
    transactions_.Put(RestoreTransaction(saved));
  }
  const int64_t now_ms = clock_->NowMs();
  for (const GrantSnapshot& grant : state.grants) {
    GrantTable::Shard& shard = grants_.ShardFor(grant.request.request_id);
    absl::MutexLock lock(&shard.mu);
    // Records from before grants kept their time count from now: kept for a whole retention.
    shard.map[grant.request.request_id] =
        GrantRecord{grant.request, grant.mandate_id, grant.seen_ms != 0 ? grant.seen_ms : now_ms};
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> EngineImpl::ExpireTransactions(int64_t before_ms, size_t part,
                                                      size_t parts) {
  if (part >= parts) {
    return absl::InvalidArgumentError(
        absl::StrCat("expiry part ", part, " is not below the number of parts, ", parts));
  }
  VIGIL_RETURN_IF_ERROR(Writable());
  StateChange change;
  transactions_.Sweep(before_ms, part, parts, change.expired_transactions);
  grants_.Sweep(before_ms, part, parts, change.expired_grants);
  const size_t expired = change.expired_transactions.size() + change.expired_grants.size();
  if (expired == 0) return expired;
  VIGIL_RETURN_IF_ERROR(Durable(Append(std::move(change))));
  return expired;
}

Engine::RecordCounts EngineImpl::CountRecords() {
  return Engine::RecordCounts{users_.Count(), transactions_.Count(), grants_.Count()};
}

}  // namespace vigil
