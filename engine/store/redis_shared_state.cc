#include "engine/store/redis_shared_state.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/store/state_codec.h"

namespace vigil::store {
namespace {

using redis::Command;
using redis::Reply;

// vigil_commit KEYS: the user's hash, the user's turn key, then the records written with it.
//   ARGV: writer, base token, new token, state, time floor, retention (ms), turn (ms), then a
//   kind ("n": must be new, "u": update) and a value for each record.
//   Returns {"OK"}, or {"CONFLICT", token, state, floor, wait, each record's stored value or
//   nil}, where wait is how many ms another writer's turn has left (0: none).
//   Taking turns: a writer refused because the user's token moved is given the user for `turn`
//   ms, in which other writers are refused, so that a node whose calls for the user keep
//   arriving cannot starve the other's (its retry lands inside its turn). Not a writer that a
//   record it had to create already exists for: it answers from that record instead.
constexpr char kLibrary[] = R"lua(#!lua name=vigil
local function commit(keys, args)
  local user, turn = keys[1], keys[2]
  local writer = args[1]
  local holder = redis.call('GET', turn)
  local current = redis.call('HGET', user, 't') or ''
  local ok = current == args[2] and (not holder or holder == writer)
  local stored, exists = {}, false
  for i = 3, #keys do
    local value = redis.call('GET', keys[i])
    stored[i - 2] = value
    if value and args[6 + 2 * (i - 2)] == 'n' then exists = true end
  end
  ok = ok and not exists
  if not ok then
    -- A writer whose new record exists will answer from it, not commit again: no turn.
    if current ~= args[2] and not holder and not exists then
      redis.call('SET', turn, writer, 'PX', args[7])
    end
    local wait = 0
    if holder and holder ~= writer then wait = redis.call('PTTL', turn) end
    local now = redis.call('HMGET', user, 't', 's', 'f')
    local reply = {'CONFLICT', now[1] or '', now[2] or '', now[3] or '0', wait}
    for i = 1, #stored do reply[5 + i] = stored[i] end
    return reply
  end
  redis.call('HSET', user, 't', args[3], 's', args[4], 'f', args[5])
  if holder then redis.call('DEL', turn) end
  for i = 3, #keys do
    local value = args[7 + 2 * (i - 2)]
    if stored[i - 2] then
      redis.call('SET', keys[i], value, 'KEEPTTL')
    else
      redis.call('SET', keys[i], value, 'PX', args[6])
    end
  end
  return {'OK'}
end

redis.register_function('vigil_commit', commit)
)lua";

std::string UserKey(absl::string_view user_id) { return absl::StrCat("{u:", user_id, "}"); }
std::string TurnKey(absl::string_view user_id) { return absl::StrCat("{u:", user_id, "}:turn"); }
std::string TransactionKey(absl::string_view user_id, absl::string_view transaction_id) {
  return absl::StrCat("{u:", user_id, "}:t:", transaction_id);
}
std::string GrantKey(absl::string_view user_id, absl::string_view request_id) {
  return absl::StrCat("{u:", user_id, "}:g:", request_id);
}
std::string ClaimKey(absl::string_view transaction_id) {
  return absl::StrCat("t:", transaction_id);
}
std::string MandateKey(absl::string_view mandate_id) { return absl::StrCat("m:", mandate_id); }

// An error reply as a status: the store refused or failed the command.
absl::Status ReplyError(absl::string_view what, const Reply& reply) {
  return absl::UnavailableError(absl::StrCat("redis: ", what, ": ", reply.text));
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
  if (absl::Status loaded = cluster->CallOnEveryPrimary({"FUNCTION", "LOAD", "REPLACE", kLibrary});
      !loaded.ok()) {
    return loaded;
  }
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
  if (!absl::IsNotFound(committed.status())) return committed;
  // The user's primary has no library: one that joined the cluster after this node started.
  // Nothing was written: load it there, and commit again.
  const std::string user_key = UserKey(write.user_id);
  absl::StatusOr<Reply> loaded =
      cluster_->Call(user_key, {"FUNCTION", "LOAD", "REPLACE", kLibrary});
  if (!loaded.ok()) return loaded.status();
  if (loaded->is_error()) return ReplyError("FUNCTION LOAD", *loaded);
  committed = CommitOnce(write);
  if (absl::IsNotFound(committed.status())) {
    return absl::UnavailableError(committed.status().message());
  }
  return committed;
}

absl::StatusOr<std::optional<SharedState::Conflict>> RedisSharedState::CommitOnce(
    const Write& write) {
  const std::string user_key = UserKey(write.user_id);
  const size_t records = write.transactions.size() + write.grants.size();
  Command call = {"FCALL", "vigil_commit", absl::StrCat(2 + records), user_key,
                  TurnKey(write.user_id)};
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
  absl::StatusOr<std::vector<Reply>> replies = cluster_->CallBatch(user_key, std::move(batch));
  if (!replies.ok()) return replies.status();
  const Reply& reply = replies->front();
  if (reply.is_error() && absl::StartsWith(reply.text, "ERR Function not found")) {
    return absl::NotFoundError(absl::StrCat("redis: vigil_commit: ", reply.text));
  }
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

}  // namespace vigil::store
