#include "engine/redis/cluster_client.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "engine/net/address.h"
#include "hiredis/hiredis.h"

namespace vigil::redis {
namespace {

// A node's "host:port". INVALID_ARGUMENT for anything else (port 0 included: a node has one).
absl::StatusOr<net::HostPort> NodeAddress(absl::string_view address) {
  std::optional<net::HostPort> parsed = net::ParseHostPort(address);
  if (!parsed.has_value() || parsed->host.empty() || parsed->port == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", address, "\" is not HOST:PORT (e.g. 127.0.0.1:7000)"));
  }
  return *std::move(parsed);
}

// CLUSTER SLOTS from one node, on a connection of its own: refreshing must not wait behind the
// node's pipeline, nor run on its thread.
absl::StatusOr<Reply> ClusterSlotsFrom(const std::string& address, const NodeOptions& node) {
  absl::StatusOr<net::HostPort> parsed = NodeAddress(address);
  if (!parsed.ok()) return parsed.status();
  redisContext* context = redisConnectWithTimeout(parsed->host.c_str(), parsed->port,
                                                  absl::ToTimeval(node.connect_timeout));
  if (context == nullptr || context->err != 0) {
    const std::string why = context == nullptr ? "cannot allocate" : context->errstr;
    if (context != nullptr) redisFree(context);
    return absl::UnavailableError(absl::StrCat("redis ", address, ": ", why));
  }
  redisSetTimeout(context, absl::ToTimeval(node.io_timeout));
  auto* raw = static_cast<redisReply*>(redisCommand(context, "CLUSTER SLOTS"));
  if (raw == nullptr) {
    const std::string why = context->errstr;
    redisFree(context);
    return absl::UnavailableError(absl::StrCat("redis ", address, ": ", why));
  }
  Reply reply = Reply::From(*raw);
  freeReplyObject(raw);
  redisFree(context);
  if (reply.is_error()) {
    return absl::UnavailableError(absl::StrCat("redis ", address, ": ", reply.text));
  }
  return reply;
}

// A MOVED or ASK error's target, "host:port" (its third word).
std::string RedirectTarget(const Reply& reply) {
  std::vector<std::string> words = absl::StrSplit(reply.text, ' ');
  return words.size() == 3 ? words[2] : std::string();
}

}  // namespace

ClusterClient::ClusterClient(ClusterOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<ClusterClient>> ClusterClient::Connect(ClusterOptions options) {
  if (options.seeds.empty()) {
    return absl::InvalidArgumentError("a Redis Cluster needs at least one seed node, HOST:PORT");
  }
  for (const std::string& seed : options.seeds) {
    if (absl::StatusOr<net::HostPort> parsed = NodeAddress(seed); !parsed.ok()) {
      return parsed.status();
    }
  }
  std::unique_ptr<ClusterClient> client(new ClusterClient(std::move(options)));
  if (absl::Status status = client->ReadSlots(); !status.ok()) return status;
  client->refresher_ = std::thread(&ClusterClient::RefreshLoop, client.get());
  return client;
}

ClusterClient::~ClusterClient() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (refresher_.joinable()) refresher_.join();
  absl::flat_hash_map<std::string, std::unique_ptr<NodeConnection>> nodes;
  {
    absl::MutexLock lock(&mu_);
    nodes = std::move(nodes_);
  }
  nodes.clear();  // fails what is still queued
}

NodeConnection* ClusterClient::Node(const std::string& address) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return nullptr;
  if (auto it = nodes_.find(address); it != nodes_.end()) return it->second.get();
  absl::StatusOr<net::HostPort> parsed = NodeAddress(address);
  if (!parsed.ok()) return nullptr;  // a redirect to an address no node has
  NodeOptions node_options = options_.node;
  node_options.host = std::move(parsed->host);
  node_options.port = parsed->port;
  auto node = std::make_unique<NodeConnection>(std::move(node_options));
  NodeConnection* raw = node.get();
  nodes_.emplace(address, std::move(node));
  return raw;
}

void ClusterClient::Send(absl::string_view key, Command command, Done done) {
  std::vector<Command> commands;
  commands.push_back(std::move(command));
  SendBatch(key, std::move(commands),
            [done = std::move(done)](absl::StatusOr<std::vector<Reply>> replies) mutable {
              if (!replies.ok()) return std::move(done)(replies.status());
              std::move(done)(std::move(replies->front()));
            });
}

void ClusterClient::SendBatch(absl::string_view key, std::vector<Command> commands,
                              BatchDone done) {
  const SlotMap* map = map_.load(std::memory_order_acquire);
  NodeConnection* node = map->owner[KeySlot(key)];
  if (node == nullptr) {
    RequestRefresh();
    return std::move(done)(absl::UnavailableError(
        absl::StrCat("redis cluster: slot ", KeySlot(key), " has no primary")));
  }
  SendTo(node, /*asking=*/false, std::move(commands), std::move(done), 0);
}

void ClusterClient::SendTo(NodeConnection* node, bool asking, std::vector<Command> commands,
                           BatchDone done, int hops) {
  std::vector<Command> sent;
  if (asking) sent.push_back({"ASKING"});
  sent.insert(sent.end(), commands.begin(), commands.end());
  node->Send(std::move(sent), [this, asking, commands = std::move(commands), done = std::move(done),
                               hops](absl::StatusOr<std::vector<Reply>> replies) mutable {
    if (!replies.ok()) {
      RequestRefresh();  // the node may be down, and a replica taking over
      return std::move(done)(replies.status());
    }
    if (asking) replies->erase(replies->begin());  // ASKING's own OK
    const Reply& first = replies->front();
    const absl::string_view kind = first.error_kind();
    if (kind != "MOVED" && kind != "ASK") return std::move(done)(std::move(replies));
    if (kind == "MOVED") RequestRefresh();
    NodeConnection* target = hops < options_.max_redirects ? Node(RedirectTarget(first)) : nullptr;
    if (target == nullptr) {
      return std::move(done)(absl::UnavailableError(absl::StrCat(
          "redis cluster: cannot follow \"", first.text, "\" after ", hops, " redirects")));
    }
    SendTo(target, kind == "ASK", std::move(commands), std::move(done), hops + 1);
  });
}

absl::StatusOr<Reply> ClusterClient::Call(absl::string_view key, Command command) {
  std::vector<Command> commands;
  commands.push_back(std::move(command));
  absl::StatusOr<std::vector<Reply>> replies = CallBatch(key, std::move(commands));
  if (!replies.ok()) return replies.status();
  return std::move(replies->front());
}

absl::StatusOr<std::vector<Reply>> ClusterClient::CallBatch(absl::string_view key,
                                                            std::vector<Command> commands) {
  round_trips_.fetch_add(1, std::memory_order_relaxed);
  absl::Notification done;
  absl::StatusOr<std::vector<Reply>> result;
  SendBatch(key, std::move(commands), [&](absl::StatusOr<std::vector<Reply>> replies) {
    result = std::move(replies);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

absl::Status ClusterClient::CallOnEveryPrimary(const Command& command) {
  for (const std::string& address : primaries()) {
    NodeConnection* node = Node(address);
    if (node == nullptr) return absl::UnavailableError("redis cluster: closing");
    absl::StatusOr<Reply> reply = node->Call(command);
    if (!reply.ok()) return reply.status();
    if (reply->is_error()) {
      return absl::FailedPreconditionError(absl::StrCat("redis ", address, ": ", reply->text));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Reply>> ClusterClient::CallOn(const std::string& address,
                                                         std::vector<Command> commands) {
  NodeConnection* node = Node(address);
  if (node == nullptr)
    return absl::UnavailableError(absl::StrCat("redis ", address, ": no such node"));
  round_trips_.fetch_add(1, std::memory_order_relaxed);
  return node->Call(std::move(commands));
}

std::vector<std::string> ClusterClient::primaries() const {
  const SlotMap* map = map_.load(std::memory_order_acquire);
  std::vector<std::string> addresses;
  for (NodeConnection* node : map->owner) {
    if (node != nullptr) addresses.push_back(node->address());
  }
  std::sort(addresses.begin(), addresses.end());
  addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());
  return addresses;
}

absl::Status ClusterClient::RefreshSlots() { return ReadSlots(); }

absl::Status ClusterClient::ReadSlots() {
  absl::MutexLock read_lock(&read_mu_);
  // Where to ask: the nodes known, then the seeds.
  std::vector<std::string> candidates;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [address, node] : nodes_) candidates.push_back(address);
  }
  candidates.insert(candidates.end(), options_.seeds.begin(), options_.seeds.end());
  absl::Status last = absl::UnavailableError("redis cluster: no node to ask");
  for (const std::string& address : candidates) {
    absl::StatusOr<Reply> slots = ClusterSlotsFrom(address, options_.node);
    if (!slots.ok()) {
      last = slots.status();
      continue;
    }
    auto map = std::make_unique<SlotMap>();
    size_t covered = 0;
    for (const Reply& range : slots->elements) {
      if (range.elements.size() < 3 || range.elements[2].elements.size() < 2) continue;
      const Reply& primary = range.elements[2];
      NodeConnection* node =
          Node(absl::StrCat(primary.elements[0].text, ":", primary.elements[1].integer));
      if (node == nullptr) return absl::UnavailableError("redis cluster: closing");
      const int64_t first = std::clamp<int64_t>(range.elements[0].integer, 0, kSlotCount - 1);
      const int64_t last_slot = std::clamp<int64_t>(range.elements[1].integer, 0, kSlotCount - 1);
      for (int64_t slot = first; slot <= last_slot; ++slot) {
        covered += map->owner[slot] == nullptr;
        map->owner[slot] = node;
      }
    }
    if (covered != kSlotCount) {
      last = absl::UnavailableError(absl::StrCat("redis ", address, ": the cluster covers ",
                                                 covered, " of ", kSlotCount, " slots"));
      continue;
    }
    absl::MutexLock lock(&mu_);
    const SlotMap* current = map_.load(std::memory_order_relaxed);
    if (current == nullptr || current->owner != map->owner) {
      map_.store(map.get(), std::memory_order_release);
      maps_.push_back(std::move(map));
      if (current != nullptr) map_changes_.fetch_add(1, std::memory_order_relaxed);
    }
    return absl::OkStatus();
  }
  return last;
}

void ClusterClient::RequestRefresh() {
  absl::MutexLock lock(&mu_);
  refresh_wanted_ = true;
}

void ClusterClient::RefreshLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](ClusterClient* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
                                 return self->stopping_ || self->refresh_wanted_;
                               },
                               this),
                           absl::Seconds(1));
      if (stopping_) return;
      if (!refresh_wanted_) continue;
      refresh_wanted_ = false;
    }
    (void)ReadSlots();
    absl::SleepFor(options_.min_refresh_interval);
  }
}

}  // namespace vigil::redis
