#include "engine/core/engine.h"

#include <algorithm>
#include <type_traits>
#include <utility>

#include "absl/base/macros.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/core/interned.h"
#include "engine/core/stable_hash.h"
#include "engine/core/status_macros.h"
#include "engine/core/validation.h"

namespace vigil {
namespace {

// How far ahead of vigild's clock a caller's consent time may be: their clocks differ.
constexpr int64_t kConsentClockSkewMs = 60 * 1000;

// A bijection on 64-bit integers (SplitMix64's finaliser): consecutive counters become ids that
// look unrelated, yet never collide within one seed.
uint64_t Mix(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// For Mandate and Engine::StoredMandate alike.
template <typename M>
bool Expired(const M& mandate, int64_t now_ms) {
  return mandate.expires_at_ms != 0 && now_ms >= mandate.expires_at_ms;
}

// Whether a mandate can carry a charge now (dormancy is the policy's business, not this).
template <typename M>
bool Usable(const M& mandate, int64_t now_ms) {
  return mandate.status == MandateStatus::kActive && !Expired(mandate, now_ms);
}

template <typename M>
int64_t IdleMs(const M& mandate, int64_t now_ms) {
  const int64_t since =
      mandate.last_used_at_ms != 0 ? mandate.last_used_at_ms : mandate.created_at_ms;
  return std::max<int64_t>(0, now_ms - since);
}

const Reason* NoActiveMandate() {
  static const Reason* const reason =
      InternReason(Reason{"NO_ACTIVE_MANDATE", "engine.mandate_required",
                          "there is no active mandate for this charge"});
  return reason;
}

bool SameCharge(const AuthorizeRequest& request, absl::string_view user_id,
                absl::string_view merchant_id, int64_t amount_minor, absl::string_view currency) {
  return request.user_id == user_id && request.merchant_id == merchant_id &&
         request.amount_minor == amount_minor && request.currency == currency;
}

uint64_t NextEngineSerial() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

Engine::Engine(std::shared_ptr<const Policy> policy, const Clock* clock, EngineOptions options)
    : clock_(clock), options_(options), serial_(NextEngineSerial()), policy_(std::move(policy)) {}

Engine::StoredMandate Engine::StoredMandate::From(const Mandate& mandate) {
  StoredMandate stored;
  stored.text = PackedStrings<kTextCount>({mandate.mandate_id, mandate.merchant_id,
                                           mandate.consent.terms_version, mandate.consent.channel,
                                           mandate.revoke_reason});
  stored.expires_at_ms = mandate.expires_at_ms;
  stored.per_txn_limit_minor = mandate.per_txn_limit_minor;
  stored.daily_limit_minor = mandate.daily_limit_minor;
  stored.monthly_limit_minor = mandate.monthly_limit_minor;
  stored.consented_at_ms = mandate.consent.consented_at_ms;
  stored.created_at_ms = mandate.created_at_ms;
  stored.last_used_at_ms = mandate.last_used_at_ms;
  stored.revoked_at_ms = mandate.revoked_at_ms;
  stored.status = mandate.status;
  stored.explicit_opt_in = mandate.consent.explicit_opt_in;
  stored.general = mandate.merchant_id == kAnyMerchant;
  stored.merchant_hash = static_cast<uint32_t>(StableHash(mandate.merchant_id));
  return stored;
}

Mandate Engine::StoredMandate::ToMandate(absl::string_view user_id) const {
  Mandate mandate;
  mandate.mandate_id = std::string(text[kId]);
  mandate.user_id = std::string(user_id);
  mandate.merchant_id = std::string(text[kMerchant]);
  mandate.status = status;
  mandate.expires_at_ms = expires_at_ms;
  mandate.per_txn_limit_minor = per_txn_limit_minor;
  mandate.daily_limit_minor = daily_limit_minor;
  mandate.monthly_limit_minor = monthly_limit_minor;
  mandate.consent.explicit_opt_in = explicit_opt_in;
  mandate.consent.terms_version = std::string(text[kTermsVersion]);
  mandate.consent.consented_at_ms = consented_at_ms;
  mandate.consent.channel = std::string(text[kConsentChannel]);
  mandate.created_at_ms = created_at_ms;
  mandate.last_used_at_ms = last_used_at_ms;
  mandate.revoked_at_ms = revoked_at_ms;
  mandate.revoke_reason = std::string(text[kRevokeReason]);
  return mandate;
}

void Engine::StoredMandate::Revoke(int64_t now_ms, absl::string_view reason) {
  status = MandateStatus::kRevoked;
  revoked_at_ms = now_ms;
  text = PackedStrings<kTextCount>(
      {text[kId], text[kMerchant], text[kTermsVersion], text[kConsentChannel], reason});
}

std::optional<absl::CivilDay> Engine::UserState::birth_date() const {
  if (birth_day == kNoBirthDay) return std::nullopt;
  return absl::CivilDay(1970, 1, 1) + birth_day;
}

UserProfile Engine::UserState::ProfileNumbers() const {
  UserProfile profile;
  profile.risk_assessment_completed = risk_assessment_completed;
  profile.per_txn_limit_minor = per_txn_limit_minor;
  profile.daily_limit_minor = daily_limit_minor;
  profile.notify_every_transaction = notify_every_transaction;
  return profile;
}

UserProfile Engine::UserState::Profile(absl::string_view user_id) const {
  UserProfile profile = ProfileNumbers();
  profile.user_id = std::string(user_id);
  if (birth_day != kNoBirthDay) profile.birth_date = absl::FormatCivilTime(*birth_date());
  return profile;
}

void Engine::UserState::SetProfile(const UserProfile& profile,
                                   std::optional<absl::CivilDay> birth_date) {
  has_profile = true;
  birth_day = birth_date.has_value()
                  ? static_cast<int32_t>(*birth_date - absl::CivilDay(1970, 1, 1))
                  : kNoBirthDay;
  risk_assessment_completed = profile.risk_assessment_completed;
  per_txn_limit_minor = profile.per_txn_limit_minor;
  daily_limit_minor = profile.daily_limit_minor;
  notify_every_transaction = profile.notify_every_transaction;
}

std::optional<uint64_t> Engine::MandateNumber(absl::string_view mandate_id) {
  constexpr absl::string_view kPrefix = "mdt_";
  uint64_t number = 0;
  if (mandate_id.size() != kPrefix.size() + 16 || !absl::StartsWith(mandate_id, kPrefix) ||
      !absl::SimpleHexAtoi(mandate_id.substr(kPrefix.size()), &number)) {
    return std::nullopt;
  }
  return number;
}

void Engine::IndexMandate(absl::string_view mandate_id, const std::string& owner_key) {
  const std::optional<uint64_t> number = MandateNumber(mandate_id);
  if (!number.has_value()) return;
  OwnerShard& shard = mandate_owners_[*number % kOwnerShards];
  absl::MutexLock lock(&shard.mu);
  shard.owners[*number] = &owner_key;
}

std::shared_ptr<const Policy> Engine::policy() const { return policy_.load(); }

void Engine::SetPolicy(std::shared_ptr<const Policy> policy) {
  policy_.store(std::move(policy));
  policy_generation_.fetch_add(1, std::memory_order_release);
}

const Policy& Engine::ThreadPolicy() {
  struct Held {
    uint64_t engine = 0;
    uint64_t generation = 0;
    std::shared_ptr<const Policy> policy;
  };
  thread_local Held held;
  // A thread that sees the new generation loads the policy stored before it was counted.
  const uint64_t generation = policy_generation_.load(std::memory_order_acquire);
  if (held.engine != serial_ || held.generation != generation) {
    held.policy = policy_.load();
    held.engine = serial_;
    held.generation = generation;
  }
  return *held.policy;
}

uint64_t Engine::Append(StateChange change) {
  return options_.journal != nullptr ? options_.journal->Append(std::move(change)) : 0;
}

absl::Status Engine::Durable(uint64_t sequence) {
  if (options_.journal == nullptr) return absl::OkStatus();
  return options_.journal->WaitDurable(sequence);
}

void Engine::AwaitVisible(uint64_t sequence) {
  // A read waits for what it saw to be durable, unless the store cannot write: reads keep
  // working then, answering from memory.
  if (options_.journal != nullptr) (void)options_.journal->WaitDurable(sequence);
}

absl::Status Engine::Writable() const {
  return options_.journal != nullptr ? options_.journal->Ready() : absl::OkStatus();
}

UserSnapshot Engine::SnapshotOf(absl::string_view user_id, const UserState& state) const {
  UserSnapshot snapshot;
  snapshot.user_id = std::string(user_id);
  if (state.has_profile) snapshot.profile = state.Profile(user_id);
  snapshot.mandates.reserve(state.mandates.size());
  for (const MandateState& mandate : state.mandates) {
    snapshot.mandates.push_back(MandateSnapshot{mandate.mandate.ToMandate(user_id),
                                                mandate.day.Save(), mandate.month.Save(),
                                                mandate.windows.Save()});
  }
  snapshot.windows = state.windows.Save();
  snapshot.day = state.day.Save();
  snapshot.strong_auth_failures = state.strong_auth_failures;
  snapshot.approvals_since_strong_auth = state.approvals_since_strong_auth;
  snapshot.attempts_since_strong_auth = state.attempts_since_strong_auth;
  return snapshot;
}

AuthorizeResponse Engine::TransactionRecord::Response() const {
  AuthorizeResponse response;
  response.decision = decision;
  response.notify_user = notify_user;
  response.reasons.reserve(enforced);
  for (size_t i = 0; i < reasons.size(); ++i) {
    (i < enforced ? response.reasons : response.shadow_reasons).push_back(reasons[i]);
  }
  response.decision_id = std::string(id(kDecision));
  response.rules_version = std::string(rules_version);
  return response;
}

TransactionSnapshot Engine::SnapshotOf(const TransactionRecord& record) {
  TransactionSnapshot snapshot;
  snapshot.transaction_id = std::string(record.id(TransactionRecord::kTransaction));
  snapshot.user_id = std::string(record.id(TransactionRecord::kUser));
  snapshot.merchant_id = std::string(record.id(TransactionRecord::kMerchant));
  snapshot.amount_minor = record.amount_minor;
  snapshot.currency = std::string(record.id(TransactionRecord::kCurrency));
  snapshot.device_id = std::string(record.id(TransactionRecord::kDevice));
  snapshot.mandate_id = std::string(record.id(TransactionRecord::kMandate));
  snapshot.time_ms = record.time_ms;
  snapshot.seen_ms = record.seen_ms;
  snapshot.approved = record.approved;
  snapshot.released = record.released;
  snapshot.outcome = record.outcome;
  snapshot.response = record.Response();
  return snapshot;
}

absl::Status Engine::Restore(const RestoredState& state) {
  for (const UserSnapshot& user : state.users) {
    UserShard& shard = users_.ShardFor(user.user_id);
    absl::MutexLock lock(&shard.mu);
    UserState& restored = StateOf(shard, user.user_id);
    if (user.profile.has_value()) {
      std::optional<absl::CivilDay> birth_date;
      if (!user.profile->birth_date.empty()) {
        absl::StatusOr<absl::CivilDay> birth = ParseDate(user.profile->birth_date);
        if (!birth.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat("stored profile of \"", user.user_id, "\": ", birth.status().message()));
        }
        birth_date = *birth;
      }
      restored.SetProfile(*user.profile, birth_date);
    }
    const std::string& owner_key = shard.map.find(user.user_id)->first;
    for (const MandateSnapshot& saved : user.mandates) {
      if (!MandateNumber(saved.mandate.mandate_id).has_value()) {
        return absl::InvalidArgumentError(absl::StrCat("stored mandate of \"", user.user_id,
                                                       "\" has a malformed id \"",
                                                       saved.mandate.mandate_id, "\""));
      }
      MandateState mandate{StoredMandate::From(saved.mandate), {}, {}, {}};
      mandate.day.Restore(saved.day);
      mandate.month.Restore(saved.month);
      mandate.windows.Restore(saved.windows);
      restored.mandates.push_back(std::move(mandate));
      IndexMandate(saved.mandate.mandate_id, owner_key);
    }
    restored.windows.Restore(user.windows);
    restored.day.Restore(user.day);
    restored.strong_auth_failures = static_cast<int32_t>(user.strong_auth_failures);
    restored.approvals_since_strong_auth = static_cast<int32_t>(user.approvals_since_strong_auth);
    restored.attempts_since_strong_auth = static_cast<int32_t>(user.attempts_since_strong_auth);
  }
  for (const SubjectSnapshot& subject : state.subjects) {
    SubjectTable& table = subject.subject == Subject::kDevice ? devices_ : merchants_;
    SubjectShard& shard = table.ShardFor(subject.id);
    absl::MutexLock lock(&shard.mu);
    shard.map[subject.id].Restore(subject.windows);
  }
  for (const TransactionSnapshot& saved : state.transactions) {
    const TransactionKey key(saved.transaction_id);
    auto& shard = transactions_.ShardForHash(key.hash);
    auto restored = std::make_unique<TransactionRecord>();
    TransactionRecord& record = *restored;
    record.pending = false;
    record.ids = PackedStrings<TransactionRecord::kIdCount>(
        {saved.transaction_id, saved.user_id, saved.merchant_id, saved.currency, saved.device_id,
         saved.mandate_id, saved.response.decision_id});
    record.amount_minor = saved.amount_minor;
    record.time_ms = saved.time_ms;
    // Records saved before the engine kept seen_ms have none: their charge's time stands in.
    record.seen_ms = saved.seen_ms != 0 ? saved.seen_ms : saved.time_ms;
    record.approved = saved.approved;
    record.released = saved.released;
    record.outcome = saved.outcome;
    record.decision = saved.response.decision;
    record.notify_user = saved.response.notify_user;
    record.rules_version = *InternString(saved.response.rules_version);
    // Decoding interned them.
    record.reasons.assign(saved.response.reasons.begin(), saved.response.reasons.end());
    record.enforced = static_cast<uint16_t>(record.reasons.size());
    record.reasons.insert(record.reasons.end(), saved.response.shadow_reasons.begin(),
                          saved.response.shadow_reasons.end());
    absl::MutexLock lock(&shard.mu);
    // A transaction saved twice: the later record stands.
    shard.map.erase(key);
    shard.map.insert(TransactionSlot{key.hash, std::move(restored)});
  }
  const int64_t now_ms = clock_->NowMs();
  for (const GrantSnapshot& grant : state.grants) {
    auto& shard = grants_.ShardFor(grant.request.request_id);
    absl::MutexLock lock(&shard.mu);
    // Records from before grants kept their time count from now: kept for a whole retention.
    shard.map[grant.request.request_id] =
        GrantRecord{grant.request, grant.mandate_id, grant.seen_ms != 0 ? grant.seen_ms : now_ms};
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> Engine::ExpireTransactions(int64_t before_ms, size_t part, size_t parts) {
  if (part >= parts) {
    return absl::InvalidArgumentError(
        absl::StrCat("expiry part ", part, " is not below the number of parts, ", parts));
  }
  VIGIL_RETURN_IF_ERROR(Writable());
  auto& shards = transactions_.shards();
  // Parts as even as the shards allow; every shard is in exactly one part.
  const size_t first = shards.size() * part / parts;
  const size_t last = shards.size() * (part + 1) / parts;
  StateChange change;
  for (size_t i = first; i < last; ++i) {
    auto& shard = shards[i];
    absl::MutexLock lock(&shard.mu);
    for (auto it = shard.map.begin(); it != shard.map.end();) {
      const TransactionRecord& record = *it->record;
      if (!record.pending && record.seen_ms < before_ms) {
        change.expired_transactions.emplace_back(record.id(TransactionRecord::kTransaction));
        shard.map.erase(it++);
      } else {
        ++it;
      }
    }
    // A table keeps its capacity after erasing; give memory back once most of it is empty.
    if (shard.map.size() < shard.map.capacity() / 4) shard.map.rehash(0);
  }
  // Grant records live in fewer shards than parts: part p walks the shards p, p + parts, ...
  // below their number, so that every shard is walked once per pass (and, with more parts than
  // shards, in the parts that share its number modulo the shard count, which only repeats it).
  auto& grant_shards = grants_.shards();
  for (size_t i = part % grant_shards.size(); i < grant_shards.size(); i += parts) {
    auto& shard = grant_shards[i];
    absl::MutexLock lock(&shard.mu);
    for (auto it = shard.map.begin(); it != shard.map.end();) {
      if (it->second.seen_ms < before_ms) {
        change.expired_grants.push_back(it->first);
        shard.map.erase(it++);
      } else {
        ++it;
      }
    }
  }
  const size_t expired = change.expired_transactions.size() + change.expired_grants.size();
  if (expired == 0) return expired;
  VIGIL_RETURN_IF_ERROR(Durable(Append(std::move(change))));
  return expired;
}

int64_t Engine::EventTime(const AuthorizeRequest& request) const {
  if (options_.trust_client_time && request.event_time_ms > 0) return request.event_time_ms;
  return clock_->NowMs();
}

std::string Engine::MintId(absl::string_view prefix) {
  const uint64_t n = next_id_.fetch_add(1, std::memory_order_relaxed);
  return absl::StrCat(prefix, absl::Hex(Mix(options_.id_seed + n), absl::kZeroPad16));
}

std::string Engine::MintDecisionId() {
  // Each thread takes numbers in blocks: the threads then rarely write to the counter's cache
  // line, which otherwise moved between the cores on every decision. Numbers stay unique; their
  // order does not show, since the id is a bijective mix of the number.
  constexpr uint64_t kBlock = 1024;
  struct Block {
    uint64_t engine = 0;
    uint64_t next = 0;
    uint64_t end = 0;
  };
  thread_local Block block;
  if (block.engine != serial_ || block.next == block.end) {
    block.engine = serial_;
    block.next = next_id_.fetch_add(kBlock, std::memory_order_relaxed);
    block.end = block.next + kBlock;
  }
  // "d_" and 13 base-32 digits of 64 bits: 15 characters, so the string needs no allocation.
  static constexpr char kDigits[] = "0123456789abcdefghjkmnpqrstvwxyz";
  uint64_t n = Mix(options_.id_seed + block.next++);
  std::string id(15, '0');
  id[0] = 'd';
  id[1] = '_';
  for (int i = 14; i >= 2; --i, n >>= 5) id[i] = kDigits[n & 31];
  return id;
}

Engine::UserState* Engine::FindState(UserShard& shard, absl::string_view user_id) {
  auto it = shard.map.find(user_id);
  return it == shard.map.end() ? nullptr : &it->second;
}

Engine::UserState& Engine::StateOf(UserShard& shard, absl::string_view user_id) {
  return shard.map[user_id];
}

Engine::SubjectShard* Engine::ShardIfRead(SubjectTable& table, const WindowLayout& layout,
                                          Subject subject, absl::string_view id) {
  if (id.empty() || layout.of(subject).empty()) return nullptr;
  return &table.ShardFor(id);
}

std::optional<int> Engine::AgeAt(const std::optional<absl::CivilDay>& birth_date,
                                 const Policy& policy, int64_t now_ms) {
  if (!birth_date.has_value()) return std::nullopt;
  return AgeOn(*birth_date, policy.calendar().DayOf(now_ms));
}

Engine::MandateState* Engine::ResolveMandate(UserState& state, const AuthorizeRequest& request,
                                             uint64_t merchant_hash, int64_t now_ms,
                                             MandateMatch& match) {
  if (!request.mandate_id.empty()) {
    for (MandateState& candidate : state.mandates) {
      if (candidate.mandate.mandate_id() != request.mandate_id) continue;
      const absl::string_view merchant = candidate.mandate.merchant_id();
      if (merchant != request.merchant_id && merchant != kAnyMerchant) {
        match = MandateMatch::kMerchantMismatch;
        return nullptr;
      }
      match = MandateMatch::kFound;
      return &candidate;
    }
    match = MandateMatch::kUnknownId;
    return nullptr;
  }
  // The merchant's own usable mandate first, then the general one. When neither is usable,
  // the most recent of them still explains why (paused, revoked, expired).
  MandateState* merchant_usable = nullptr;
  MandateState* general_usable = nullptr;
  MandateState* merchant_latest = nullptr;
  MandateState* general_latest = nullptr;
  for (MandateState& candidate : state.mandates) {
    const StoredMandate& mandate = candidate.mandate;
    const bool general = mandate.general;
    const bool own = !general && mandate.merchant_hash == static_cast<uint32_t>(merchant_hash) &&
                     mandate.merchant_id() == request.merchant_id;
    if (!own && !general) continue;
    const bool usable = Usable(mandate, now_ms);
    if (own) {
      merchant_latest = &candidate;
      if (usable) merchant_usable = &candidate;
    } else {
      general_latest = &candidate;
      if (usable) general_usable = &candidate;
    }
  }
  for (MandateState* choice : {merchant_usable, general_usable, merchant_latest, general_latest}) {
    if (choice != nullptr) {
      match = MandateMatch::kFound;
      return choice;
    }
  }
  match = MandateMatch::kNone;
  return nullptr;
}

Mandate Engine::View(const StoredMandate& mandate, absl::string_view user_id, const Policy& policy,
                     int64_t now_ms) const {
  Mandate view = mandate.ToMandate(user_id);
  if (view.status == MandateStatus::kRevoked) return view;
  if (Expired(view, now_ms)) {
    view.status = MandateStatus::kExpired;
  } else if (view.status == MandateStatus::kActive &&
             IdleMs(view, now_ms) >= policy.dormant_after_ms()) {
    view.status = MandateStatus::kDormant;
  }
  return view;
}

absl::StatusOr<AuthorizeResponse> Engine::Authorize(const AuthorizeRequest& request) {
  uint64_t sequence = 0;
  absl::StatusOr<AuthorizeResponse> response = Decide(request, sequence);
  if (!response.ok()) return response;
  VIGIL_RETURN_IF_ERROR(Durable(sequence));
  return response;
}

void Engine::Authorize(const AuthorizeRequest& request, AuthorizeCallback done) {
  uint64_t sequence = 0;
  absl::StatusOr<AuthorizeResponse> response = Decide(request, sequence);
  if (!response.ok() || options_.journal == nullptr) return std::move(done)(std::move(response));
  options_.journal->WhenDurable(sequence, [response = *std::move(response),
                                           done = std::move(done)](absl::Status durable) mutable {
    if (durable.ok()) return std::move(done)(std::move(response));
    std::move(done)(std::move(durable));
  });
}

absl::StatusOr<AuthorizeResponse> Engine::Decide(const AuthorizeRequest& request,
                                                 uint64_t& sequence) {
  VIGIL_RETURN_IF_ERROR(ValidateAuthorize(request));
  const Policy* const policy = &ThreadPolicy();
  const int64_t now_ms = EventTime(request);

  UserShard& shard = users_.ShardFor(request.user_id);
  absl::ReleasableMutexLock user_lock(&shard.mu);
  // Among millions of users, this user's entry is rarely in cache: start loading it now, so
  // that it arrives while the transaction id is claimed.
  shard.map.prefetch(request.user_id);

  // Claim the transaction id before deciding: a record, pending until the decision is in it.
  // A record can only be pending for a call holding its user's lock, so a pending record seen
  // here belongs to another user: a conflict.
  const TransactionKey txn_key(request.transaction_id);
  auto& txn_shard = transactions_.ShardForHash(txn_key.hash);
  std::string decision_id;  // minted once the id is claimed: a retry or a conflict takes none
  TransactionRecord* claimed = nullptr;
  UserState* user = nullptr;
  MandateState* mandate = nullptr;
  MandateMatch match = MandateMatch::kNone;
  const uint64_t merchant_hash = StableHash(request.merchant_id);
  {
    absl::MutexLock lock(&txn_shard.mu);
    if (auto it = txn_shard.map.find(txn_key); it != txn_shard.map.end()) {
      const TransactionRecord& record = *it->record;
      // A pending record is another user's charge in flight (this user's lock is held here).
      if (record.pending ||
          !SameCharge(request, record.id(TransactionRecord::kUser),
                      record.id(TransactionRecord::kMerchant), record.amount_minor,
                      record.id(TransactionRecord::kCurrency))) {
        return absl::AlreadyExistsError(
            absl::StrCat("transaction_id: \"", request.transaction_id,
                         "\" was already used for a different charge (user, merchant, amount "
                         "or currency differ)"));
      }
      // The first answer may not be durable yet: wait for it, as its own caller does.
      sequence = options_.journal ? options_.journal->LastSequence() : 0;
      return record.Response();
    }
    VIGIL_RETURN_IF_ERROR(Writable());
    decision_id = MintDecisionId();
    // The record keeps the charged mandate's id with the others, in one allocation: resolve
    // the mandate first (the user's lock is held; a retry above creates no user).
    user = &StateOf(shard, request.user_id);
    user->windows.Prefetch();
    mandate = ResolveMandate(*user, request, merchant_hash, now_ms, match);
    auto record = std::make_unique<TransactionRecord>();
    record->ids = PackedStrings<TransactionRecord::kIdCount>(
        {request.transaction_id, request.user_id, request.merchant_id, request.currency,
         request.device_id,
         mandate != nullptr ? mandate->mandate.mandate_id() : absl::string_view(), decision_id});
    claimed = record.get();
    txn_shard.map.insert(TransactionSlot{txn_key.hash, std::move(record)});
  }
  UserState& state = *user;

  // Every subject the policy reads windows of, locked in the documented order for the whole
  // decision, so that checking and recording are one step for each of them.
  const WindowLayout& layout = policy->layout();
  SubjectShard* device_shard = ShardIfRead(devices_, layout, Subject::kDevice, request.device_id);
  SubjectShard* merchant_shard =
      ShardIfRead(merchants_, layout, Subject::kMerchant, request.merchant_id);
  std::optional<absl::MutexLock> device_lock;
  std::optional<absl::MutexLock> merchant_lock;
  SubjectWindows* device = nullptr;
  SubjectWindows* merchant = nullptr;
  if (device_shard != nullptr) {
    device_lock.emplace(&device_shard->mu);
    device = &device_shard->map[request.device_id];
  }
  if (merchant_shard != nullptr) {
    merchant_lock.emplace(&merchant_shard->mu);
    merchant = &merchant_shard->map[request.merchant_id];
  }
  absl::InlinedVector<WindowReading, 16> readings(layout.specs().size());
  auto read = [&](SubjectWindows* windows, Subject subject) {
    if (windows == nullptr) return;
    windows->Conform(layout, subject);
    windows->Read(layout, subject, now_ms, absl::MakeSpan(readings));
  };
  read(&state.windows, Subject::kUser);
  read(device, Subject::kDevice);
  read(merchant, Subject::kMerchant);
  read(mandate != nullptr ? &mandate->windows : nullptr, Subject::kMandate);

  const LocalCalendar& calendar = policy->calendar();
  const int64_t day = calendar.DayNumber(now_ms);
  const int64_t month = calendar.MonthNumber(now_ms);

  Facts facts;
  facts.request = &request;
  facts.now_ms = now_ms;
  // The rules read the profile's numbers and flags; its strings stay empty here.
  UserProfile profile;
  if (state.has_profile) profile = state.ProfileNumbers();
  facts.profile = state.has_profile ? &profile : nullptr;
  facts.age = AgeAt(state.birth_date(), *policy, now_ms);
  facts.segment = policy->Segment(facts.age);
  facts.user_day_used_minor = state.day.AmountIn(day);
  facts.mandate.match = match;
  if (mandate != nullptr) {
    const StoredMandate& m = mandate->mandate;
    facts.mandate.status = Expired(m, now_ms) ? MandateStatus::kExpired : m.status;
    facts.mandate.general = m.general;
    facts.mandate.per_txn_limit_minor = m.per_txn_limit_minor;
    facts.mandate.daily_limit_minor = m.daily_limit_minor;
    facts.mandate.monthly_limit_minor = m.monthly_limit_minor;
    facts.mandate.idle_ms = IdleMs(m, now_ms);
    facts.mandate.dormant = facts.mandate.idle_ms >= policy->dormant_after_ms();
    facts.mandate.day_used_minor = mandate->day.AmountIn(day);
    facts.mandate.month_used_minor = mandate->month.AmountIn(month);
  }
  facts.windows = readings;
  facts.strong_auth_failures = state.strong_auth_failures;
  facts.approvals_since_strong_auth = state.approvals_since_strong_auth;
  facts.attempts_since_strong_auth = state.attempts_since_strong_auth;

  Verdict verdict = policy->Evaluate(facts);
  // API.md: with no active mandate the decision is never APPROVE, whatever a rule file says.
  const bool usable =
      mandate != nullptr && Usable(mandate->mandate, now_ms) && match == MandateMatch::kFound;
  if (verdict.decision == Decision::kApprove && !usable) {
    verdict.decision = Decision::kChallenge;
    verdict.hits.push_back(RuleHit{Decision::kChallenge, NoActiveMandate()});
  }
  const bool approved = verdict.decision == Decision::kApprove;

  auto record = [&](SubjectWindows* windows, Subject subject) {
    if (windows == nullptr) return;
    windows->Record(layout, subject, now_ms, request.amount_minor, merchant_hash, approved);
  };
  record(&state.windows, Subject::kUser);
  record(device, Subject::kDevice);
  record(merchant, Subject::kMerchant);
  record(mandate != nullptr ? &mandate->windows : nullptr, Subject::kMandate);
  state.attempts_since_strong_auth += 1;
  if (approved) {
    state.approvals_since_strong_auth += 1;
    state.day.Add(day, request.amount_minor);
    mandate->day.Add(day, request.amount_minor);
    mandate->month.Add(month, request.amount_minor);
    mandate->mandate.last_used_at_ms = std::max(mandate->mandate.last_used_at_ms, now_ms);
  }

  AuthorizeResponse response;
  response.decision = verdict.decision;
  response.notify_user = verdict.notify_user;
  response.reasons.reserve(verdict.hits.size());
  for (const RuleHit& hit : verdict.hits) response.reasons.push_back(hit.reason);
  response.shadow_reasons.reserve(verdict.shadow_hits.size());
  for (const RuleHit& hit : verdict.shadow_hits) response.shadow_reasons.push_back(hit.reason);
  response.decision_id = decision_id;
  response.rules_version = std::string(policy->version());

  StateChange change;
  {
    // The claimed record is still there: only the sweeper removes records, never pending ones.
    absl::MutexLock lock(&txn_shard.mu);
    TransactionRecord& record = *claimed;
    record.pending = false;
    record.amount_minor = request.amount_minor;
    record.time_ms = now_ms;
    record.seen_ms = options_.trust_client_time ? clock_->NowMs() : now_ms;
    record.approved = approved;
    record.decision = verdict.decision;
    record.notify_user = verdict.notify_user;
    record.rules_version = policy->version();
    for (const RuleHit& hit : verdict.hits) record.reasons.push_back(hit.reason);
    record.enforced = static_cast<uint16_t>(record.reasons.size());
    for (const RuleHit& hit : verdict.shadow_hits) record.reasons.push_back(hit.reason);
    if (options_.journal != nullptr) {
      change.transactions.push_back(SnapshotOf(record));
      change.users.push_back(SnapshotOf(request.user_id, state));
      if (device != nullptr) {
        change.subjects.push_back(
            SubjectSnapshot{Subject::kDevice, request.device_id, device->Save()});
      }
      if (merchant != nullptr) {
        change.subjects.push_back(
            SubjectSnapshot{Subject::kMerchant, request.merchant_id, merchant->Save()});
      }
      DecisionLogEntry entry;
      entry.time_ms = now_ms;
      entry.transaction_id = request.transaction_id;
      entry.request = request;
      entry.response = response;
      change.log.push_back(std::move(entry));
      sequence = Append(std::move(change));
    }
  }
  merchant_lock.reset();
  device_lock.reset();
  user_lock.Release();
  return response;
}

void Engine::Release(UserState& state, const TransactionRecord& record, const Policy& policy,
                     StateChange& change) {
  state.windows.Release(record.time_ms, record.amount_minor);
  state.approvals_since_strong_auth = std::max(0, state.approvals_since_strong_auth - 1);
  const LocalCalendar& calendar = policy.calendar();
  const int64_t day = calendar.DayNumber(record.time_ms);
  state.day.Remove(day, record.amount_minor);
  for (MandateState& mandate : state.mandates) {
    if (mandate.mandate.mandate_id() != record.id(TransactionRecord::kMandate)) continue;
    mandate.day.Remove(day, record.amount_minor);
    mandate.month.Remove(calendar.MonthNumber(record.time_ms), record.amount_minor);
    mandate.windows.Release(record.time_ms, record.amount_minor);
  }
  // Same lock order as Authorize: the caller holds the user's shard.
  for (auto [table, id] : {std::pair{&devices_, record.id(TransactionRecord::kDevice)},
                           std::pair{&merchants_, record.id(TransactionRecord::kMerchant)}}) {
    if (id.empty()) continue;
    SubjectShard& shard = table->ShardFor(id);
    absl::MutexLock lock(&shard.mu);
    auto it = shard.map.find(id);
    if (it == shard.map.end()) continue;
    it->second.Release(record.time_ms, record.amount_minor);
    if (options_.journal != nullptr) {
      change.subjects.push_back(
          SubjectSnapshot{table == &devices_ ? Subject::kDevice : Subject::kMerchant,
                          std::string(id), it->second.Save()});
    }
  }
}

absl::Status Engine::ReportOutcome(absl::string_view transaction_id, Outcome outcome) {
  VIGIL_RETURN_IF_ERROR(ValidateId("transaction_id", transaction_id));
  const TransactionKey txn_key(transaction_id);
  auto& txn_shard = transactions_.ShardForHash(txn_key.hash);
  std::string user_id;
  {
    absl::MutexLock lock(&txn_shard.mu);
    auto it = txn_shard.map.find(txn_key);
    if (it == txn_shard.map.end() || it->record->pending) {
      return absl::NotFoundError(
          absl::StrCat("transaction_id: no authorization \"", transaction_id, "\" is known"));
    }
    user_id = std::string(it->record->id(TransactionRecord::kUser));
  }
  const std::shared_ptr<const Policy> policy = policy_.load();
  const int64_t now_ms = clock_->NowMs();

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
    if (it == txn_shard.map.end()) {
      return absl::NotFoundError(
          absl::StrCat("transaction_id: no authorization \"", transaction_id, "\" is known"));
    }
    record = *it->record;
  }
  UserState* state = FindState(shard, user_id);
  if (state == nullptr) return absl::InternalError("transaction without user state");

  StateChange change;
  bool release = false;
  switch (outcome) {
    case Outcome::kCompleted:
      break;
    case Outcome::kFailed:
    case Outcome::kReversed:
      release = record.approved && !record.released;
      if (release) Release(*state, record, *policy, change);
      break;
    case Outcome::kStrongAuthPassed:
      state->strong_auth_failures = 0;
      state->approvals_since_strong_auth = 0;
      state->attempts_since_strong_auth = 0;
      for (MandateState& mandate : state->mandates) {
        if (mandate.mandate.mandate_id() == record.id(TransactionRecord::kMandate)) {
          mandate.mandate.last_used_at_ms = std::max(mandate.mandate.last_used_at_ms, now_ms);
        }
      }
      break;
    case Outcome::kStrongAuthFailed:
      if (record.outcome != Outcome::kStrongAuthFailed) state->strong_auth_failures += 1;
      break;
  }
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
      if (options_.journal != nullptr) change.transactions.push_back(SnapshotOf(stored));
    }
    if (options_.journal != nullptr) {
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

absl::StatusOr<Mandate> Engine::GrantMandate(const GrantMandateRequest& request) {
  VIGIL_RETURN_IF_ERROR(ValidateGrant(request));
  if (!request.consent.explicit_opt_in) {
    return absl::FailedPreconditionError(
        "consent.explicit_opt_in: password-free payment needs the user's explicit opt-in; it is "
        "never on by default");
  }
  if (request.consent.terms_version.empty()) {
    return absl::FailedPreconditionError(
        "consent.terms_version: the version of the terms the user accepted is required");
  }
  const int64_t now_ms = clock_->NowMs();
  // When the user consented is part of the evidence of consent: without it, or dated later than
  // the grant itself, the consent proves nothing. A minute of clock skew between the caller and
  // vigild is allowed.
  if (request.consent.consented_at_ms == 0) {
    return absl::FailedPreconditionError(
        "consent.consented_at_ms: when the user consented is part of the evidence of consent "
        "and is required");
  }
  if (request.consent.consented_at_ms > now_ms + kConsentClockSkewMs) {
    return absl::InvalidArgumentError(
        absl::StrCat("consent.consented_at_ms: ", request.consent.consented_at_ms,
                     " is in the future; the consent must come before the grant"));
  }
  if (request.expires_at_ms != 0 && request.expires_at_ms <= now_ms) {
    return absl::InvalidArgumentError(
        absl::StrCat("expires_at_ms: ", request.expires_at_ms, " is not in the future"));
  }
  const std::shared_ptr<const Policy> policy = policy_.load();

  UserShard& shard = users_.ShardFor(request.user_id);
  absl::ReleasableMutexLock user_lock(&shard.mu);
  auto& grant_shard = grants_.ShardFor(request.request_id);
  if (!request.request_id.empty()) {
    absl::ReleasableMutexLock lock(&grant_shard.mu);
    auto it = grant_shard.map.find(request.request_id);
    if (it != grant_shard.map.end()) {
      if (!(it->second.request == request)) {
        return absl::AlreadyExistsError(absl::StrCat("request_id: \"", request.request_id,
                                                     "\" was already used for a different grant"));
      }
      // Same user, so the mandate lives in the shard we hold.
      for (const MandateState& existing : FindState(shard, request.user_id)->mandates) {
        if (existing.mandate.mandate_id() == it->second.mandate_id) {
          Mandate view = View(existing.mandate, request.user_id, *policy, now_ms);
          const uint64_t sequence = options_.journal ? options_.journal->LastSequence() : 0;
          lock.Release();
          user_lock.Release();
          VIGIL_RETURN_IF_ERROR(Durable(sequence));
          return view;
        }
      }
      return absl::InternalError("granted mandate is missing");
    }
  }

  VIGIL_RETURN_IF_ERROR(Writable());
  UserState& state = StateOf(shard, request.user_id);
  const std::optional<UserProfile> profile =
      state.has_profile ? std::optional<UserProfile>(state.Profile(request.user_id)) : std::nullopt;
  VIGIL_RETURN_IF_ERROR(
      policy->CheckGrant(request, policy->Segment(AgeAt(state.birth_date(), *policy, now_ms)),
                         profile.has_value() ? &*profile : nullptr));

  Mandate mandate;
  mandate.mandate_id = MintId("mdt_");
  mandate.user_id = request.user_id;
  mandate.merchant_id = request.merchant_id;
  mandate.status = MandateStatus::kActive;
  mandate.expires_at_ms = request.expires_at_ms;
  mandate.per_txn_limit_minor = request.per_txn_limit_minor;
  mandate.daily_limit_minor = request.daily_limit_minor;
  mandate.monthly_limit_minor = request.monthly_limit_minor;
  mandate.consent = request.consent;
  if (mandate.consent.consented_at_ms == 0) mandate.consent.consented_at_ms = now_ms;
  mandate.created_at_ms = now_ms;

  if (!request.request_id.empty()) {
    absl::MutexLock lock(&grant_shard.mu);
    auto [it, inserted] = grant_shard.map.try_emplace(request.request_id);
    // Another user's grant took this request_id since we looked.
    if (!inserted) {
      return absl::AlreadyExistsError(absl::StrCat("request_id: \"", request.request_id,
                                                   "\" was already used for a different grant"));
    }
    it->second = GrantRecord{request, mandate.mandate_id, now_ms};
  }
  IndexMandate(mandate.mandate_id, shard.map.find(request.user_id)->first);
  state.mandates.push_back(MandateState{StoredMandate::From(mandate), {}, {}, {}});
  StateChange change;
  change.users.push_back(SnapshotOf(request.user_id, state));
  if (!request.request_id.empty()) {
    change.grants.push_back(GrantSnapshot{request, mandate.mandate_id, now_ms});
  }
  const uint64_t sequence = Append(std::move(change));
  Mandate view = View(state.mandates.back().mandate, request.user_id, *policy, now_ms);
  user_lock.Release();
  VIGIL_RETURN_IF_ERROR(Durable(sequence));
  return view;
}

std::optional<std::string> Engine::OwnerOf(absl::string_view mandate_id) {
  const std::optional<uint64_t> number = MandateNumber(mandate_id);
  if (!number.has_value()) return std::nullopt;
  OwnerShard& shard = mandate_owners_[*number % kOwnerShards];
  absl::MutexLock lock(&shard.mu);
  auto it = shard.owners.find(*number);
  if (it == shard.owners.end()) return std::nullopt;
  // The key of a users_ node: never changes, never freed.
  return *it->second;
}

absl::StatusOr<Mandate> Engine::GetMandate(absl::string_view mandate_id) {
  VIGIL_RETURN_IF_ERROR(ValidateId("mandate_id", mandate_id));
  const std::optional<std::string> owner = OwnerOf(mandate_id);
  if (!owner.has_value()) {
    return absl::NotFoundError(absl::StrCat("mandate_id: no mandate \"", mandate_id, "\""));
  }
  return ChangeMandate(mandate_id, *owner, nullptr);
}

template <typename Change>
absl::StatusOr<Mandate> Engine::ChangeMandate(absl::string_view mandate_id,
                                              absl::string_view user_id, Change change) {
  VIGIL_RETURN_IF_ERROR(ValidateId("mandate_id", mandate_id));
  VIGIL_RETURN_IF_ERROR(ValidateId("user_id", user_id));
  const std::optional<std::string> owner = OwnerOf(mandate_id);
  if (!owner.has_value()) {
    return absl::NotFoundError(absl::StrCat("mandate_id: no mandate \"", mandate_id, "\""));
  }
  if (*owner != user_id) {
    return absl::PermissionDeniedError(
        absl::StrCat("user_id: \"", user_id, "\" does not own mandate \"", mandate_id, "\""));
  }
  const std::shared_ptr<const Policy> policy = policy_.load();
  const int64_t now_ms = clock_->NowMs();
  constexpr bool kReadOnly = std::is_same_v<Change, std::nullptr_t>;
  if (!kReadOnly) VIGIL_RETURN_IF_ERROR(Writable());
  UserShard& shard = users_.ShardFor(user_id);
  absl::ReleasableMutexLock lock(&shard.mu);
  UserState* state = FindState(shard, user_id);
  if (state != nullptr) {
    for (MandateState& mandate : state->mandates) {
      if (mandate.mandate.mandate_id() != mandate_id) continue;
      uint64_t sequence = options_.journal ? options_.journal->LastSequence() : 0;
      if constexpr (!kReadOnly) {
        VIGIL_RETURN_IF_ERROR(change(mandate, now_ms));
        StateChange changed;
        changed.users.push_back(SnapshotOf(user_id, *state));
        sequence = Append(std::move(changed));
      }
      Mandate view = View(mandate.mandate, user_id, *policy, now_ms);
      lock.Release();
      if (kReadOnly) {
        AwaitVisible(sequence);
      } else {
        VIGIL_RETURN_IF_ERROR(Durable(sequence));
      }
      return view;
    }
  }
  return absl::InternalError(absl::StrCat("mandate \"", mandate_id, "\" is indexed but missing"));
}

absl::StatusOr<std::vector<Mandate>> Engine::ListMandates(absl::string_view user_id,
                                                          bool include_revoked) {
  VIGIL_RETURN_IF_ERROR(ValidateId("user_id", user_id));
  const std::shared_ptr<const Policy> policy = policy_.load();
  const int64_t now_ms = clock_->NowMs();
  UserShard& shard = users_.ShardFor(user_id);
  std::vector<Mandate> mandates;
  uint64_t sequence = 0;
  {
    absl::MutexLock lock(&shard.mu);
    if (const UserState* state = FindState(shard, user_id); state != nullptr) {
      for (const MandateState& mandate : state->mandates) {
        if (!include_revoked && mandate.mandate.status == MandateStatus::kRevoked) continue;
        mandates.push_back(View(mandate.mandate, user_id, *policy, now_ms));
      }
    }
    sequence = options_.journal ? options_.journal->LastSequence() : 0;
  }
  AwaitVisible(sequence);
  return mandates;
}

absl::StatusOr<Mandate> Engine::RevokeMandate(absl::string_view mandate_id,
                                              absl::string_view user_id, absl::string_view reason) {
  VIGIL_RETURN_IF_ERROR(ValidateOptionalId("reason", reason));
  return ChangeMandate(mandate_id, user_id, [reason](MandateState& state, int64_t now_ms) {
    StoredMandate& mandate = state.mandate;
    if (mandate.status != MandateStatus::kRevoked) mandate.Revoke(now_ms, reason);
    return absl::OkStatus();
  });
}

absl::StatusOr<Mandate> Engine::PauseMandate(absl::string_view mandate_id,
                                             absl::string_view user_id) {
  return ChangeMandate(mandate_id, user_id, [mandate_id](MandateState& state, int64_t now_ms) {
    StoredMandate& mandate = state.mandate;
    if (mandate.status == MandateStatus::kRevoked) {
      return absl::FailedPreconditionError(
          absl::StrCat("mandate \"", mandate_id, "\" is revoked and cannot be paused"));
    }
    if (Expired(mandate, now_ms)) {
      return absl::FailedPreconditionError(
          absl::StrCat("mandate \"", mandate_id, "\" has expired and cannot be paused"));
    }
    mandate.status = MandateStatus::kPaused;
    return absl::OkStatus();
  });
}

absl::StatusOr<Mandate> Engine::ResumeMandate(absl::string_view mandate_id,
                                              absl::string_view user_id) {
  return ChangeMandate(mandate_id, user_id, [mandate_id](MandateState& state, int64_t now_ms) {
    StoredMandate& mandate = state.mandate;
    if (mandate.status == MandateStatus::kRevoked) {
      return absl::FailedPreconditionError(absl::StrCat(
          "mandate \"", mandate_id, "\" is revoked and can never be resumed; grant a new one"));
    }
    if (Expired(mandate, now_ms)) {
      return absl::FailedPreconditionError(
          absl::StrCat("mandate \"", mandate_id, "\" has expired and cannot be resumed"));
    }
    mandate.status = MandateStatus::kActive;
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<Mandate>> Engine::RevokeAllMandates(absl::string_view user_id,
                                                               absl::string_view reason) {
  VIGIL_RETURN_IF_ERROR(ValidateId("user_id", user_id));
  VIGIL_RETURN_IF_ERROR(ValidateOptionalId("reason", reason));
  const std::shared_ptr<const Policy> policy = policy_.load();
  const int64_t now_ms = clock_->NowMs();
  VIGIL_RETURN_IF_ERROR(Writable());
  UserShard& shard = users_.ShardFor(user_id);
  std::vector<Mandate> revoked;
  uint64_t sequence = 0;
  {
    absl::MutexLock lock(&shard.mu);
    if (UserState* state = FindState(shard, user_id); state != nullptr) {
      for (MandateState& entry : state->mandates) {
        StoredMandate& mandate = entry.mandate;
        if (mandate.status == MandateStatus::kRevoked) continue;
        mandate.Revoke(now_ms, reason);
        revoked.push_back(View(mandate, user_id, *policy, now_ms));
      }
      if (!revoked.empty()) {
        StateChange change;
        change.users.push_back(SnapshotOf(user_id, *state));
        sequence = Append(std::move(change));
      }
    }
  }
  VIGIL_RETURN_IF_ERROR(Durable(sequence));
  return revoked;
}

absl::StatusOr<UserProfile> Engine::PutUserProfile(const UserProfile& profile) {
  VIGIL_RETURN_IF_ERROR(ValidateProfile(profile));
  std::optional<absl::CivilDay> birth_date;
  if (!profile.birth_date.empty()) birth_date = *ParseDate(profile.birth_date);
  const std::shared_ptr<const Policy> policy = policy_.load();
  const int64_t now_ms = clock_->NowMs();
  // A birth date after today would make the user's age negative, and so never elderly: the
  // stricter policy would silently not apply.
  if (birth_date.has_value() && *birth_date > policy->calendar().DayOf(now_ms)) {
    return absl::InvalidArgumentError(
        absl::StrCat("birth_date: ", profile.birth_date, " is in the future"));
  }

  VIGIL_RETURN_IF_ERROR(
      policy->CheckProfile(profile, policy->Segment(AgeAt(birth_date, *policy, now_ms))));

  VIGIL_RETURN_IF_ERROR(Writable());
  UserShard& shard = users_.ShardFor(profile.user_id);
  uint64_t sequence = 0;
  {
    absl::MutexLock lock(&shard.mu);
    UserState& state = StateOf(shard, profile.user_id);
    state.SetProfile(profile, birth_date);
    StateChange change;
    change.users.push_back(SnapshotOf(profile.user_id, state));
    sequence = Append(std::move(change));
  }
  VIGIL_RETURN_IF_ERROR(Durable(sequence));
  return profile;
}

absl::StatusOr<UserProfile> Engine::GetUserProfile(absl::string_view user_id) {
  VIGIL_RETURN_IF_ERROR(ValidateId("user_id", user_id));
  UserShard& shard = users_.ShardFor(user_id);
  UserProfile profile;
  uint64_t sequence = 0;
  {
    absl::MutexLock lock(&shard.mu);
    const UserState* state = FindState(shard, user_id);
    if (state == nullptr || !state->has_profile) {
      return absl::NotFoundError(absl::StrCat("user_id: no profile for \"", user_id, "\""));
    }
    profile = state->Profile(user_id);
    sequence = options_.journal ? options_.journal->LastSequence() : 0;
  }
  AwaitVisible(sequence);
  return profile;
}

Engine::RecordCounts Engine::CountRecords() {
  RecordCounts counts;
  auto count = [](auto& table) {
    size_t total = 0;
    for (auto& shard : table.shards()) {
      absl::MutexLock lock(&shard.mu);
      total += shard.map.size();
    }
    return total;
  };
  counts.users = count(users_);
  counts.transactions = count(transactions_);
  counts.grants = count(grants_);
  return counts;
}

}  // namespace vigil
