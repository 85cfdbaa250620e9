#include "engine/server/notices_service.h"

#include <algorithm>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/codec/codec.h"
#include "engine/server/grpc_status.h"
#include "engine/server/unary.h"

namespace vigil::server {
namespace {

absl::Status ValidateConsumer(absl::string_view consumer) {
  const bool well_formed = !consumer.empty() && consumer.size() <= 128 &&
                           std::all_of(consumer.begin(), consumer.end(), [](char c) {
                             return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                                    c == '.' || c == '_' || c == '-';
                           });
  if (well_formed) return absl::OkStatus();
  return absl::InvalidArgumentError("consumer: expected 1 to 128 letters, digits, '.', '_' or '-'");
}

absl::Status NoOutbox() {
  return absl::FailedPreconditionError(
      "vigild runs without --data-dir: notices are kept only in a store");
}

}  // namespace

// One Watch call. Its fields are guarded by the service's mu_; gRPC is called only outside it.
// The stream is finished only while neither a write nor the pump's read is under way, so that
// neither can outlive it.
class NoticesService::Stream final : public grpc::ServerWriteReactor<v1::Notice> {
 public:
  // `acked`: the consumer's ack, none when it never acked (it starts at the oldest notice kept).
  Stream(NoticesService* service, std::string consumer, std::optional<uint64_t> acked)
      : service_(service),
        consumer_(std::move(consumer)),
        position_(acked.value_or(0)),
        placed_(acked.has_value()) {}

  void OnWriteDone(bool ok) override {
    std::optional<grpc::Status> finish;
    bool write = false;
    {
      absl::MutexLock lock(&service_->mu_);
      writing_ = false;
      if (!ok) End(grpc::Status(grpc::StatusCode::CANCELLED, "the consumer went away"));
      position_ = sent_;
      write = Next(finish);
    }
    Act(write, finish);
    if (!write && !finish.has_value()) service_->Wake();
  }

  void OnCancel() override {
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&service_->mu_);
      End(grpc::Status(grpc::StatusCode::CANCELLED, "the consumer went away"));
      Next(finish);
    }
    Act(false, finish);
  }

  void OnDone() override {
    {
      absl::MutexLock lock(&service_->mu_);
      service_->streams_.erase(this);
    }
    delete this;
  }

  // For the pump: whether it should read for this stream, and from where. Marks it reading.
  bool StartRead(uint64_t last_cursor, uint64_t& after)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(service_->mu_) {
    if (reading_ || writing_ || end_.has_value() || !buffer_.empty()) return false;
    if (position_ >= last_cursor) return false;
    reading_ = true;
    after = position_;
    return true;
  }

  // For the pump: what it read (`read` failed or `notices` in order after `after`). Returns
  // whether to write; `finish` is set when the stream should end.
  bool Read(uint64_t after, const absl::Status& read, std::vector<StoredNotice> notices,
            std::optional<grpc::Status>& finish) ABSL_EXCLUSIVE_LOCKS_REQUIRED(service_->mu_) {
    reading_ = false;
    if (!read.ok()) {
      End(ToGrpc(read));
    } else if (!notices.empty() && placed_ && notices.front().cursor != after + 1) {
      // Cursors have no gaps: the notices between were deleted past retention, unsent.
      const uint64_t lost_through = notices.front().cursor - 1;
      End(grpc::Status(
          grpc::StatusCode::DATA_LOSS,
          absl::StrCat("consumer \"", consumer_, "\" fell behind: the notices after cursor ", after,
                       " up to ", lost_through,
                       " were deleted unsent, past the retention period. Ack cursor ", lost_through,
                       " to go on from the oldest notice kept.")));
    } else {
      for (StoredNotice& notice : notices) buffer_.push_back(std::move(notice));
      // From here on the consumer has a place in the outbox, which retention can overtake.
      if (!notices.empty()) placed_ = true;
    }
    return Next(finish);
  }

  // Ends the stream with `status`: at once if nothing is under way (then `finish` is set, to
  // Act() on after the lock), else when that completes.
  void Refuse(grpc::Status status, std::optional<grpc::Status>& finish)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(service_->mu_) {
    End(std::move(status));
    Next(finish);
  }

  // Starts the write or the finish that Next() chose. Outside the service's lock.
  void Act(bool write, const std::optional<grpc::Status>& finish) {
    if (write) StartWrite(&message_);
    if (finish.has_value()) Finish(*finish);
  }

 private:
  // Ends the stream with `status` as soon as nothing is under way (the first end wins).
  void End(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(service_->mu_) {
    if (!end_.has_value()) end_ = std::move(status);
  }

  // What to do next: write the next buffered notice (true), or finish (`finish` set), or wait.
  bool Next(std::optional<grpc::Status>& finish) ABSL_EXCLUSIVE_LOCKS_REQUIRED(service_->mu_) {
    if (writing_ || reading_ || finished_) return false;
    if (end_.has_value()) {
      finished_ = true;
      finish = *end_;
      return false;
    }
    if (buffer_.empty()) return false;
    StoredNotice& next = buffer_.front();
    message_.Clear();
    codec::Encode(next.notice, message_);
    message_.set_cursor(absl::StrCat(next.cursor));
    sent_ = next.cursor;
    buffer_.pop_front();
    writing_ = true;
    return true;
  }

  NoticesService* const service_;
  const std::string consumer_;
  uint64_t position_;  // the last cursor the consumer was sent (or acked, at the start)
  bool placed_;        // position_ is a notice's: a gap after it is notices lost
  uint64_t sent_ = 0;  // the cursor of the write under way
  std::deque<StoredNotice> buffer_;
  v1::Notice message_;
  bool writing_ = false;
  bool reading_ = false;
  bool finished_ = false;
  std::optional<grpc::Status> end_;
};

NoticesService::NoticesService(NoticeOutbox* outbox) : outbox_(outbox) {
  if (outbox_ == nullptr) return;
  outbox_->SetNoticeListener([this](uint64_t) { Wake(); });
  pump_ = std::thread(&NoticesService::Pump, this);
}

NoticesService::~NoticesService() {
  if (outbox_ == nullptr) return;
  outbox_->SetNoticeListener(nullptr);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  pump_.join();
}

void NoticesService::Stop() {
  std::vector<std::pair<Stream*, grpc::Status>> ending;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    for (Stream* stream : streams_) {
      std::optional<grpc::Status> finish;
      stream->Refuse(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                  "vigild is shutting down; watch again to go on from your ack"),
                     finish);
      if (finish.has_value()) ending.emplace_back(stream, *std::move(finish));
    }
  }
  // A stream with a write or a read under way finishes when it completes.
  for (auto& [stream, status] : ending) stream->Act(false, status);
}

void NoticesService::Wake() {
  absl::MutexLock lock(&mu_);
  wake_ = true;
}

size_t NoticesService::watchers() const {
  absl::MutexLock lock(&mu_);
  return streams_.size();
}

void NoticesService::Pump() {
  struct Due {
    Stream* stream;
    uint64_t after;
  };
  std::vector<Due> due;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return wake_ || stopping_; };
      mu_.Await(absl::Condition(&woken));
      if (stopping_) return;
      wake_ = false;
    }
    // Read after the wake is taken: a notice made after this wakes the pump again.
    const uint64_t last = outbox_->LastNoticeCursor();
    {
      absl::MutexLock lock(&mu_);
      due.clear();
      for (Stream* stream : streams_) {
        uint64_t after = 0;
        if (stream->StartRead(last, after)) due.push_back({stream, after});
      }
    }
    // A stream marked reading is not finished, so it stays alive while it is read for.
    for (const Due& next : due) {
      std::vector<StoredNotice> notices;
      const absl::Status read = outbox_->ReadNotices(next.after, [&](const StoredNotice& stored) {
        notices.push_back(stored);
        return notices.size() < kBatch;
      });
      std::optional<grpc::Status> finish;
      bool write = false;
      {
        absl::MutexLock lock(&mu_);
        write = next.stream->Read(next.after, read, std::move(notices), finish);
      }
      next.stream->Act(write, finish);
    }
  }
}

grpc::ServerWriteReactor<v1::Notice>* NoticesService::Watch(
    grpc::CallbackServerContext*, const v1::WatchNoticesRequest* request) {
  absl::Status refused = outbox_ == nullptr ? NoOutbox() : ValidateConsumer(request->consumer());
  if (refused.ok()) {
    absl::MutexLock lock(&mu_);
    if (closed_) refused = absl::UnavailableError("vigild is shutting down");
  }
  absl::StatusOr<std::optional<uint64_t>> acked;
  if (refused.ok()) {
    acked = outbox_->AckedCursor(request->consumer());
    refused = acked.status();
  }
  if (!refused.ok()) {
    // A stream that ends at once; it deletes itself when done, like any other.
    auto* stream = new Stream(this, request->consumer(), std::nullopt);
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      streams_.insert(stream);
      stream->Refuse(ToGrpc(refused), finish);
    }
    stream->Act(false, finish);
    return stream;
  }
  auto* stream = new Stream(this, request->consumer(), *acked);
  {
    absl::MutexLock lock(&mu_);
    streams_.insert(stream);
    wake_ = true;
  }
  return stream;
}

grpc::ServerUnaryReactor* NoticesService::Ack(grpc::CallbackServerContext* context,
                                              const v1::AckNoticesRequest* request,
                                              v1::AckNoticesResponse*) {
  if (outbox_ == nullptr) return FinishUnary(context, NoOutbox());
  if (absl::Status valid = ValidateConsumer(request->consumer()); !valid.ok()) {
    return FinishUnary(context, valid);
  }
  uint64_t cursor = 0;
  if (!absl::SimpleAtoi(request->cursor(), &cursor) || cursor == 0) {
    return FinishUnary(context, absl::InvalidArgumentError(absl::StrCat(
                                    "cursor: \"", request->cursor(),
                                    "\" is not a notice's cursor (a positive number)")));
  }
  return FinishUnary(context, outbox_->Ack(request->consumer(), cursor));
}

}  // namespace vigil::server
