#include "engine/codec/codec.h"

#include <string>
#include <utility>
#include <vector>

#include "engine/core/vocabulary.h"
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

// The core's names of its enums (engine/core/vocabulary.h) are the API's, value for value: what
// the codec turns a value into is the enum value of that name, and every API value but
// *_UNSPECIFIED (which the core has only for channels and funding sources) has a name.
TEST(VocabularyTest, EveryNameIsTheApisNameOfTheSameValue) {
  for (absl::string_view name : Names<Channel>()) {
    AuthorizeRequest request;
    request.channel = *ParseName<Channel>(name);
    v1::AuthorizeRequest encoded;
    Encode(request, encoded);
    EXPECT_EQ(v1::Channel_Name(encoded.channel()), name);
  }
  EXPECT_EQ(Names<Channel>().size(), static_cast<size_t>(v1::Channel_descriptor()->value_count()));

  for (absl::string_view name : Names<FundingSource>()) {
    AuthorizeRequest request;
    request.funding_source = *ParseName<FundingSource>(name);
    v1::AuthorizeRequest encoded;
    Encode(request, encoded);
    EXPECT_EQ(v1::FundingSource_Name(encoded.funding_source()), name);
  }
  EXPECT_EQ(Names<FundingSource>().size(),
            static_cast<size_t>(v1::FundingSource_descriptor()->value_count()));

  for (absl::string_view name : Names<Decision>()) {
    AuthorizeResponse response;
    response.decision = *ParseName<Decision>(name);
    v1::AuthorizeResponse encoded;
    Encode(response, encoded);
    EXPECT_EQ(v1::Decision_Name(encoded.decision()), name);
  }
  EXPECT_EQ(Names<Decision>().size() + 1,
            static_cast<size_t>(v1::Decision_descriptor()->value_count()));

  for (absl::string_view name : Names<Outcome>()) {
    EXPECT_EQ(v1::Outcome_Name(Encode(*ParseName<Outcome>(name))), name);
  }
  EXPECT_EQ(Names<Outcome>().size() + 1,
            static_cast<size_t>(v1::Outcome_descriptor()->value_count()));

  for (absl::string_view name : Names<MandateStatus>()) {
    Mandate mandate;
    mandate.status = *ParseName<MandateStatus>(name);
    v1::Mandate encoded;
    Encode(mandate, encoded);
    EXPECT_EQ(v1::MandateStatus_Name(encoded.status()), name);
  }
  EXPECT_EQ(Names<MandateStatus>().size() + 1,
            static_cast<size_t>(v1::MandateStatus_descriptor()->value_count()));
}

TEST(VocabularyTest, NamesParseBackAndAnythingElseDoesNot) {
  EXPECT_EQ(Name(Channel::kAutoDebit), "AUTO_DEBIT");
  EXPECT_EQ(ParseName<Channel>("AUTO_DEBIT"), Channel::kAutoDebit);
  EXPECT_EQ(ParseName<Decision>("APPROVE"), Decision::kApprove);
  EXPECT_EQ(ParseName<Outcome>("STRONG_AUTH_PASSED"), Outcome::kStrongAuthPassed);
  EXPECT_EQ(ParseName<Channel>("auto_debit"), std::nullopt);
  EXPECT_EQ(ParseName<Channel>("AUTO_DEBT"), std::nullopt);
  EXPECT_EQ(ParseName<Outcome>(""), std::nullopt);
  EXPECT_EQ(Name(static_cast<Decision>(0)), "");
  EXPECT_EQ(Name(static_cast<Channel>(99)), "");
}

}  // namespace
}  // namespace vigil::codec
