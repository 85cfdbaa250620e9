#include "engine/store/rocksdb_store.h"

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "engine/store/state_codec.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"

namespace vigil::store {
namespace {

constexpr char kFormatKey[] = "meta/format";
constexpr char kBootKey[] = "meta/boot";

std::string UserKey(absl::string_view id) { return absl::StrCat("u/", id); }
std::string SubjectKey(Subject subject, absl::string_view id) {
  return absl::StrCat(subject == Subject::kDevice ? "s/d/" : "s/m/", id);
}
std::string TransactionKey(absl::string_view id) { return absl::StrCat("t/", id); }
std::string GrantKey(absl::string_view id) { return absl::StrCat("g/", id); }
// Fixed-width hex sorts by time; boot and sequence make keys unique across restarts.
std::string LogKey(int64_t time_ms, uint64_t boot, uint64_t sequence) {
  return absl::StrFormat("l/%016x/%08x/%016x", static_cast<uint64_t>(std::max<int64_t>(0, time_ms)),
                         boot, sequence);
}
std::string LogKeyAt(int64_t time_ms) {
  return absl::StrFormat("l/%016x", static_cast<uint64_t>(std::max<int64_t>(0, time_ms)));
}

absl::Status FromRocks(const rocksdb::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  const std::string message = absl::StrCat(what, ": ", status.ToString());
  if (status.IsCorruption()) return absl::DataLossError(message);
  if (status.IsNoSpace() || status.IsIOError()) return absl::UnavailableError(message);
  return absl::InternalError(message);
}

absl::Status Closing() {
  return absl::UnavailableError("the store is closing; the change may not be durable");
}

}  // namespace

absl::StatusOr<std::unique_ptr<RocksDbStore>> RocksDbStore::Open(const StoreOptions& options) {
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::path path(options.path);
  // A directory that holds files but no RocksDB is someone else's: never write into it.
  if (fs::is_directory(path, error) && !fs::is_empty(path, error) &&
      !fs::exists(path / "CURRENT", error)) {
    return absl::FailedPreconditionError(absl::StrCat(
        options.path, " holds files but is not a Vigil data directory; refusing to use it"));
  }
  rocksdb::Options rocks;
  rocks.create_if_missing = true;
  rocks.paranoid_checks = true;
  rocks.env = options.env != nullptr ? options.env : rocksdb::Env::Default();
  rocks.IncreaseParallelism(2);
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status opened = rocksdb::DB::Open(rocks, options.path, &raw);
  if (!opened.ok()) {
    const std::string text = opened.ToString();
    if (opened.IsIOError() && absl::StrContains(text, "lock")) {
      return absl::FailedPreconditionError(
          absl::StrCat(options.path, " is in use by another vigild (its lock is held): ", text));
    }
    if (opened.IsCorruption()) {
      return absl::DataLossError(
          absl::StrCat(options.path, " is damaged and was left as it is: ", text));
    }
    return FromRocks(opened, absl::StrCat("cannot open ", options.path));
  }
  std::unique_ptr<rocksdb::DB> db(raw);

  std::string value;
  rocksdb::Status read = db->Get(rocksdb::ReadOptions(), kFormatKey, &value);
  int format = 0;
  if (read.IsNotFound()) {
    // A new store, unless something else is in it.
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    if (it->Valid()) {
      return absl::DataLossError(
          absl::StrCat(options.path, " has data but no format marker; it was left as it is"));
    }
    rocksdb::WriteOptions sync;
    sync.sync = true;
    if (absl::Status status = FromRocks(db->Put(sync, kFormatKey, absl::StrCat(kFormatVersion)),
                                        "cannot initialise the store");
        !status.ok()) {
      return status;
    }
    format = kFormatVersion;
  } else if (!read.ok()) {
    return FromRocks(read, absl::StrCat("cannot read ", options.path));
  } else if (!absl::SimpleAtoi(value, &format) || format < 1) {
    return absl::DataLossError(
        absl::StrCat(options.path, " has a damaged format marker \"", value, "\""));
  }
  if (format > kFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        options.path, " was written in format ", format, " by a newer vigild; this one reads ",
        kFormatVersion, ". Nothing was changed; run the newer vigild."));
  }

  uint64_t boot = 0;
  read = db->Get(rocksdb::ReadOptions(), kBootKey, &value);
  if (read.ok() && !absl::SimpleAtoi(value, &boot)) {
    return absl::DataLossError(absl::StrCat(options.path, " has a damaged boot counter"));
  }
  ++boot;
  rocksdb::WriteOptions sync;
  sync.sync = true;
  if (absl::Status status =
          FromRocks(db->Put(sync, kBootKey, absl::StrCat(boot)), "cannot write the store");
      !status.ok()) {
    return status;
  }
  return std::unique_ptr<RocksDbStore>(new RocksDbStore(std::move(db), options, boot));
}

RocksDbStore::RocksDbStore(std::unique_ptr<rocksdb::DB> db, const StoreOptions& options,
                           uint64_t boot)
    : db_(std::move(db)), options_(options), boot_(boot) {
  writer_ = std::thread(&RocksDbStore::WriteLoop, this);
}

RocksDbStore::~RocksDbStore() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  writer_.join();
  // The writer wrote what it could; whoever still waits is told the store is closing.
  std::vector<std::pair<uint64_t, DurableCallback>> waiters;
  {
    absl::MutexLock lock(&mu_);
    waiters.swap(waiters_);
  }
  for (auto& [sequence, done] : waiters) {
    std::move(done)(Closing());
  }
  absl::WriterMutexLock lock(&db_mu_);
  if (db_ != nullptr) (void)db_->Close();
}

absl::Status RocksDbStore::Reopen() {
  absl::WriterMutexLock lock(&db_mu_);
  if (db_ != nullptr) (void)db_->Close();
  db_.reset();
  rocksdb::Options rocks;
  rocks.paranoid_checks = true;
  rocks.env = options_.env != nullptr ? options_.env : rocksdb::Env::Default();
  rocks.IncreaseParallelism(2);
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status opened = rocksdb::DB::Open(rocks, options_.path, &raw);
  if (!opened.ok()) return FromRocks(opened, "cannot reopen the store");
  db_.reset(raw);
  return absl::OkStatus();
}

absl::StatusOr<RestoredState> RocksDbStore::Load() {
  absl::ReaderMutexLock db_lock(&db_mu_);
  if (db_ == nullptr) return absl::UnavailableError("the store is not open");
  RestoredState state;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  auto damaged = [](const rocksdb::Slice& key) {
    return absl::DataLossError(
        absl::StrCat("the store is damaged: record \"", key.ToString(), "\" cannot be read"));
  };
  for (it->Seek("g/"); it->Valid() && it->key().starts_with("g/"); it->Next()) {
    store::v1::GrantState grant;
    if (!grant.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return damaged(it->key());
    }
    state.grants.push_back(Decode(grant));
  }
  for (it->Seek("s/"); it->Valid() && it->key().starts_with("s/"); it->Next()) {
    store::v1::SubjectState subject;
    if (!subject.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return damaged(it->key());
    }
    absl::StatusOr<SubjectSnapshot> decoded = Decode(subject);
    if (!decoded.ok()) return decoded.status();
    state.subjects.push_back(*std::move(decoded));
  }
  for (it->Seek("t/"); it->Valid() && it->key().starts_with("t/"); it->Next()) {
    store::v1::TransactionState transaction;
    if (!transaction.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return damaged(it->key());
    }
    absl::StatusOr<TransactionSnapshot> decoded = Decode(transaction);
    if (!decoded.ok()) return decoded.status();
    state.transactions.push_back(*std::move(decoded));
  }
  for (it->Seek("u/"); it->Valid() && it->key().starts_with("u/"); it->Next()) {
    store::v1::UserState user;
    if (!user.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return damaged(it->key());
    }
    absl::StatusOr<UserSnapshot> decoded = Decode(user);
    if (!decoded.ok()) return decoded.status();
    state.users.push_back(*std::move(decoded));
  }
  if (absl::Status status = FromRocks(it->status(), "cannot read the store"); !status.ok()) {
    return status.code() == absl::StatusCode::kDataLoss ? status
                                                        : absl::DataLossError(status.message());
  }
  return state;
}

namespace {

absl::StatusOr<DecisionLogEntry> DecodeLogEntry(const rocksdb::Iterator& it) {
  store::v1::DecisionLogRecord record;
  absl::StatusOr<DecisionLogEntry> entry =
      record.ParseFromArray(it.value().data(), static_cast<int>(it.value().size()))
          ? Decode(record)
          : absl::DataLossError("not a record");
  if (!entry.ok()) {
    return absl::DataLossError(absl::StrCat("decision log entry \"", it.key().ToString(),
                                            "\" cannot be read: ", entry.status().message()));
  }
  return entry;
}

}  // namespace

absl::Status RocksDbStore::ExportDecisions(int64_t since_ms, int64_t until_ms,
                                           absl::FunctionRef<bool(const DecisionLogEntry&)> sink) {
  absl::ReaderMutexLock db_lock(&db_mu_);
  if (db_ == nullptr) return absl::UnavailableError("the store is being reopened; try again");
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  const std::string end = LogKeyAt(until_ms);
  for (it->Seek(LogKeyAt(since_ms)); it->Valid() && it->key().starts_with("l/"); it->Next()) {
    if (it->key().compare(end) >= 0) break;
    absl::StatusOr<DecisionLogEntry> entry = DecodeLogEntry(*it);
    if (!entry.ok()) return entry.status();
    if (!sink(*entry)) break;
  }
  return FromRocks(it->status(), "cannot read the decision log");
}

absl::Status RocksDbStore::ExportDecisionsNewestFirst(
    int64_t until_ms, absl::FunctionRef<bool(const DecisionLogEntry&)> sink) {
  absl::ReaderMutexLock db_lock(&db_mu_);
  if (db_ == nullptr) return absl::UnavailableError("the store is being reopened; try again");
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  // The first key of until_ms sorts before every entry of that time.
  const std::string end = LogKeyAt(until_ms);
  for (it->SeekForPrev(end); it->Valid() && it->key().starts_with("l/"); it->Prev()) {
    if (it->key().compare(end) >= 0) continue;
    absl::StatusOr<DecisionLogEntry> entry = DecodeLogEntry(*it);
    if (!entry.ok()) return entry.status();
    if (!sink(*entry)) break;
  }
  return FromRocks(it->status(), "cannot read the decision log");
}

absl::Status RocksDbStore::DeleteDecisionsBefore(int64_t before_ms) {
  absl::Status ready = Ready();
  if (!ready.ok()) return ready;
  absl::ReaderMutexLock db_lock(&db_mu_);
  if (db_ == nullptr) return absl::UnavailableError("the store is being reopened");
  return FromRocks(db_->DeleteRange(rocksdb::WriteOptions(), db_->DefaultColumnFamily(),
                                    LogKeyAt(0), LogKeyAt(before_ms)),
                   "cannot trim the decision log");
}

absl::Status RocksDbStore::Ready() const {
  absl::MutexLock lock(&mu_);
  return failure_;
}

uint64_t RocksDbStore::Append(StateChange change) {
  absl::MutexLock lock(&mu_);
  const uint64_t sequence = ++appended_;
  queue_.emplace_back(sequence, std::move(change));
  return sequence;
}

uint64_t RocksDbStore::LastSequence() const {
  absl::MutexLock lock(&mu_);
  return appended_;
}

std::optional<absl::Status> RocksDbStore::Settled(uint64_t sequence) const {
  if (durable_ >= sequence) return absl::OkStatus();
  if (!failure_.ok()) return failure_;
  if (stopping_) return Closing();
  return std::nullopt;
}

absl::Status RocksDbStore::WaitDurable(uint64_t sequence) {
  absl::MutexLock lock(&mu_);
  auto settled = [this, sequence]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return Settled(sequence).has_value(); };
  mu_.Await(absl::Condition(&settled));
  return *Settled(sequence);
}

void RocksDbStore::WhenDurable(uint64_t sequence, DurableCallback done) {
  std::optional<absl::Status> settled;
  {
    absl::MutexLock lock(&mu_);
    settled = Settled(sequence);
    if (!settled.has_value()) {
      waiters_.emplace_back(sequence, std::move(done));
      return;
    }
  }
  std::move(done)(*std::move(settled));
}

RocksDbStore::Stats RocksDbStore::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

absl::Status RocksDbStore::Write(const std::deque<std::pair<uint64_t, StateChange>>& batch,
                                 bool retrying) {
  rocksdb::WriteBatch write;
  std::string value;
  for (const auto& [sequence, change] : batch) {
    for (const UserSnapshot& user : change.users) {
      Encode(user).SerializeToString(&value);
      write.Put(UserKey(user.user_id), value);
    }
    for (const SubjectSnapshot& subject : change.subjects) {
      Encode(subject).SerializeToString(&value);
      write.Put(SubjectKey(subject.subject, subject.id), value);
    }
    for (const TransactionSnapshot& transaction : change.transactions) {
      Encode(transaction).SerializeToString(&value);
      write.Put(TransactionKey(transaction.transaction_id), value);
    }
    for (const std::string& expired : change.expired_transactions) {
      write.Delete(TransactionKey(expired));
    }
    for (const std::string& expired : change.expired_grants) write.Delete(GrantKey(expired));
    for (const GrantSnapshot& grant : change.grants) {
      Encode(grant).SerializeToString(&value);
      write.Put(GrantKey(grant.request.request_id), value);
    }
    for (const DecisionLogEntry& entry : change.log) {
      Encode(entry).SerializeToString(&value);
      write.Put(LogKey(entry.time_ms, boot_, sequence), value);
    }
  }
  rocksdb::WriteOptions options;
  options.sync = options_.sync;
  {
    absl::ReaderMutexLock db_lock(&db_mu_);
    if (db_ != nullptr) {
      rocksdb::Status status = db_->Write(options, &write);
      // A failed write leaves RocksDB refusing writes until it resumes.
      if (!status.ok() && db_->Resume().ok()) status = db_->Write(options, &write);
      if (status.ok() || !retrying) return FromRocks(status, "cannot write the store");
    }
  }
  // Still failing on a retry: start RocksDB afresh, then try once more.
  if (absl::Status reopened = Reopen(); !reopened.ok()) return reopened;
  absl::ReaderMutexLock db_lock(&db_mu_);
  return FromRocks(db_->Write(options, &write), "cannot write the store");
}

void RocksDbStore::WriteLoop() {
  std::deque<std::pair<uint64_t, StateChange>> batch;
  bool failed_before = false;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || stopping_;
      };
      if (batch.empty()) mu_.Await(absl::Condition(&has_work));
      if (batch.empty() && queue_.empty() && stopping_) return;
      // Everything queued so far goes in one batch: the group commit.
      while (!queue_.empty()) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    const absl::Time began = absl::Now();
    const absl::Status written = Write(batch, /*retrying=*/failed_before);
    if (WriteObserver* observer = options_.observer; observer != nullptr) {
      if (written.ok()) {
        if (failed_before) observer->OnWriteRecovered();
        observer->OnBatchWritten(batch.size(), absl::Now() - began);
      } else if (!failed_before) {
        observer->OnWriteFailed(written);
      }
    }
    failed_before = !written.ok();
    // Callbacks run outside the lock, after it: they may call back into the store.
    std::vector<std::pair<uint64_t, DurableCallback>> settled;
    absl::Status outcome;
    bool stop = false;
    {
      absl::MutexLock lock(&mu_);
      if (written.ok()) {
        durable_ = batch.back().first;
        stats_.batches += 1;
        stats_.changes += batch.size();
        failure_ = absl::OkStatus();
        batch.clear();
        auto pending = std::partition(waiters_.begin(), waiters_.end(), [this](const auto& w) {
          mu_.AssertHeld();
          return w.first > durable_;
        });
        std::move(pending, waiters_.end(), std::back_inserter(settled));
        waiters_.erase(pending, waiters_.end());
      } else {
        stats_.failed_writes += 1;
        failure_ = absl::UnavailableError(absl::StrCat(
            written.message(), " — changes are refused until the store can write again"));
        outcome = failure_;
        settled.swap(waiters_);  // as WaitDurable() does, answer with the failure
        stop = stopping_;
      }
    }
    for (auto& [sequence, done] : settled) std::move(done)(outcome);
    if (written.ok()) continue;
    if (stop) return;
    // Keep the batch and try it again after a pause.
    absl::SleepFor(options_.retry_interval);
  }
}

}  // namespace vigil::store
