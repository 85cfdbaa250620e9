#include "engine/redis/node_connection.h"

#include <sys/time.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "hiredis/hiredis.h"

namespace vigil::redis {
namespace {

// The most commands one batch writes before it reads: bounds a batch's memory and the wait of
// the first caller in it.
constexpr size_t kMaxBatchCommands = 4096;

}  // namespace

NodeConnection::NodeConnection(NodeOptions options)
    : options_(std::move(options)), address_(absl::StrCat(options_.host, ":", options_.port)) {
  thread_ = std::thread(&NodeConnection::Run, this);
}

NodeConnection::~NodeConnection() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
  Disconnect();
}

void NodeConnection::Send(std::vector<Command> commands, BatchDone done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      queue_.push_back(Pending{std::move(commands), std::move(done)});
      return;
    }
  }
  std::move(done)(absl::UnavailableError(absl::StrCat("redis ", address_, ": shutting down")));
}

absl::StatusOr<std::vector<Reply>> NodeConnection::Call(std::vector<Command> commands) {
  absl::Notification done;
  absl::StatusOr<std::vector<Reply>> result;
  Send(std::move(commands), [&](absl::StatusOr<std::vector<Reply>> replies) {
    result = std::move(replies);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

absl::StatusOr<Reply> NodeConnection::Call(Command command) {
  std::vector<Command> commands;
  commands.push_back(std::move(command));
  absl::StatusOr<std::vector<Reply>> replies = Call(std::move(commands));
  if (!replies.ok()) return replies.status();
  return std::move(replies->front());
}

void NodeConnection::Run() {
  std::vector<Pending> batch;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](NodeConnection* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stopping_ || !self->queue_.empty();
          },
          this));
      if (stopping_) {
        batch = std::move(queue_);
        queue_.clear();
        break;
      }
      size_t commands = 0;
      size_t taken = 0;
      while (taken < queue_.size() && (taken == 0 || commands < kMaxBatchCommands)) {
        commands += queue_[taken].commands.size();
        ++taken;
      }
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + static_cast<ptrdiff_t>(taken)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(taken));
    }
    Exchange(batch);
    batch.clear();
  }
  for (Pending& pending : batch) {
    std::move(pending.done)(absl::UnavailableError(absl::StrCat("redis ", address_, ": closed")));
  }
}

void NodeConnection::Exchange(std::vector<Pending>& batch) {
  if (absl::Status connected = EnsureConnected(); !connected.ok()) {
    for (Pending& pending : batch) std::move(pending.done)(connected);
    return;
  }
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const Pending& pending : batch) {
    for (const Command& command : pending.commands) {
      argv.clear();
      lengths.clear();
      for (const std::string& arg : command) {
        argv.push_back(arg.data());
        lengths.push_back(arg.size());
      }
      redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data());
    }
  }
  absl::Status failure;
  for (Pending& pending : batch) {
    if (!failure.ok()) {
      std::move(pending.done)(failure);
      continue;
    }
    std::vector<Reply> replies;
    replies.reserve(pending.commands.size());
    for (size_t i = 0; i < pending.commands.size() && failure.ok(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
        failure = absl::UnavailableError(absl::StrCat(
            "redis ", address_, ": ", context_->errstr[0] != '\0' ? context_->errstr : "no reply"));
        break;
      }
      replies.push_back(Reply::From(*static_cast<redisReply*>(raw)));
      freeReplyObject(raw);
    }
    if (failure.ok()) {
      std::move(pending.done)(std::move(replies));
    } else {
      std::move(pending.done)(failure);
    }
  }
  if (!failure.ok()) Disconnect();
}

absl::Status NodeConnection::EnsureConnected() {
  if (context_ != nullptr) return absl::OkStatus();
  const absl::Time now = absl::Now();
  if (now < next_connect_) {
    return absl::UnavailableError(absl::StrCat("redis ", address_, ": not reachable"));
  }
  next_connect_ = now + options_.reconnect_interval;
  redisContext* context = redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                                  absl::ToTimeval(options_.connect_timeout));
  if (context == nullptr || context->err != 0) {
    const std::string why = context == nullptr ? "cannot allocate" : context->errstr;
    if (context != nullptr) redisFree(context);
    return absl::UnavailableError(absl::StrCat("redis ", address_, ": ", why));
  }
  redisSetTimeout(context, absl::ToTimeval(options_.io_timeout));
  redisEnableKeepAlive(context);
  context_ = context;
  return absl::OkStatus();
}

void NodeConnection::Disconnect() {
  if (context_ != nullptr) redisFree(context_);
  context_ = nullptr;
}

}  // namespace vigil::redis
