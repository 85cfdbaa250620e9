#include "engine/net/policy_authorizer.h"

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigil::net {
namespace {

std::string Policy(const std::string& name) {
  return absl::StrCat(R"({"name": ")", name, R"(", "allow_rules": [{"name": "all"}]})");
}

void Write(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

TEST(PolicyAuthorizerTest, ReloadsAChangedFileAndKeepsItsPolicyWhenTheNewOneIsBroken) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/policy-", ::getpid(), ".json");
  Write(path, Policy("first"));
  absl::StatusOr<std::shared_ptr<PolicyAuthorizer>> authorizer = PolicyAuthorizer::Create(path);
  ASSERT_TRUE(authorizer.ok()) << authorizer.status();
  EXPECT_EQ((*authorizer)->policy_name(), "first");

  absl::StatusOr<bool> reloaded = (*authorizer)->ReloadIfChanged();
  ASSERT_TRUE(reloaded.ok());
  EXPECT_FALSE(*reloaded) << "the same content is not a reload";

  Write(path, Policy("second"));
  reloaded = (*authorizer)->ReloadIfChanged();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_TRUE(*reloaded);
  EXPECT_EQ((*authorizer)->policy_name(), "second");

  Write(path, R"({"name": "third", "allow_rules": [{"sauce": {}}]})");
  reloaded = (*authorizer)->ReloadIfChanged();
  EXPECT_EQ(reloaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reloaded.status().message(), ::testing::HasSubstr(path));
  EXPECT_EQ((*authorizer)->policy_name(), "second") << "a broken policy changes nothing";
}

TEST(PolicyAuthorizerTest, AMissingOrBrokenFileIsAnErrorAtStart) {
  EXPECT_EQ(PolicyAuthorizer::Create("/nonexistent/policy.json").status().code(),
            absl::StatusCode::kNotFound);
  const std::string path = absl::StrCat(::testing::TempDir(), "/broken-", ::getpid(), ".json");
  Write(path, "{");
  EXPECT_EQ(PolicyAuthorizer::Create(path).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vigil::net
