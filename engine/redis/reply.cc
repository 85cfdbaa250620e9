#include "engine/redis/reply.h"

#include "hiredis/hiredis.h"

namespace vigil::redis {

Reply Reply::From(const redisReply& reply) {
  Reply out;
  switch (reply.type) {
    case REDIS_REPLY_INTEGER:
      out.type = Type::kInteger;
      out.integer = reply.integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      out.type = reply.type == REDIS_REPLY_STRING   ? Type::kString
                 : reply.type == REDIS_REPLY_STATUS ? Type::kStatus
                                                    : Type::kError;
      out.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Type::kArray;
      out.elements.reserve(reply.elements);
      for (size_t i = 0; i < reply.elements; ++i) out.elements.push_back(From(*reply.element[i]));
      break;
    default:
      out.type = Type::kNil;
      break;
  }
  return out;
}

absl::string_view Reply::error_kind() const {
  if (type != Type::kError) return {};
  const absl::string_view text_view(text);
  return text_view.substr(0, text_view.find(' '));
}

}  // namespace vigil::redis
