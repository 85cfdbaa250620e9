#pragma once

// ArenaMessages gives each call of a unary callback method its request and response on one
// protobuf Arena, whose first block is part of the per-call holder. Parsing the request and
// filling the answer then take memory by bumping a pointer instead of a heap allocation for
// every string field (a declined Authorize answers with a dozen strings), and the whole lot is
// freed at once when gRPC is done with the call.
//
//   ArenaMessages<v1::AuthorizeRequest, v1::AuthorizeResponse> messages;
//   service.SetMessageAllocatorFor_Authorize(&messages);  // before the server starts
//
// Thread-safe (each call gets its own holder). Must outlive the server that uses it.

#include <cstddef>

#include "google/protobuf/arena.h"
#include "grpcpp/support/message_allocator.h"

namespace vigil::server {

// Arena options whose first block is `block` (`size` bytes, owned by the caller and alive for
// as long as the arena).
inline google::protobuf::ArenaOptions FirstBlock(char* block, size_t size) {
  google::protobuf::ArenaOptions options;
  options.initial_block = block;
  options.initial_block_size = size;
  return options;
}

// A request and its response on one protobuf Arena whose first block is part of this object:
// the messages take memory by bumping a pointer and are freed together. For a client's call as
// for a server's (ArenaMessages).
template <typename Request, typename Response>
struct ArenaPair {
  // Room for a typical request and answer together; a larger pair grows the arena.
  static constexpr size_t kFirstBlockBytes = 2048;

  // Declared before the arena, which uses it from construction to destruction.
  alignas(std::max_align_t) char first_block[kFirstBlockBytes];
  google::protobuf::Arena arena{FirstBlock(first_block, kFirstBlockBytes)};
  Request& request = *google::protobuf::Arena::CreateMessage<Request>(&arena);
  Response& response = *google::protobuf::Arena::CreateMessage<Response>(&arena);
};

template <typename Request, typename Response>
class ArenaMessages final : public grpc::MessageAllocator<Request, Response> {
 public:
  static constexpr size_t kFirstBlockBytes = ArenaPair<Request, Response>::kFirstBlockBytes;

  grpc::MessageHolder<Request, Response>* AllocateMessages() override { return new Holder(); }

 private:
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() {
      this->set_request(&messages_.request);
      this->set_response(&messages_.response);
    }

    void Release() override { delete this; }

   private:
    ArenaPair<Request, Response> messages_;
  };
};

}  // namespace vigil::server
