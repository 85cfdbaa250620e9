#include "engine/store/rocksdb_store.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <iterator>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "engine/codec/codec.h"
#include "engine/core/status_macros.h"
#include "engine/store/state_codec.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"

namespace vigil::store {
namespace {

constexpr char kFormatKey[] = "meta/format";
constexpr char kBootKey[] = "meta/boot";
constexpr char kLastNoticeKey[] = "meta/notices";
constexpr char kTrimmedNoticesKey[] = "meta/notices_trimmed";

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
std::string NoticeKey(uint64_t cursor) { return absl::StrFormat("n/%016x", cursor); }
std::string ConsumerKey(absl::string_view consumer) { return absl::StrCat("consumer/", consumer); }
std::string MarkKey(absl::string_view name) { return absl::StrCat("mark/", name); }
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
  uint64_t notices[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    read = db->Get(rocksdb::ReadOptions(), i == 0 ? kLastNoticeKey : kTrimmedNoticesKey, &value);
    if (read.ok() && !absl::SimpleAtoi(value, &notices[i])) {
      return absl::DataLossError(absl::StrCat(options.path, " has a damaged notice counter"));
    }
  }
  rocksdb::WriteOptions sync;
  sync.sync = true;
  if (absl::Status status =
          FromRocks(db->Put(sync, kBootKey, absl::StrCat(boot)), "cannot write the store");
      !status.ok()) {
    return status;
  }
  return std::unique_ptr<RocksDbStore>(
      new RocksDbStore(std::move(db), options, boot, notices[0], notices[1]));
}

RocksDbStore::RocksDbStore(std::unique_ptr<rocksdb::DB> db, const StoreOptions& options,
                           uint64_t boot, uint64_t last_notice, uint64_t trimmed_through)
    : db_(std::move(db)),
      options_(options),
      boot_(boot),
      last_notice_(last_notice),
      trimmed_through_(trimmed_through) {
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
                                 bool retrying, uint64_t& last_notice) {
  rocksdb::WriteBatch write;
  std::string value;
  uint64_t cursor = last_notice_.load(std::memory_order_relaxed);
  ::vigil::v1::Notice encoded;
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
    for (const Notice& notice : change.notices) {
      encoded.Clear();
      codec::Encode(notice, encoded);
      encoded.SerializeToString(&value);
      write.Put(NoticeKey(++cursor), value);
    }
    for (const auto& [name, mark] : change.marks) write.Put(MarkKey(name), absl::StrCat(mark));
  }
  if (cursor != last_notice_.load(std::memory_order_relaxed)) {
    write.Put(kLastNoticeKey, absl::StrCat(cursor));
  }
  last_notice = cursor;
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
    uint64_t last_notice = 0;
    const absl::Status written = Write(batch, /*retrying=*/failed_before, last_notice);
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
    const bool new_notices =
        written.ok() && last_notice != last_notice_.load(std::memory_order_relaxed);
    {
      absl::MutexLock lock(&mu_);
      if (written.ok()) {
        // Before anyone waiting hears it is durable: its notices are then readable by cursor.
        last_notice_.store(last_notice, std::memory_order_release);
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
    if (new_notices) {
      absl::MutexLock lock(&listener_mu_);
      if (listener_) listener_(last_notice);
    }
    for (auto& [sequence, done] : settled) std::move(done)(outcome);
    if (written.ok()) continue;
    if (stop) return;
    // Keep the batch and try it again after a pause.
    absl::SleepFor(options_.retry_interval);
  }
}

absl::StatusOr<uint64_t> RocksDbStore::ReadNumber(const std::string& key, uint64_t fallback) {
  absl::ReaderMutexLock db_lock(&db_mu_);
  if (db_ == nullptr) return absl::UnavailableError("the store is being reopened; try again");
  std::string value;
  const rocksdb::Status read = db_->Get(rocksdb::ReadOptions(), key, &value);
  if (read.IsNotFound()) return fallback;
  VIGIL_RETURN_IF_ERROR(FromRocks(read, absl::StrCat("cannot read ", key)));
  uint64_t number = 0;
  if (!absl::SimpleAtoi(value, &number)) {
    return absl::DataLossError(absl::StrCat("\"", key, "\" holds \"", value, "\", not a number"));
  }
  return number;
}

absl::Status RocksDbStore::ReadNotices(uint64_t after,
                                       absl::FunctionRef<bool(const StoredNotice&)> sink) {
  absl::ReaderMutexLock db_lock(&db_mu_);
  if (db_ == nullptr) return absl::UnavailableError("the store is being reopened; try again");
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  ::vigil::v1::Notice encoded;
  StoredNotice stored;
  for (it->Seek(NoticeKey(after + 1)); it->Valid() && it->key().starts_with("n/"); it->Next()) {
    absl::StatusOr<Notice> notice =
        encoded.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))
            ? codec::Decode(encoded)
            : absl::DataLossError("not a notice");
    const std::string_view hex = it->key().ToStringView().substr(2);
    if (!notice.ok() ||
        std::from_chars(hex.data(), hex.data() + hex.size(), stored.cursor, 16).ptr !=
            hex.data() + hex.size()) {
      return absl::DataLossError(absl::StrCat("notice \"", it->key().ToString(),
                                              "\" cannot be read: ", notice.status().message()));
    }
    stored.notice = *std::move(notice);
    if (!sink(stored)) break;
  }
  return FromRocks(it->status(), "cannot read the notices");
}

uint64_t RocksDbStore::LastNoticeCursor() const {
  return last_notice_.load(std::memory_order_acquire);
}

uint64_t RocksDbStore::TrimmedThrough() const {
  return trimmed_through_.load(std::memory_order_acquire);
}

absl::Status RocksDbStore::DeleteNoticesBefore(int64_t before_ms) {
  VIGIL_RETURN_IF_ERROR(Ready());
  absl::MutexLock trim_lock(&outbox_mu_);
  // The run of notices from the oldest up to the first one to keep.
  uint64_t last = 0;
  VIGIL_RETURN_IF_ERROR(ReadNotices(trimmed_through_.load(), [&](const StoredNotice& stored) {
    if (stored.notice.time_ms >= before_ms) return false;
    last = stored.cursor;
    return true;
  }));
  if (last == 0) return absl::OkStatus();
  rocksdb::WriteBatch write;
  write.DeleteRange(NoticeKey(0), NoticeKey(last + 1));
  write.Put(kTrimmedNoticesKey, absl::StrCat(last));
  rocksdb::WriteOptions options;
  options.sync = options_.sync;
  absl::ReaderMutexLock db_lock(&db_mu_);
  if (db_ == nullptr) return absl::UnavailableError("the store is being reopened");
  VIGIL_RETURN_IF_ERROR(FromRocks(db_->Write(options, &write), "cannot trim the notices"));
  trimmed_through_.store(last, std::memory_order_release);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<uint64_t>> RocksDbStore::AckedCursor(absl::string_view consumer) {
  constexpr uint64_t kNone = UINT64_MAX;
  VIGIL_ASSIGN_OR_RETURN(const uint64_t acked, ReadNumber(ConsumerKey(consumer), kNone));
  if (acked == kNone) return std::nullopt;
  return acked;
}

absl::Status RocksDbStore::Ack(absl::string_view consumer, uint64_t cursor) {
  if (const uint64_t last = LastNoticeCursor(); cursor > last)
    return AckedPastTheLast(cursor, last);
  VIGIL_RETURN_IF_ERROR(Ready());
  absl::MutexLock lock(&outbox_mu_);
  VIGIL_ASSIGN_OR_RETURN(const std::optional<uint64_t> acked, AckedCursor(consumer));
  if (acked.has_value() && *acked >= cursor) return absl::OkStatus();
  rocksdb::WriteOptions options;
  options.sync = options_.sync;
  absl::ReaderMutexLock db_lock(&db_mu_);
  if (db_ == nullptr) return absl::UnavailableError("the store is being reopened");
  return FromRocks(db_->Put(options, ConsumerKey(consumer), absl::StrCat(cursor)),
                   "cannot record the ack");
}

void RocksDbStore::SetNoticeListener(absl::AnyInvocable<void(uint64_t)> listener) {
  absl::MutexLock lock(&listener_mu_);
  listener_ = std::move(listener);
}

absl::StatusOr<int64_t> RocksDbStore::ReadMark(absl::string_view name) {
  VIGIL_ASSIGN_OR_RETURN(const uint64_t mark, ReadNumber(MarkKey(name), 0));
  return static_cast<int64_t>(mark);
}

}  // namespace vigil::store
