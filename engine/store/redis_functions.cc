#include "engine/store/redis_functions.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace vigil::store {
namespace {

using redis::Command;
using redis::Reply;

// vigil_commit KEYS: the user's hash, the user's turn key, the slot's outbox, then the records
//   written with the change.
//   ARGV: writer, base token, new token, state, time floor, retention (ms), turn (ms), the
//   number of notices N, N pairs (time, notice), then a kind ("n": must be new, "u": update)
//   and a value for each record.
//   Returns {"OK"}, or {"CONFLICT", token, state, floor, wait, each record's stored value or
//   nil}, where wait is how many ms another writer's turn has left (0: none).
//   Taking turns: a writer refused because the user's token moved is given the user for `turn`
//   ms, in which other writers are refused, so that a node whose calls for the user keep
//   arriving cannot starve the other's (its retry lands inside its turn). Not a writer that a
//   record it had to create already exists for: it answers from that record instead.
// vigil_notify KEYS: a slot's outbox. ARGV: pairs (time, notice). Returns how many.
// vigil_relay KEYS: {notices}, {notices}:meta. ARGV: the slot, then (outbox entry ID, time,
//   notice) for each entry read from its outbox, oldest first. Adds those after the slot's
//   last relayed entry, each with the next cursor; returns {the last cursor, how many it
//   added}.
// vigil_ack KEYS: {notices}:meta, {notices}:acks. ARGV: consumer, cursor. Raises the ack to the
//   cursor; the error "PAST last" for a cursor past the last notice.
// vigil_trim KEYS: {notices}, {notices}:meta. ARGV: before (ms), at most how many to look at.
//   Deletes the oldest notices whose time is before `before`, up to the first kept; returns how
//   many it deleted.
// vigil_lease / vigil_unlease KEYS: {notices}:scans. ARGV: holder (and, to take it, how many ms
//   it lasts). Returns 1 when the holder has it (or gave it back), 0 when another has.
constexpr char kLibrary[] = R"lua(#!lua name=vigil
-- A stream entry ID "MS-SEQ" as two numbers, to compare.
local function id_parts(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end

local function append_notices(outbox, args, first, count)
  for i = 0, count - 1 do
    redis.call('XADD', outbox, '*', 't', args[first + 2 * i], 'n', args[first + 2 * i + 1])
  end
end

local function commit(keys, args)
  local user, turn, outbox = keys[1], keys[2], keys[3]
  local writer = args[1]
  local notices = tonumber(args[8])
  local records = 9 + 2 * notices  -- the first record's kind
  local holder = redis.call('GET', turn)
  local current = redis.call('HGET', user, 't') or ''
  local ok = current == args[2] and (not holder or holder == writer)
  local stored, exists = {}, false
  for i = 4, #keys do
    local value = redis.call('GET', keys[i])
    stored[i - 3] = value
    if value and args[records + 2 * (i - 4)] == 'n' then exists = true end
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
  for i = 4, #keys do
    local value = args[records + 1 + 2 * (i - 4)]
    if stored[i - 3] then
      redis.call('SET', keys[i], value, 'KEEPTTL')
    else
      redis.call('SET', keys[i], value, 'PX', args[6])
    end
  end
  append_notices(outbox, args, 9, notices)
  return {'OK'}
end

local function notify(keys, args)
  append_notices(keys[1], args, 1, #args / 2)
  return #args / 2
end

local function relay(keys, args)
  local stream, meta = keys[1], keys[2]
  local field = 'r:' .. args[1]
  local done_ms, done_seq = id_parts(redis.call('HGET', meta, field) or '0-0')
  local last = tonumber(redis.call('HGET', meta, 'last') or '0')
  local relayed, added = nil, 0
  for i = 2, #args, 3 do
    local ms, seq = id_parts(args[i])
    if ms > done_ms or (ms == done_ms and seq > done_seq) then
      last, added = last + 1, added + 1
      redis.call('XADD', stream, string.format('%d-0', last), 't', args[i + 1], 'n', args[i + 2])
      relayed = args[i]
    end
  end
  if relayed then redis.call('HSET', meta, field, relayed, 'last', string.format('%d', last)) end
  return {last, added}
end

local function ack(keys, args)
  local last = tonumber(redis.call('HGET', keys[1], 'last') or '0')
  local cursor = tonumber(args[2])
  if cursor > last then return redis.error_reply(string.format('PAST %d', last)) end
  local acked = redis.call('HGET', keys[2], args[1])
  if not acked or tonumber(acked) < cursor then redis.call('HSET', keys[2], args[1], args[2]) end
  return 1
end

local function trim(keys, args)
  local stream, meta = keys[1], keys[2]
  local before = tonumber(args[1])
  local through, deleted = nil, 0
  for _, entry in ipairs(redis.call('XRANGE', stream, '-', '+', 'COUNT', args[2])) do
    local fields, time = entry[2], nil
    for j = 1, #fields, 2 do
      if fields[j] == 't' then time = tonumber(fields[j + 1]) end
    end
    if not time or time >= before then break end
    through, deleted = entry[1], deleted + 1
  end
  if not through then return 0 end
  local cursor = id_parts(through)
  redis.call('XTRIM', stream, 'MINID', string.format('%d-0', cursor + 1))
  redis.call('HSET', meta, 'trimmed', string.format('%d', cursor))
  return deleted
end

local function lease(keys, args)
  local holder = redis.call('GET', keys[1])
  if holder and holder ~= args[1] then return 0 end
  redis.call('SET', keys[1], args[1], 'PX', args[2])
  return 1
end

local function unlease(keys, args)
  if redis.call('GET', keys[1]) == args[1] then redis.call('DEL', keys[1]) end
  return 1
end

redis.register_function('vigil_commit', commit)
redis.register_function('vigil_notify', notify)
redis.register_function('vigil_relay', relay)
redis.register_function('vigil_ack', ack)
redis.register_function('vigil_trim', trim)
redis.register_function('vigil_lease', lease)
redis.register_function('vigil_unlease', unlease)
)lua";

}  // namespace

absl::string_view VigilFunctions() { return kLibrary; }

absl::Status LoadFunctions(redis::ClusterClient& cluster) {
  return cluster.CallOnEveryPrimary({"FUNCTION", "LOAD", "REPLACE", kLibrary});
}

bool IsFunctionMissing(const Reply& reply) {
  return reply.is_error() && absl::StartsWith(reply.text, "ERR Function not found");
}

absl::Status ReplyError(absl::string_view what, const Reply& reply) {
  return absl::UnavailableError(absl::StrCat("redis: ", what, ": ", reply.text));
}

absl::StatusOr<std::vector<Reply>> CallFunctions(redis::ClusterClient& cluster,
                                                 absl::string_view key,
                                                 std::vector<Command> batch) {
  absl::StatusOr<std::vector<Reply>> replies = cluster.CallBatch(key, batch);
  if (!replies.ok() || !IsFunctionMissing(replies->front())) return replies;
  // A primary that joined the cluster after this node started.
  absl::StatusOr<Reply> loaded = cluster.Call(key, {"FUNCTION", "LOAD", "REPLACE", kLibrary});
  if (!loaded.ok()) return loaded.status();
  if (loaded->is_error()) return ReplyError("FUNCTION LOAD", *loaded);
  replies = cluster.CallBatch(key, std::move(batch));
  if (replies.ok() && IsFunctionMissing(replies->front())) {
    return absl::UnavailableError(absl::StrCat("redis: ", replies->front().text));
  }
  return replies;
}

absl::StatusOr<Reply> CallFunction(redis::ClusterClient& cluster, absl::string_view key,
                                   Command call) {
  std::vector<Command> batch;
  batch.push_back(std::move(call));
  absl::StatusOr<std::vector<Reply>> replies = CallFunctions(cluster, key, std::move(batch));
  if (!replies.ok()) return replies.status();
  return std::move(replies->front());
}

}  // namespace vigil::store
