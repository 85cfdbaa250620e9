#include "engine/codec/codec.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "vigil/v1/vigil.pb.h"

namespace vigil::codec {
namespace {

v1::AuthorizeRequest Charge(const std::string& transaction_id) {
  v1::AuthorizeRequest request;
  request.set_transaction_id(transaction_id);
  request.set_user_id("user-with-a-rather-long-id-0001");
  request.set_merchant_id("merchant-7");
  request.set_amount_minor(1234);
  request.set_currency("CNY");
  request.set_channel(v1::QR_CODE);
  return request;
}

TEST(CodecTest, DecodeIntoLeavesNothingOfTheRequestBefore) {
  v1::AuthorizeRequest first = Charge("txn-first-with-a-long-id-000001");
  first.set_mandate_id("mdt_0123456789abcdef");
  first.set_device_id("device-of-the-first-call");
  first.set_merchant_category("5814");
  first.set_funding_source(v1::CREDIT_CARD);
  first.set_event_time_ms(1'795'737'600'000);
  (*first.mutable_attributes())["ip_country"] = "CN";
  (*first.mutable_attributes())["app_version"] = "8.0.1";
  AuthorizeRequest decoded;
  ASSERT_TRUE(DecodeInto(first, decoded).ok());
  ASSERT_EQ(decoded.attributes.size(), 2u);

  v1::AuthorizeRequest second = Charge("txn-second");
  (*second.mutable_attributes())["ip_country"] = "SG";
  ASSERT_TRUE(DecodeInto(second, decoded).ok());

  EXPECT_EQ(decoded.transaction_id, "txn-second");
  EXPECT_EQ(decoded.user_id, "user-with-a-rather-long-id-0001");
  EXPECT_EQ(decoded.mandate_id, "");
  EXPECT_EQ(decoded.device_id, "");
  EXPECT_EQ(decoded.merchant_category, "");
  EXPECT_EQ(decoded.funding_source, FundingSource::kUnspecified);
  EXPECT_EQ(decoded.event_time_ms, 0);
  EXPECT_EQ(decoded.attributes,
            (std::vector<std::pair<std::string, std::string>>{{"ip_country", "SG"}}));
}

TEST(CodecTest, DecodeIntoRejectsAChannelTheApiDoesNotDefine) {
  v1::AuthorizeRequest request = Charge("txn-1");
  request.set_channel(static_cast<v1::Channel>(42));
  AuthorizeRequest decoded;
  const absl::Status status = DecodeInto(request, decoded);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("channel"), std::string::npos) << status;
}

}  // namespace
}  // namespace vigil::codec
