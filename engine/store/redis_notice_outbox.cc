#include "engine/store/redis_notice_outbox.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/time/clock.h"
#include "engine/codec/codec.h"
#include "engine/core/status_macros.h"
#include "engine/redis/key_slot.h"
#include "engine/store/redis_functions.h"
#include "engine/store/redis_layout.h"
#include "vigil/v1/vigil.pb.h"

namespace vigil::store {
namespace {

using redis::Command;
using redis::Reply;
namespace layout = redis_layout;

// Entries relayed from a slot's outbox at once.
constexpr int kRelayBatch = 256;
// Notices read from {notices} at once, and looked at by one trim.
constexpr int kReadBatch = 64;
constexpr int kTrimBatch = 1000;

// A stream entry's fields {name, value, ...}: the value of `name`, or nullptr.
const std::string* Field(const Reply& fields, absl::string_view name) {
  for (size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
    if (fields.elements[i].text == name) return &fields.elements[i + 1].text;
  }
  return nullptr;
}

// A {notices} entry, [ID, [t, TIME, n, NOTICE]], as a stored notice.
absl::StatusOr<StoredNotice> NoticeOf(const Reply& entry) {
  StoredNotice stored;
  const std::string* bytes = entry.elements.size() == 2 ? Field(entry.elements[1], "n") : nullptr;
  const std::string& id = entry.elements.empty() ? std::string() : entry.elements[0].text;
  ::vigil::v1::Notice encoded;
  if (bytes == nullptr || !absl::SimpleAtoi(id.substr(0, id.find('-')), &stored.cursor) ||
      !encoded.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("redis: notice \"", id, "\" cannot be read"));
  }
  absl::StatusOr<Notice> notice = codec::Decode(encoded);
  if (!notice.ok()) {
    return absl::DataLossError(
        absl::StrCat("redis: notice \"", id, "\" cannot be read: ", notice.status().message()));
  }
  stored.notice = *std::move(notice);
  return stored;
}

// A hash field holding a number; `fallback` when it is not there.
absl::StatusOr<int64_t> NumberIn(const Reply& reply, absl::string_view what, int64_t fallback) {
  if (reply.is_error()) return ReplyError(what, reply);
  if (reply.is_nil()) return fallback;
  int64_t number = 0;
  if (!absl::SimpleAtoi(reply.text, &number)) {
    return absl::DataLossError(absl::StrCat("redis: ", what, " holds \"", reply.text, "\""));
  }
  return number;
}

}  // namespace

RedisNoticeOutbox::RedisNoticeOutbox(redis::ClusterClient* cluster, Options options)
    : cluster_(cluster), options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<RedisNoticeOutbox>> RedisNoticeOutbox::Create(
    redis::ClusterClient* cluster, Options options) {
  std::unique_ptr<RedisNoticeOutbox> outbox(new RedisNoticeOutbox(cluster, std::move(options)));
  VIGIL_RETURN_IF_ERROR(outbox->Refresh());
  if (outbox->options_.relay_interval > absl::ZeroDuration()) {
    outbox->relay_ = std::thread(&RedisNoticeOutbox::Run, outbox.get());
  }
  return outbox;
}

RedisNoticeOutbox::~RedisNoticeOutbox() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (relay_.joinable()) relay_.join();
  if (lease_held_.load()) ReleaseScans();
}

void RedisNoticeOutbox::NoticesWritten(int slot) {
  absl::MutexLock lock(&mu_);
  dirty_.insert(slot);
}

void RedisNoticeOutbox::Run() {
  // At once: a node that died before relaying left its notices in their slots.
  absl::Time next_sweep = absl::InfinitePast();
  bool failed = false;
  while (true) {
    std::vector<int> slots;
    {
      absl::MutexLock lock(&mu_);
      // After a failure the slots it put back wait out the interval too: a cluster that is
      // down is asked again every interval, not as fast as it refuses.
      auto due = [this, failed]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || (!failed && !dirty_.empty());
      };
      mu_.AwaitWithTimeout(absl::Condition(&due), options_.relay_interval);
      if (stopping_) return;
      slots.assign(dirty_.begin(), dirty_.end());
      dirty_.clear();
    }
    absl::Status status = absl::OkStatus();
    if (absl::Now() >= next_sweep) {
      absl::StatusOr<std::vector<int>> found = SlotsWithNotices();
      if (found.ok()) {
        slots.insert(slots.end(), found->begin(), found->end());
        next_sweep = absl::Now() + options_.sweep_interval;
      } else {
        status = found.status();
      }
    }
    std::sort(slots.begin(), slots.end());
    slots.erase(std::unique(slots.begin(), slots.end()), slots.end());
    if (absl::Status relayed = Relay(std::move(slots)); !relayed.ok()) status = relayed;
    if (absl::Status refreshed = Refresh(); !refreshed.ok()) status = refreshed;
    if (absl::Status renewed = RenewLease(); !renewed.ok()) status = renewed;
    failed = !status.ok();
    ReportRelay(status);
  }
}

absl::Status RedisNoticeOutbox::Settle() {
  VIGIL_ASSIGN_OR_RETURN(std::vector<int> slots, SlotsWithNotices());
  {
    absl::MutexLock lock(&mu_);
    slots.insert(slots.end(), dirty_.begin(), dirty_.end());
    dirty_.clear();
  }
  std::sort(slots.begin(), slots.end());
  slots.erase(std::unique(slots.begin(), slots.end()), slots.end());
  VIGIL_RETURN_IF_ERROR(Relay(std::move(slots)));
  VIGIL_RETURN_IF_ERROR(Refresh());
  return RenewLease();
}

void RedisNoticeOutbox::ReportRelay(const absl::Status& status) {
  bool changed = false;
  {
    absl::MutexLock lock(&mu_);
    changed = failing_ != !status.ok();
    failing_ = !status.ok();
  }
  if (changed && options_.on_relay_state) options_.on_relay_state(status);
}

absl::StatusOr<std::vector<int>> RedisNoticeOutbox::SlotsWithNotices() {
  // Every slot's XLEN at once, pipelined to each primary.
  std::vector<absl::StatusOr<Reply>> lengths(redis::kSlotCount);
  absl::BlockingCounter pending(redis::kSlotCount);
  for (int slot = 0; slot < redis::kSlotCount; ++slot) {
    const std::string& key = layout::OutboxKey(slot);
    cluster_->Send(key, {"XLEN", key}, [&lengths, &pending, slot](absl::StatusOr<Reply> reply) {
      lengths[slot] = std::move(reply);
      pending.DecrementCount();
    });
  }
  pending.Wait();
  std::vector<int> slots;
  for (int slot = 0; slot < redis::kSlotCount; ++slot) {
    if (!lengths[slot].ok()) return lengths[slot].status();
    if (lengths[slot]->is_error()) return ReplyError("XLEN", *lengths[slot]);
    if (lengths[slot]->integer > 0) slots.push_back(slot);
  }
  return slots;
}

absl::Status RedisNoticeOutbox::Relay(std::vector<int> slots) {
  for (size_t i = 0; i < slots.size();) {
    absl::StatusOr<size_t> read = RelaySlot(slots[i]);
    if (!read.ok()) {
      absl::MutexLock lock(&mu_);
      dirty_.insert(slots.begin() + i, slots.end());
      return read.status();
    }
    if (*read < static_cast<size_t>(kRelayBatch)) ++i;  // else: more wait in that slot
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> RedisNoticeOutbox::RelaySlot(int slot) {
  const std::string& outbox = layout::OutboxKey(slot);
  VIGIL_ASSIGN_OR_RETURN(
      const Reply entries,
      cluster_->Call(outbox, {"XRANGE", outbox, "-", "+", "COUNT", absl::StrCat(kRelayBatch)}));
  if (entries.is_error()) return ReplyError("XRANGE", entries);
  if (entries.elements.empty()) return 0;
  Command relay = {
      "FCALL",           "vigil_relay", "2", layout::kNoticesKey, layout::kNoticesMetaKey,
      absl::StrCat(slot)};
  Command remove = {"XDEL", outbox};
  for (const Reply& entry : entries.elements) {
    const std::string* time = entry.elements.size() == 2 ? Field(entry.elements[1], "t") : nullptr;
    const std::string* notice =
        entry.elements.size() == 2 ? Field(entry.elements[1], "n") : nullptr;
    if (time == nullptr || notice == nullptr) {
      return absl::DataLossError(
          absl::StrCat("redis: ", outbox, " holds an entry that is not a notice"));
    }
    relay.push_back(entry.elements[0].text);
    relay.push_back(*time);
    relay.push_back(*notice);
    remove.push_back(entry.elements[0].text);
  }
  std::vector<Command> batch;
  batch.push_back(std::move(relay));
  if (options_.wait_replicas > 0) {
    batch.push_back({"WAIT", absl::StrCat(options_.wait_replicas),
                     absl::StrCat(absl::ToInt64Milliseconds(options_.wait_timeout))});
  }
  VIGIL_ASSIGN_OR_RETURN(const std::vector<Reply> replies,
                         CallFunctions(*cluster_, layout::kNoticesKey, std::move(batch)));
  const Reply& relayed = replies.front();
  if (relayed.is_error() || relayed.elements.size() != 2) {
    return ReplyError("vigil_relay", relayed);
  }
  if (options_.wait_replicas > 0 && replies[1].integer < options_.wait_replicas) {
    return absl::UnavailableError(absl::StrCat("redis: a relay reached ", replies[1].integer,
                                               " of ", options_.wait_replicas,
                                               " replicas in time; it is done again later"));
  }
  // Deleted only once relayed: if this node dies in between, the next relay of the slot (this
  // node's or another's) finds them again, and vigil_relay skips them.
  VIGIL_ASSIGN_OR_RETURN(const Reply deleted, cluster_->Call(outbox, std::move(remove)));
  if (deleted.is_error()) return ReplyError("XDEL", deleted);
  relayed_.fetch_add(static_cast<uint64_t>(relayed.elements[1].integer), std::memory_order_relaxed);
  return entries.elements.size();
}

absl::Status RedisNoticeOutbox::Refresh() {
  VIGIL_ASSIGN_OR_RETURN(const Reply meta,
                         cluster_->Call(layout::kNoticesMetaKey,
                                        {"HMGET", layout::kNoticesMetaKey, "last", "trimmed"}));
  if (meta.is_error() || meta.elements.size() != 2) return ReplyError("HMGET", meta);
  VIGIL_ASSIGN_OR_RETURN(const int64_t last, NumberIn(meta.elements[0], "the last cursor", 0));
  VIGIL_ASSIGN_OR_RETURN(const int64_t trimmed,
                         NumberIn(meta.elements[1], "the trimmed cursor", 0));
  trimmed_.store(static_cast<uint64_t>(trimmed), std::memory_order_release);
  const uint64_t before = last_.exchange(static_cast<uint64_t>(last), std::memory_order_acq_rel);
  if (static_cast<uint64_t>(last) > before) {
    absl::MutexLock lock(&listener_mu_);
    if (listener_) listener_(static_cast<uint64_t>(last));
  }
  return absl::OkStatus();
}

absl::Status RedisNoticeOutbox::ReadNotices(uint64_t after,
                                            absl::FunctionRef<bool(const StoredNotice&)> sink) {
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(
        const Reply page,
        cluster_->Call(layout::kNoticesKey, {"XRANGE", layout::kNoticesKey, absl::StrCat(after + 1),
                                             "+", "COUNT", absl::StrCat(kReadBatch)}));
    if (page.is_error()) return ReplyError("XRANGE", page);
    for (const Reply& entry : page.elements) {
      VIGIL_ASSIGN_OR_RETURN(const StoredNotice stored, NoticeOf(entry));
      after = stored.cursor;
      if (!sink(stored)) return absl::OkStatus();
    }
    if (page.elements.size() < static_cast<size_t>(kReadBatch)) return absl::OkStatus();
  }
}

uint64_t RedisNoticeOutbox::LastNoticeCursor() const {
  return last_.load(std::memory_order_acquire);
}

uint64_t RedisNoticeOutbox::TrimmedThrough() const {
  return trimmed_.load(std::memory_order_acquire);
}

absl::Status RedisNoticeOutbox::DeleteNoticesBefore(int64_t before_ms) {
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(
        const Reply deleted,
        CallFunction(*cluster_, layout::kNoticesKey,
                     {"FCALL", "vigil_trim", "2", layout::kNoticesKey, layout::kNoticesMetaKey,
                      absl::StrCat(before_ms), absl::StrCat(kTrimBatch)}));
    if (deleted.is_error()) return ReplyError("vigil_trim", deleted);
    if (deleted.integer < kTrimBatch) return Refresh();
  }
}

absl::StatusOr<std::optional<uint64_t>> RedisNoticeOutbox::AckedCursor(absl::string_view consumer) {
  VIGIL_ASSIGN_OR_RETURN(const Reply acked,
                         cluster_->Call(layout::kNoticesAcksKey,
                                        {"HGET", layout::kNoticesAcksKey, std::string(consumer)}));
  VIGIL_ASSIGN_OR_RETURN(const int64_t cursor, NumberIn(acked, "an ack", -1));
  if (cursor < 0) return std::nullopt;
  return static_cast<uint64_t>(cursor);
}

absl::Status RedisNoticeOutbox::Ack(absl::string_view consumer, uint64_t cursor) {
  VIGIL_ASSIGN_OR_RETURN(
      const Reply acked,
      CallFunction(*cluster_, layout::kNoticesKey,
                   {"FCALL", "vigil_ack", "2", layout::kNoticesMetaKey, layout::kNoticesAcksKey,
                    std::string(consumer), absl::StrCat(cursor)}));
  if (uint64_t last = 0; acked.is_error() && absl::StartsWith(acked.text, "PAST ") &&
                         absl::SimpleAtoi(absl::string_view(acked.text).substr(5), &last)) {
    return AckedPastTheLast(cursor, last);
  }
  if (acked.is_error()) return ReplyError("vigil_ack", acked);
  return absl::OkStatus();
}

void RedisNoticeOutbox::SetNoticeListener(absl::AnyInvocable<void(uint64_t)> listener) {
  absl::MutexLock lock(&listener_mu_);
  listener_ = std::move(listener);
}

absl::StatusOr<int64_t> RedisNoticeOutbox::ReadMark(absl::string_view name) {
  VIGIL_ASSIGN_OR_RETURN(const Reply mark,
                         cluster_->Call(layout::kNoticesMarksKey,
                                        {"HGET", layout::kNoticesMarksKey, std::string(name)}));
  return NumberIn(mark, "a scan's mark", 0);
}

absl::StatusOr<bool> RedisNoticeOutbox::AcquireScans() {
  VIGIL_ASSIGN_OR_RETURN(
      const Reply taken,
      CallFunction(*cluster_, layout::kNoticesScansKey,
                   {"FCALL", "vigil_lease", "1", layout::kNoticesScansKey, options_.holder,
                    absl::StrCat(absl::ToInt64Milliseconds(options_.scan_lease))}));
  if (taken.is_error()) return ReplyError("vigil_lease", taken);
  lease_renewed_ns_.store(absl::GetCurrentTimeNanos(), std::memory_order_relaxed);
  lease_held_.store(taken.integer == 1, std::memory_order_relaxed);
  return taken.integer == 1;
}

void RedisNoticeOutbox::ReleaseScans() {
  lease_held_.store(false, std::memory_order_relaxed);
  // If this fails the lease lapses on its own.
  (void)CallFunction(*cluster_, layout::kNoticesScansKey,
                     {"FCALL", "vigil_unlease", "1", layout::kNoticesScansKey, options_.holder});
}

absl::Status RedisNoticeOutbox::RenewLease() {
  if (!lease_held_.load(std::memory_order_relaxed)) return absl::OkStatus();
  const absl::Duration since = absl::Nanoseconds(absl::GetCurrentTimeNanos() -
                                                 lease_renewed_ns_.load(std::memory_order_relaxed));
  if (since < options_.scan_lease / 3) return absl::OkStatus();
  return AcquireScans().status();
}

}  // namespace vigil::store
