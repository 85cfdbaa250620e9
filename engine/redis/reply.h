#pragma once

// A Redis reply as a value: what hiredis parsed, copied out of its buffers so that it can cross
// threads and outlive the connection. RESP2's types.
//
// A plain value type; thread-compatible.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

struct redisReply;

namespace vigil::redis {

struct Reply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };

  Type type = Type::kNil;
  int64_t integer = 0;          // kInteger
  std::string text;             // kString, kStatus, kError
  std::vector<Reply> elements;  // kArray

  static Reply From(const redisReply& reply);
  static Reply Error(std::string message) { return Reply{Type::kError, 0, std::move(message), {}}; }

  bool is_error() const { return type == Type::kError; }
  bool is_nil() const { return type == Type::kNil; }
  // An error reply's first word: "MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN", "ERR"...
  absl::string_view error_kind() const;
};

}  // namespace vigil::redis
