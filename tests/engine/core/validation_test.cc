#include "engine/core/validation.h"

#include <functional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigil {
namespace {

using ::testing::StartsWith;

AuthorizeRequest ValidCharge() {
  AuthorizeRequest request;
  request.transaction_id = "t1";
  request.user_id = "u1";
  request.merchant_id = "m1";
  request.amount_minor = 100;
  request.currency = "CNY";
  return request;
}

TEST(ValidateAuthorizeTest, AcceptsAWellFormedCharge) {
  EXPECT_TRUE(ValidateAuthorize(ValidCharge()).ok());
  AuthorizeRequest longest = ValidCharge();
  longest.transaction_id = std::string(kMaxIdBytes, 't');
  EXPECT_TRUE(ValidateAuthorize(longest).ok());
}

TEST(ValidateAuthorizeTest, NamesTheFieldThatIsWrong) {
  const std::vector<std::pair<std::string, std::function<void(AuthorizeRequest&)>>> cases = {
      {"transaction_id", [](auto& r) { r.transaction_id.clear(); }},
      {"transaction_id", [](auto& r) { r.transaction_id = std::string(129, 't'); }},
      {"transaction_id", [](auto& r) { r.transaction_id = "a\nb"; }},
      {"user_id", [](auto& r) { r.user_id.clear(); }},
      {"merchant_id", [](auto& r) { r.merchant_id.clear(); }},
      {"mandate_id", [](auto& r) { r.mandate_id = std::string(200, 'm'); }},
      {"amount_minor", [](auto& r) { r.amount_minor = 0; }},
      {"currency", [](auto& r) { r.currency = "RMB1"; }},
      {"currency", [](auto& r) { r.currency = "Cny"; }},
      {"merchant_category", [](auto& r) { r.merchant_category = std::string(129, '5'); }},
      {"device_id", [](auto& r) { r.device_id = std::string(129, 'd'); }},
      // A control character anywhere in a long id, DEL included.
      {"device_id", [](auto& r) { r.device_id = std::string(40, 'd') + "\x7f" + "d"; }},
      {"merchant_id", [](auto& r) { r.merchant_id = std::string(33, 'm') + '\0'; }},
      {"event_time_ms", [](auto& r) { r.event_time_ms = -1; }},
      {"attributes",
       [](auto& r) {
         r.attributes.assign(65, {"k", "v"});
       }},
      {"attributes key",
       [](auto& r) {
         r.attributes.push_back({"", "v"});
       }},
      {"attributes[k]",
       [](auto& r) {
         r.attributes.push_back({"k", std::string(1025, 'v')});
       }},
  };
  for (const auto& [field, spoil] : cases) {
    AuthorizeRequest request = ValidCharge();
    spoil(request);
    const absl::Status status = ValidateAuthorize(request);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_THAT(std::string(status.message()), StartsWith(field + ":"));
  }
}

TEST(ValidateProfileTest, ChecksBirthDateAndCaps) {
  UserProfile profile;
  profile.user_id = "u";
  EXPECT_TRUE(ValidateProfile(profile).ok());
  profile.birth_date = "2001-02-29";
  EXPECT_THAT(std::string(ValidateProfile(profile).message()), StartsWith("birth_date:"));
  profile.birth_date = "2000-02-29";
  profile.daily_limit_minor = -1;
  EXPECT_THAT(std::string(ValidateProfile(profile).message()), StartsWith("daily_limit_minor:"));
}

TEST(ValidateGrantTest, ChecksIdsAndLimits) {
  GrantMandateRequest grant;
  grant.user_id = "u";
  grant.merchant_id = "*";
  EXPECT_TRUE(ValidateGrant(grant).ok());
  grant.per_txn_limit_minor = -1;
  EXPECT_THAT(std::string(ValidateGrant(grant).message()), StartsWith("per_txn_limit_minor:"));
  grant.per_txn_limit_minor = 0;
  grant.request_id = std::string(129, 'r');
  EXPECT_THAT(std::string(ValidateGrant(grant).message()), StartsWith("request_id:"));
}

}  // namespace
}  // namespace vigil
