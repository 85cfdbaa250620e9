#include "engine/server/arena_messages.h"

#include <string>

#include "gtest/gtest.h"
#include "vigil/v1/vigil.pb.h"

namespace vigil::server {
namespace {

using Messages = ArenaMessages<v1::AuthorizeRequest, v1::AuthorizeResponse>;

void FillDecline(v1::AuthorizeResponse& response, int reasons) {
  response.set_decision(v1::DECLINE);
  for (int i = 0; i < reasons; ++i) {
    v1::Reason& reason = *response.add_reasons();
    reason.set_code("VELOCITY_BURST_1H");
    reason.set_rule_id("velocity.burst_1h");
    reason.set_message("far more payment attempts in 1 hour than a person makes");
  }
  response.set_decision_id("d_0123456789abc");
  response.set_rules_version("rs-0123456789ab");
}

TEST(ArenaMessagesTest, RequestAndResponseShareOneArenaPerCall) {
  Messages messages;
  auto* first = messages.AllocateMessages();
  auto* second = messages.AllocateMessages();
  ASSERT_NE(first->request()->GetArena(), nullptr);
  EXPECT_EQ(first->request()->GetArena(), first->response()->GetArena());
  EXPECT_NE(first->request()->GetArena(), second->request()->GetArena());
  first->Release();
  second->Release();
}

TEST(ArenaMessagesTest, ATypicalCallFitsInTheFirstBlock) {
  Messages messages;
  auto* holder = messages.AllocateMessages();
  v1::AuthorizeRequest& request = *holder->request();
  request.set_transaction_id("gateway-7f3a9c2e-5b1d-4e8f-a6c0-123456789abc");
  request.set_user_id("user-0000000000123456");
  request.set_merchant_id("merchant-coffee-0042");
  request.set_currency("CNY");
  request.set_device_id("device-9a8b7c6d5e4f3a2b1c0d");
  FillDecline(*holder->response(), 3);
  EXPECT_EQ(holder->response()->GetArena()->SpaceAllocated(), Messages::kFirstBlockBytes);
  holder->Release();
}

TEST(ArenaMessagesTest, ALargeAnswerGrowsTheArena) {
  Messages messages;
  auto* holder = messages.AllocateMessages();
  FillDecline(*holder->response(), 200);
  EXPECT_GT(holder->response()->GetArena()->SpaceAllocated(), Messages::kFirstBlockBytes);
  EXPECT_EQ(holder->response()->reasons_size(), 200);
  EXPECT_EQ(holder->response()->reasons(199).code(), "VELOCITY_BURST_1H");
  holder->Release();  // frees the grown blocks too (the sanitizer build checks)
}

}  // namespace
}  // namespace vigil::server
