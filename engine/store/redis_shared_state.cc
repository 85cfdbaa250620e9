#include "engine/store/redis_shared_state.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "engine/codec/codec.h"
#include "engine/store/redis_functions.h"
#include "engine/store/redis_layout.h"
#include "engine/store/state_codec.h"
#include "vigil/v1/vigil.pb.h"

namespace vigil::store {
namespace {

using redis::Command;
using redis::Reply;

using redis_layout::ClaimKey;
using redis_layout::GrantKey;
using redis_layout::MandateKey;
using redis_layout::OutboxKey;
using redis_layout::TransactionKey;
using redis_layout::TurnKey;
using redis_layout::UserKey;
using redis_layout::UserSlot;

// Users read from a primary at once during a scan.
constexpr int kScanPage = 256;

// The notices' values in a function call: time, then vigil.v1.Notice.
void AppendNotices(const std::vector<Notice>& notices, Command& call) {
  ::vigil::v1::Notice encoded;
  for (const Notice& notice : notices) {
    encoded.Clear();
    codec::Encode(notice, encoded);
    call.push_back(absl::StrCat(notice.time_ms));
    call.push_back(encoded.SerializeAsString());
  }
}

template <typename Message>
absl::StatusOr<Message> Parse(absl::string_view what, const std::string& bytes) {
  Message message;
  if (!message.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("redis: ", what, " cannot be read"));
  }
  return message;
}

// A user's record from its token, state and floor as stored ("" state: none yet).
absl::StatusOr<SharedState::UserRecord> UserRecordOf(const std::string& token,
                                                     const std::string& state,
                                                     absl::string_view floor) {
  SharedState::UserRecord record;
  record.token = token;
  if (!floor.empty() && !absl::SimpleAtoi(floor, &record.time_floor_ms)) {
    return absl::DataLossError("redis: a user's time floor cannot be read");
  }
  if (state.empty()) return record;
  absl::StatusOr<v1::UserState> message = Parse<v1::UserState>("a user's state", state);
  if (!message.ok()) return message.status();
  absl::StatusOr<UserSnapshot> user = Decode(*message);
  if (!user.ok()) return user.status();
  record.user = *std::move(user);
  return record;
}

absl::StatusOr<TransactionSnapshot> TransactionOf(const std::string& bytes) {
  absl::StatusOr<v1::TransactionState> message =
      Parse<v1::TransactionState>("a transaction's record", bytes);
  if (!message.ok()) return message.status();
  return Decode(*message);
}

absl::StatusOr<GrantSnapshot> GrantOf(const std::string& bytes) {
  absl::StatusOr<v1::GrantState> message = Parse<v1::GrantState>("a grant's record", bytes);
  if (!message.ok()) return message.status();
  return Decode(*message);
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisSharedState>> RedisSharedState::Create(
    redis::ClusterClient* cluster, RedisSharedStateOptions options) {
  if (absl::Status loaded = LoadFunctions(*cluster); !loaded.ok()) return loaded;
  return std::unique_ptr<RedisSharedState>(new RedisSharedState(cluster, options));
}

absl::StatusOr<SharedState::UserRecord> RedisSharedState::ReadUser(absl::string_view user_id) {
  const std::string key = UserKey(user_id);
  absl::StatusOr<Reply> reply = cluster_->Call(key, {"HMGET", key, "t", "s", "f"});
  if (!reply.ok()) return reply.status();
  if (reply->is_error() || reply->elements.size() != 3) return ReplyError("HMGET", *reply);
  return UserRecordOf(reply->elements[0].text, reply->elements[1].text, reply->elements[2].text);
}

absl::StatusOr<std::optional<TransactionSnapshot>> RedisSharedState::ReadTransaction(
    absl::string_view user_id, absl::string_view transaction_id) {
  const std::string key = TransactionKey(user_id, transaction_id);
  absl::StatusOr<Reply> reply = cluster_->Call(key, {"GET", key});
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) return ReplyError("GET", *reply);
  if (reply->is_nil()) return std::optional<TransactionSnapshot>();
  absl::StatusOr<TransactionSnapshot> transaction = TransactionOf(reply->text);
  if (!transaction.ok()) return transaction.status();
  return std::optional<TransactionSnapshot>(*std::move(transaction));
}

std::shared_ptr<SharedState::Claim> RedisSharedState::StartClaim(absl::string_view transaction_id,
                                                                 absl::string_view user_id) {
  auto claim = std::make_shared<Claim>();
  const std::string key = ClaimKey(transaction_id);
  // SET NX GET: gives the id to the user if it has nobody, and returns whom it had.
  cluster_->Send(key,
                 {"SET", key, std::string(user_id), "NX", "GET", "PX",
                  absl::StrCat(absl::ToInt64Milliseconds(options_.retention))},
                 [claim, transaction_id = std::string(transaction_id),
                  user_id = std::string(user_id)](absl::StatusOr<Reply> reply) {
                   if (!reply.ok()) {
                     claim->Answer(reply.status());
                   } else if (reply->is_nil() ||
                              (reply->type == Reply::Type::kString && reply->text == user_id)) {
                     claim->Answer(absl::OkStatus());  // new, or already this user's
                   } else if (reply->type != Reply::Type::kString) {
                     claim->Answer(ReplyError("SET NX GET", *reply));
                   } else {
                     claim->Answer(absl::AlreadyExistsError(absl::StrCat(
                         "transaction_id: \"", transaction_id,
                         "\" was already used for a different charge (another user)")));
                   }
                 });
  return claim;
}

absl::StatusOr<std::string> RedisSharedState::TransactionOwner(absl::string_view transaction_id) {
  const std::string key = ClaimKey(transaction_id);
  absl::StatusOr<Reply> reply = cluster_->Call(key, {"GET", key});
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) return ReplyError("GET", *reply);
  if (reply->is_nil()) return absl::NotFoundError("no such transaction");
  return reply->text;
}

absl::Status RedisSharedState::SetMandateOwner(absl::string_view mandate_id,
                                               absl::string_view user_id) {
  const std::string key = MandateKey(mandate_id);
  absl::StatusOr<Reply> reply = cluster_->Call(key, {"SET", key, std::string(user_id)});
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) return ReplyError("SET", *reply);
  return absl::OkStatus();
}

absl::StatusOr<std::string> RedisSharedState::MandateOwner(absl::string_view mandate_id) {
  const std::string key = MandateKey(mandate_id);
  absl::StatusOr<Reply> reply = cluster_->Call(key, {"GET", key});
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) return ReplyError("GET", *reply);
  if (reply->is_nil()) return absl::NotFoundError("no such mandate");
  return reply->text;
}

absl::StatusOr<std::optional<SharedState::Conflict>> RedisSharedState::Commit(const Write& write) {
  absl::StatusOr<std::optional<Conflict>> committed = CommitOnce(write);
  // Written, or perhaps written (its reply was lost): the slot's outbox has notices to relay.
  const bool written =
      committed.ok() ? !committed->has_value() : absl::IsUnavailable(committed.status());
  if (written && !write.notices.empty() && options_.outbox != nullptr) {
    options_.outbox->NoticesWritten(UserSlot(write.user_id));
  }
  return committed;
}

absl::StatusOr<std::optional<SharedState::Conflict>> RedisSharedState::CommitOnce(
    const Write& write) {
  const std::string user_key = UserKey(write.user_id);
  const size_t records = write.transactions.size() + write.grants.size();
  Command call = {"FCALL",  "vigil_commit",         absl::StrCat(3 + records),
                  user_key, TurnKey(write.user_id), OutboxKey(UserSlot(write.user_id))};
  for (const Write::TransactionWrite& transaction : write.transactions) {
    call.push_back(TransactionKey(write.user_id, transaction.record.transaction_id));
  }
  for (const GrantSnapshot& grant : write.grants) {
    call.push_back(GrantKey(write.user_id, grant.request.request_id));
  }
  call.push_back(write.writer);
  call.push_back(write.base_token);
  call.push_back(write.new_token);
  call.push_back(Encode(write.user).SerializeAsString());
  call.push_back(absl::StrCat(write.time_floor_ms));
  call.push_back(absl::StrCat(absl::ToInt64Milliseconds(options_.retention)));
  call.push_back(absl::StrCat(absl::ToInt64Milliseconds(options_.turn)));
  call.push_back(absl::StrCat(write.notices.size()));
  AppendNotices(write.notices, call);
  for (const Write::TransactionWrite& transaction : write.transactions) {
    call.push_back(transaction.must_be_new ? "n" : "u");
    call.push_back(Encode(transaction.record).SerializeAsString());
  }
  for (const GrantSnapshot& grant : write.grants) {
    call.push_back("n");
    call.push_back(Encode(grant).SerializeAsString());
  }
  std::vector<Command> batch;
  batch.push_back(std::move(call));
  if (options_.wait_replicas > 0) {
    batch.push_back({"WAIT", absl::StrCat(options_.wait_replicas),
                     absl::StrCat(absl::ToInt64Milliseconds(options_.wait_timeout))});
  }
  absl::StatusOr<std::vector<Reply>> replies = CallFunctions(*cluster_, user_key, std::move(batch));
  if (!replies.ok()) return replies.status();
  const Reply& reply = replies->front();
  if (reply.is_error() || reply.elements.empty()) return ReplyError("vigil_commit", reply);
  if (reply.elements[0].text == "OK") {
    if (options_.wait_replicas > 0 && (*replies)[1].integer < options_.wait_replicas) {
      return absl::UnavailableError(
          absl::StrCat("redis: the commit reached ", (*replies)[1].integer, " of ",
                       options_.wait_replicas, " replicas in time; its fate is unknown"));
    }
    return std::optional<Conflict>();
  }
  if (reply.elements[0].text != "CONFLICT" || reply.elements.size() != 5 + records ||
      reply.elements[4].type != Reply::Type::kInteger) {
    return ReplyError("vigil_commit", reply);
  }
  Conflict conflict;
  absl::StatusOr<UserRecord> user =
      UserRecordOf(reply.elements[1].text, reply.elements[2].text, reply.elements[3].text);
  if (!user.ok()) return user.status();
  conflict.user = *std::move(user);
  conflict.others_turn = absl::Milliseconds(std::max<int64_t>(0, reply.elements[4].integer));
  size_t next = 5;
  for (size_t i = 0; i < write.transactions.size(); ++i, ++next) {
    if (reply.elements[next].is_nil()) {
      conflict.transactions.emplace_back();
      continue;
    }
    absl::StatusOr<TransactionSnapshot> stored = TransactionOf(reply.elements[next].text);
    if (!stored.ok()) return stored.status();
    conflict.transactions.push_back(*std::move(stored));
  }
  for (size_t i = 0; i < write.grants.size(); ++i, ++next) {
    if (reply.elements[next].is_nil()) {
      conflict.grants.emplace_back();
      continue;
    }
    absl::StatusOr<GrantSnapshot> stored = GrantOf(reply.elements[next].text);
    if (!stored.ok()) return stored.status();
    conflict.grants.push_back(*std::move(stored));
  }
  return std::optional<Conflict>(std::move(conflict));
}

absl::Status RedisSharedState::ForEachUser(
    absl::FunctionRef<absl::Status(const std::vector<UserSnapshot>&)> batch) {
  for (const std::string& primary : background_->primaries()) {
    std::string cursor = "0";
    do {
      absl::StatusOr<std::vector<Reply>> scanned =
          background_->CallOn(primary, {{"SCAN", cursor, "MATCH", redis_layout::kUserKeyPattern,
                                         "COUNT", absl::StrCat(kScanPage), "TYPE", "hash"}});
      if (!scanned.ok()) return scanned.status();
      const Reply& page = scanned->front();
      if (page.is_error() || page.elements.size() != 2) return ReplyError("SCAN", page);
      cursor = page.elements[0].text;
      std::vector<Command> reads;
      for (const Reply& key : page.elements[1].elements) reads.push_back({"HGET", key.text, "s"});
      if (reads.empty()) continue;
      absl::StatusOr<std::vector<Reply>> states = background_->CallOn(primary, reads);
      if (!states.ok()) return states.status();
      std::vector<UserSnapshot> users;
      for (size_t i = 0; i < states->size(); ++i) {
        const Reply& state = (*states)[i];
        // MOVED: the user's slot went to another primary after the SCAN; nil: not a user.
        if (state.error_kind() == "MOVED" || state.error_kind() == "ASK" || state.is_nil()) {
          continue;
        }
        if (state.is_error()) return ReplyError("HGET", state);
        absl::StatusOr<UserRecord> record = UserRecordOf("", state.text, "");
        if (!record.ok()) return record.status();
        if (!record->user.has_value()) continue;
        if (record->user->user_id.empty()) {
          record->user->user_id = std::string(redis_layout::UserIdOfKey(reads[i][1]));
        }
        users.push_back(*std::move(record->user));
      }
      if (!users.empty()) {
        if (absl::Status status = batch(users); !status.ok()) return status;
      }
    } while (cursor != "0");
  }
  return absl::OkStatus();
}

absl::Status RedisSharedState::Notify(std::vector<Notice> notices) {
  // One call per slot, in the notices' order within it; all sent at once.
  std::map<int, std::vector<Notice>> by_slot;
  for (Notice& notice : notices) by_slot[UserSlot(notice.user_id)].push_back(std::move(notice));
  struct Sent {
    int slot;
    Command call;
    absl::StatusOr<Reply> reply;
  };
  std::vector<Sent> sent;
  sent.reserve(by_slot.size());
  for (const auto& [slot, some] : by_slot) {
    Command call = {"FCALL", "vigil_notify", "1", OutboxKey(slot)};
    AppendNotices(some, call);
    sent.push_back({slot, std::move(call), absl::UnknownError("not answered")});
  }
  absl::BlockingCounter pending(static_cast<int>(sent.size()));
  for (Sent& one : sent) {
    background_->Send(OutboxKey(one.slot), one.call, [&one, &pending](absl::StatusOr<Reply> reply) {
      one.reply = std::move(reply);
      pending.DecrementCount();
    });
  }
  pending.Wait();
  for (Sent& one : sent) {
    if (one.reply.ok() && IsFunctionMissing(*one.reply)) {
      one.reply = CallFunction(*background_, OutboxKey(one.slot), std::move(one.call));
    }
    if (options_.outbox != nullptr) options_.outbox->NoticesWritten(one.slot);
  }
  for (const Sent& one : sent) {
    if (!one.reply.ok()) return one.reply.status();
    if (one.reply->is_error()) return ReplyError("vigil_notify", *one.reply);
  }
  return absl::OkStatus();
}

absl::Status RedisSharedState::SetMark(absl::string_view name, int64_t value) {
  absl::StatusOr<Reply> reply = background_->Call(
      redis_layout::kNoticesMarksKey,
      {"HSET", redis_layout::kNoticesMarksKey, std::string(name), absl::StrCat(value)});
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) return ReplyError("HSET", *reply);
  return absl::OkStatus();
}

}  // namespace vigil::store
