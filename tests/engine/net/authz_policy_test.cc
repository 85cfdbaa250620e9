#include "engine/net/authz_policy.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigil::net {
namespace {

using ::testing::HasSubstr;

AuthzPolicy Parsed(absl::string_view json) {
  absl::StatusOr<AuthzPolicy> policy = AuthzPolicy::Parse(json);
  if (!policy.ok()) {
    std::fprintf(stderr, "a test policy does not parse: %s\n", policy.status().ToString().c_str());
    std::abort();
  }
  return *std::move(policy);
}

bool Allows(const AuthzPolicy& policy, std::vector<absl::string_view> principals,
            absl::string_view path) {
  return policy.Allows(principals, path);
}

TEST(AuthzPolicyTest, AllowsOnlyWhatAnAllowRuleMatches) {
  const AuthzPolicy policy = Parsed(R"({
    "name": "p",
    "allow_rules": [{"name": "gw", "source": {"principals": ["spiffe://vigil/gateway"]},
                     "request": {"paths": ["/vigil.v1.RiskEngine/*"]}}]})");
  EXPECT_TRUE(Allows(policy, {"spiffe://vigil/gateway"}, "/vigil.v1.RiskEngine/Authorize"));
  EXPECT_FALSE(Allows(policy, {"spiffe://vigil/gateway"}, "/vigil.v1.Mandates/GrantMandate"));
  EXPECT_FALSE(Allows(policy, {"spiffe://vigil/app"}, "/vigil.v1.RiskEngine/Authorize"));
  EXPECT_FALSE(Allows(policy, {}, "/vigil.v1.RiskEngine/Authorize"));
  // Any of the caller's identities may match.
  EXPECT_TRUE(Allows(policy, {"DNS:gw.example", "spiffe://vigil/gateway"},
                     "/vigil.v1.RiskEngine/ReportOutcome"));
}

TEST(AuthzPolicyTest, DenyRulesWinOverAllowRules) {
  const AuthzPolicy policy = Parsed(R"({
    "name": "p",
    "deny_rules": [{"source": {"principals": ["*/retired"]}}],
    "allow_rules": [{"source": {"principals": ["spiffe://vigil/*"]}}]})");
  EXPECT_TRUE(Allows(policy, {"spiffe://vigil/app"}, "/any/Path"));
  EXPECT_FALSE(Allows(policy, {"spiffe://vigil/retired"}, "/any/Path"));
}

TEST(AuthzPolicyTest, PatternsMatchExactlyPrefixSuffixOrAnything) {
  const AuthzPolicy policy = Parsed(R"({
    "name": "p",
    "allow_rules": [
      {"source": {"principals": ["exact"]}, "request": {"paths": ["/a/Exact"]}},
      {"source": {"principals": ["*"]}, "request": {"paths": ["*/Suffix", "/prefix/*"]}}]})");
  EXPECT_TRUE(Allows(policy, {"exact"}, "/a/Exact"));
  EXPECT_FALSE(Allows(policy, {"exact2"}, "/a/Exact"));
  EXPECT_FALSE(Allows(policy, {"exact"}, "/a/Exact2"));
  // "*" as a principal is any caller, also one without a certificate.
  EXPECT_TRUE(Allows(policy, {}, "/x/Suffix"));
  EXPECT_TRUE(Allows(policy, {"anyone"}, "/prefix/Method"));
  EXPECT_FALSE(Allows(policy, {"anyone"}, "/x/Other"));
}

TEST(AuthzPolicyTest, RefusesWhatItCannotApplyFaithfully) {
  struct Case {
    const char* json;
    const char* error;
  };
  for (const Case& c : std::vector<Case>{
           {"not json", "not an authorization policy"},
           {R"({"name": "p", "allow_rules": [{"sources": {}}]})", "not an authorization policy"},
           {R"({"allow_rules": [{}]})", "no \"name\""},
           {R"({"name": "p"})", "no \"allow_rules\""},
           {R"({"name": "p", "allow_rules": [{"request": {"paths": ["/a*b"]}}]})",
            "'*' may only stand alone"},
           {R"({"name": "p", "allow_rules": [{"source": {"principals": [""]}}]})", "empty pattern"},
           {R"({"name": "p", "allow_rules": [{"request": {"headers": [{"key": "k"}]}}]})",
            "header rules are not supported"},
       }) {
    SCOPED_TRACE(c.json);
    const absl::StatusOr<AuthzPolicy> policy = AuthzPolicy::Parse(c.json);
    ASSERT_FALSE(policy.ok());
    EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(policy.status().message(), HasSubstr(c.error));
  }
}

TEST(AuthzPolicyTest, TheShippedPolicyLoads) {
  const absl::StatusOr<AuthzPolicy> policy =
      AuthzPolicy::Load(VIGIL_SOURCE_DIR "/config/authz_policy.json");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->name(), "vigil-roles");
  EXPECT_EQ(AuthzPolicy::Load("/nonexistent.json").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace vigil::net
