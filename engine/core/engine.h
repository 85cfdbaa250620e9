#pragma once

// Engine is Vigil's decision core: it holds every user's state (profile, mandates, calendar
// usage, velocity windows) in memory, answers Authorize with the current Policy, and applies
// every change that mandates, profiles and outcomes make. It does no I/O and reads time only
// from the Clock it is given.
//
//   FakeClock clock(now_ms);
//   Engine engine(std::move(policy), &clock, EngineOptions{});
//   absl::StatusOr<AuthorizeResponse> response = engine.Authorize(request);
//
// Thread-safe. State is sharded by user id and each call takes the lock of one user's shard
// (plus, briefly, the shard of the index it consults), so calls for different users rarely
// contend and there is no global lock. For one user, deciding and reserving happen under one
// lock: concurrent charges can never together exceed a limit.
//
// Cost: Authorize for a known user allocates two blocks for its idempotency record (the record
// and its ids) and, when rules fire, the reasons of its answer; it is O(rules + recent events, or
// window buckets for a busy subject). Under 2 µs median across 1M users, about 450 bytes of state
// per user (bench/RESULTS.md).

#include <array>
#include <atomic>
#include <climits>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "engine/core/clock.h"
#include "engine/core/journal.h"
#include "engine/core/packed_strings.h"
#include "engine/core/period_usage.h"
#include "engine/core/policy.h"
#include "engine/core/sharded.h"
#include "engine/core/subject_windows.h"
#include "engine/core/types.h"

namespace vigil {

struct EngineOptions {
  // Use AuthorizeRequest::event_time_ms (when > 0) as the transaction's time instead of the
  // clock. For replays and tests only: a client could otherwise choose its own windows.
  bool trust_client_time = false;
  // Seeds the ids the engine mints (mandates, decisions); give each process its own.
  uint64_t id_seed = 0;
  // Where changes become durable; nullptr keeps state in memory only. Must outlive the engine.
  Journal* journal = nullptr;
};

class Engine {
 public:
  // REQUIRES: policy != nullptr; clock outlives the engine.
  Engine(std::shared_ptr<const Policy> policy, const Clock* clock, EngineOptions options);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Decides whether a charge may go through without a password and, on APPROVE, reserves its
  // amount in every limit and window. The same transaction_id again returns the first answer
  // and changes nothing. INVALID_ARGUMENT for a malformed request; ALREADY_EXISTS for a known
  // transaction_id with a different user, merchant, amount or currency.
  absl::StatusOr<AuthorizeResponse> Authorize(const AuthorizeRequest& request);
  // The same, without waiting for durability on this thread: `done` gets the answer once it is
  // durable, here or later on the journal's thread. For servers, whose threads should decide
  // other calls meanwhile. `done` must not block. `request` is not read once this returns.
  using AuthorizeCallback = absl::AnyInvocable<void(absl::StatusOr<AuthorizeResponse>) &&>;
  void Authorize(const AuthorizeRequest& request, AuthorizeCallback done);

  // Records what happened to an authorized charge. FAILED and REVERSED release an approved
  // amount (once); STRONG_AUTH_PASSED resets the failure count and reactivates the mandate;
  // STRONG_AUTH_FAILED counts a failure. NOT_FOUND for an unknown transaction_id.
  absl::Status ReportOutcome(absl::string_view transaction_id, Outcome outcome);

  // Grants a mandate. The same request_id with the same content returns the same mandate;
  // with other content, ALREADY_EXISTS. FAILED_PRECONDITION without explicit consent or where
  // the policy forbids; INVALID_ARGUMENT for malformed fields or limits above the policy caps.
  absl::StatusOr<Mandate> GrantMandate(const GrantMandateRequest& request);
  // NOT_FOUND for an unknown mandate.
  absl::StatusOr<Mandate> GetMandate(absl::string_view mandate_id);
  // Every mandate of the user, oldest first; revoked ones only when asked.
  absl::StatusOr<std::vector<Mandate>> ListMandates(absl::string_view user_id,
                                                    bool include_revoked);
  // NOT_FOUND for an unknown mandate, PERMISSION_DENIED when user_id does not own it.
  // Revoking a revoked mandate returns it unchanged.
  absl::StatusOr<Mandate> RevokeMandate(absl::string_view mandate_id, absl::string_view user_id,
                                        absl::string_view reason);
  // As RevokeMandate; FAILED_PRECONDITION for a revoked or expired mandate.
  absl::StatusOr<Mandate> PauseMandate(absl::string_view mandate_id, absl::string_view user_id);
  absl::StatusOr<Mandate> ResumeMandate(absl::string_view mandate_id, absl::string_view user_id);
  // Revokes every mandate of the user that is not revoked yet and returns those it revoked.
  absl::StatusOr<std::vector<Mandate>> RevokeAllMandates(absl::string_view user_id,
                                                         absl::string_view reason);

  // Creates or replaces a profile. INVALID_ARGUMENT for a malformed field or caps above the
  // policy's for the user's segment.
  absl::StatusOr<UserProfile> PutUserProfile(const UserProfile& profile);
  // NOT_FOUND when the user has no profile.
  absl::StatusOr<UserProfile> GetUserProfile(absl::string_view user_id);

  // Loads what a journal restored. REQUIRES: called before any other call, once.
  // INVALID_ARGUMENT for a record that cannot be restored (the store is damaged).
  absl::Status Restore(const RestoredState& state);

  // Forgets idempotency records of charges decided before `before_ms` by the engine's clock,
  // whatever time a trusted client gave the charge (a retry after that is decided afresh), and
  // those of grants made before it (a grant's request_id sent again after that grants anew).
  // Returns how many were forgotten.
  //
  // With `parts` > 1 it walks only part `part` (0 <= part < parts) of the records, so that a
  // sweeper can spread one pass over time: a pass over every record at once keeps a core busy
  // for about 20 ms per million records, and the calls queued behind it wait.
  // INVALID_ARGUMENT when `part` is not below `parts`.
  absl::StatusOr<size_t> ExpireTransactions(int64_t before_ms, size_t part = 0, size_t parts = 1);

  // How many records the engine holds, for an operator sizing its memory. Locks each shard in
  // turn, briefly: for a scrape, not for the hot path.
  struct RecordCounts {
    size_t users = 0;
    size_t transactions = 0;  // idempotency records
    size_t grants = 0;        // grant idempotency records (request_id)
  };
  RecordCounts CountRecords();

  // With a journal, every call that changes state makes the change durable before it returns
  // OK; while the journal cannot write, such calls return UNAVAILABLE and change nothing, and
  // reads keep working.

  // The policy deciding calls that start now.
  std::shared_ptr<const Policy> policy() const;
  // Makes `policy` decide every call that starts from now on; calls in flight finish on the
  // policy they started with. Velocity windows that both policies read keep their counts;
  // windows only the new one reads start empty. REQUIRES: policy != nullptr.
  void SetPolicy(std::shared_ptr<const Policy> policy);

 private:
  // State is kept compact, since there is one per user for millions of users: numbers as
  // fields, a record's strings in one allocation, no copies of the owner's id.

  // A mandate as the engine keeps it; Mandate is what callers see.
  struct StoredMandate {
    enum Text { kId, kMerchant, kTermsVersion, kConsentChannel, kRevokeReason, kTextCount };
    PackedStrings<kTextCount> text;
    int64_t expires_at_ms = 0;
    int64_t per_txn_limit_minor = 0;
    int64_t daily_limit_minor = 0;
    int64_t monthly_limit_minor = 0;
    int64_t consented_at_ms = 0;
    int64_t created_at_ms = 0;
    int64_t last_used_at_ms = 0;
    int64_t revoked_at_ms = 0;
    MandateStatus status = MandateStatus::kActive;
    bool explicit_opt_in = false;
    bool general = false;        // merchant "*"
    uint32_t merchant_hash = 0;  // of the merchant id: most mandates are told apart without
                                 // reading their text

    absl::string_view mandate_id() const { return text[kId]; }
    absl::string_view merchant_id() const { return text[kMerchant]; }
    static StoredMandate From(const Mandate& mandate);
    Mandate ToMandate(absl::string_view user_id) const;
    void Revoke(int64_t now_ms, absl::string_view reason);
  };

  struct MandateState {
    StoredMandate mandate;
    PeriodUsage day;
    PeriodUsage month;
    SubjectWindows windows;
  };

  struct UserState {
    // Inline room for one: most users hold one or two mandates.
    absl::InlinedVector<MandateState, 1> mandates;
    SubjectWindows windows;
    PeriodUsage day;
    // The profile, less the user id (the table's key) and with the birth date as a day number.
    int64_t per_txn_limit_minor = 0;
    int64_t daily_limit_minor = 0;
    int32_t birth_day = kNoBirthDay;  // days since 1970-01-01
    bool has_profile = false;
    bool risk_assessment_completed = false;
    bool notify_every_transaction = false;
    // Since the last STRONG_AUTH_PASSED.
    int32_t strong_auth_failures = 0;
    int32_t approvals_since_strong_auth = 0;
    int32_t attempts_since_strong_auth = 0;

    static constexpr int32_t kNoBirthDay = INT32_MIN;
    std::optional<absl::CivilDay> birth_date() const;
    // REQUIRES: has_profile.
    UserProfile Profile(absl::string_view user_id) const;
    // The profile's numbers and flags, its strings left empty: what the rules read, without
    // building strings on the hot path. REQUIRES: has_profile.
    UserProfile ProfileNumbers() const;
    void SetProfile(const UserProfile& profile, std::optional<absl::CivilDay> birth_date);
  };

  // The mandate index: a mandate id's number (ids are minted as "mdt_" and 16 hex digits) to
  // its owner's id, which is the key of the owner's node in users_ (stable; users are never
  // removed).
  struct OwnerShard {
    absl::Mutex mu;
    absl::flat_hash_map<uint64_t, const std::string*> owners ABSL_GUARDED_BY(mu);
  };
  static constexpr size_t kOwnerShards = 64;

  // An Authorize's idempotency record: what a retry is compared with and answered from, and
  // what an outcome needs to take an approval back. There is one per charge for the whole
  // retention time, so it is compact: its ids (the transaction id, which is its key, among
  // them) share one allocation, its reasons and rules version are pointers to interned values.
  struct TransactionRecord {
    enum Id { kTransaction, kUser, kMerchant, kCurrency, kDevice, kMandate, kDecision, kIdCount };
    PackedStrings<kIdCount> ids;  // kMandate: the mandate that was charged; empty if none
    int64_t amount_minor = 0;
    int64_t time_ms = 0;  // the charge's time: its windows and calendar periods
    // When the engine decided it, by its own clock: what the retention counts from. The same as
    // time_ms unless the engine trusts client time, where a charge may be dated long before.
    int64_t seen_ms = 0;
    absl::string_view rules_version;  // interned (Policy::version())
    // The enforced reasons (the first `enforced` of them), then the shadow ones.
    absl::InlinedVector<const Reason*, 1> reasons;
    uint16_t enforced = 0;
    Decision decision = Decision::kChallenge;
    bool notify_user = false;
    bool pending = true;  // claimed, but not decided yet
    bool approved = false;
    bool released = false;
    std::optional<Outcome> outcome;

    absl::string_view id(Id which) const { return ids[which]; }
    AuthorizeResponse Response() const;
  };

  // The idempotency table holds records by pointer, with their key's hash, and finds them by
  // the transaction id inside them: a slot is 16 bytes instead of the record and a copy of its
  // key, growing the table moves slots without reading a record, a lookup reads a record only
  // where the whole hash matches, and a record stays where it is while its call decides. The
  // hash is Sharded's, so the shard comes from its high bits and each slot's tag from its low
  // ones.
  struct TransactionSlot {
    size_t hash;
    std::unique_ptr<TransactionRecord> record;

    absl::string_view key() const { return record->id(TransactionRecord::kTransaction); }
  };
  // A transaction id to look up, with its hash.
  struct TransactionKey {
    explicit TransactionKey(absl::string_view id) : hash(ShardedHash(id)), id(id) {}
    size_t hash;
    absl::string_view id;
  };
  struct TransactionHash {
    using is_transparent = void;
    size_t operator()(const TransactionKey& key) const { return key.hash; }
    size_t operator()(const TransactionSlot& slot) const { return slot.hash; }
  };
  struct TransactionEq {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return a.hash == b.hash && Id(a) == Id(b);
    }
    static absl::string_view Id(const TransactionKey& key) { return key.id; }
    static absl::string_view Id(const TransactionSlot& slot) { return slot.key(); }
  };
  using TransactionTable =
      Sharded<TransactionRecord, 1024,
              absl::flat_hash_set<TransactionSlot, TransactionHash, TransactionEq>>;

  struct GrantRecord {
    GrantMandateRequest request;
    std::string mandate_id;
    int64_t seen_ms = 0;  // when it was granted, by the engine's clock
  };

  // 1,024 shards each: a decision holds its user's shard (and its device's) throughout, and
  // under skewed traffic the calls of two server threads met on the same one of 64 often enough
  // for one to wait for the other some seventy times a second (step 21 in bench/RESULTS.md).
  static constexpr size_t kStateShards = 1024;
  using UserTable = Sharded<UserState, kStateShards, absl::node_hash_map<std::string, UserState>>;
  // Device and merchant ids inline in the slot, up to 24 bytes: the key compare of a lookup
  // reads no other cache line (step 24 in bench/RESULTS.md).
  using SubjectTable = Sharded<SubjectWindows, kStateShards, InlineKeyMap<SubjectWindows>>;
  using UserShard = UserTable::Shard;
  using SubjectShard = SubjectTable::Shard;

  // Authorize up to durability: decides, records, queues the change and sets `sequence` to the
  // journal sequence the answer must wait for.
  absl::StatusOr<AuthorizeResponse> Decide(const AuthorizeRequest& request, uint64_t& sequence);
  int64_t EventTime(const AuthorizeRequest& request) const;
  std::string MintId(absl::string_view prefix);
  std::string MintDecisionId();
  // The user's state, created on first use. REQUIRES: shard.mu held.
  static UserState& StateOf(UserShard& shard, absl::string_view user_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  // The user's state, or nullptr. REQUIRES: shard.mu held.
  static UserState* FindState(UserShard& shard, absl::string_view user_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  // Age on the decision date in the policy's calendar; none without a birth date.
  static std::optional<int> AgeAt(const std::optional<absl::CivilDay>& birth_date,
                                  const Policy& policy, int64_t now_ms);
  // The mandate a charge draws on, as API.md resolves it; nullptr with the reason in `match`.
  // `merchant_hash` is StableHash(request.merchant_id).
  static MandateState* ResolveMandate(UserState& state, const AuthorizeRequest& request,
                                      uint64_t merchant_hash, int64_t now_ms, MandateMatch& match);
  // Applies `change` to a mandate that `user_id` owns, under the owner's lock, and returns the
  // mandate as it is after. NOT_FOUND, PERMISSION_DENIED, or the status `change` returns.
  template <typename Change>
  absl::StatusOr<Mandate> ChangeMandate(absl::string_view mandate_id, absl::string_view user_id,
                                        Change change);
  // Looks up the owner of a mandate id in the index.
  std::optional<std::string> OwnerOf(absl::string_view mandate_id);
  // Indexes a mandate under its owner. REQUIRES: the owner's shard lock held.
  void IndexMandate(absl::string_view mandate_id, const std::string& owner_key);
  // The number in a minted mandate id, or none for an id the engine cannot have minted.
  static std::optional<uint64_t> MandateNumber(absl::string_view mandate_id);
  Mandate View(const StoredMandate& mandate, absl::string_view user_id, const Policy& policy,
               int64_t now_ms) const;
  // Takes an approval back everywhere it was counted; appends the device and merchant windows
  // it changed to `change`.
  void Release(UserState& state, const TransactionRecord& record, const Policy& policy,
               StateChange& change);
  UserSnapshot SnapshotOf(absl::string_view user_id, const UserState& state) const;
  static TransactionSnapshot SnapshotOf(const TransactionRecord& record);
  // Appends `change` to the journal (if any) and returns its sequence; 0 without a journal.
  uint64_t Append(StateChange change);
  // Waits until `sequence` is durable; OK without a journal.
  absl::Status Durable(uint64_t sequence);
  // Waits until `sequence` is durable, but answers anyway if the journal cannot write.
  void AwaitVisible(uint64_t sequence);
  // UNAVAILABLE while the journal cannot write; OK otherwise.
  absl::Status Writable() const;
  // The shard of a device's or merchant's windows, or nullptr when the policy reads none or the
  // id is empty (a charge with no device id has no device windows).
  SubjectShard* ShardIfRead(SubjectTable& table, const WindowLayout& layout, Subject subject,
                            absl::string_view id);

  // The policy for a decision starting now on this thread, without touching the count of
  // references the server threads share: each thread keeps its own reference and takes a new
  // one only after SetPolicy. Valid until this thread's next call of it; a thread holds on to
  // a replaced policy until then.
  const Policy& ThreadPolicy();

  const Clock* const clock_;
  const EngineOptions options_;
  const uint64_t serial_;  // this engine's number in the process, for per-thread caches
  // Ids are taken in blocks per thread (MintDecisionId), so that the threads rarely write to
  // this counter's cache line.
  std::atomic<uint64_t> next_id_{0};

  std::atomic<std::shared_ptr<const Policy>> policy_;
  // Counts SetPolicy calls; read on every decision, written only on a reload, so it sits on a
  // cache line of its own that each core keeps.
  alignas(ABSL_CACHELINE_SIZE) std::atomic<uint64_t> policy_generation_{0};

  UserTable users_;
  // Lock order: a user's shard, then a device's, then a merchant's, then any index shard below.
  SubjectTable devices_;
  SubjectTable merchants_;
  // Idempotency records, one per charge: the table that keeps growing. Many shards keep each
  // growth step small (a shard's table is rebuilt under its lock), so that no call waits long
  // behind one.
  TransactionTable transactions_;
  std::array<OwnerShard, kOwnerShards> mandate_owners_;
  Sharded<GrantRecord> grants_;  // request_id -> the grant it made
};

}  // namespace vigil
