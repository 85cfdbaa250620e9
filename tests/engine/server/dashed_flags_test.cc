#include "engine/server/dashed_flags.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace vigil {
namespace {

std::vector<std::string> Rewrite(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  AcceptDashedFlagNames(static_cast<int>(argv.size()), argv.data());
  return std::vector<std::string>(argv.begin(), argv.end());
}

TEST(AcceptDashedFlagNamesTest, RewritesNamesNotValues) {
  EXPECT_EQ(Rewrite({"vigild", "--data-dir", "/var/lib/vigil-data", "--trust-client-time",
                     "--listen=127.0.0.1:1", "--rules=my-rules/", "-x-y", "--", "--keep-me"}),
            (std::vector<std::string>{"vigild", "--data_dir", "/var/lib/vigil-data",
                                      "--trust_client_time", "--listen=127.0.0.1:1",
                                      "--rules=my-rules/", "-x-y", "--", "--keep-me"}));
  EXPECT_EQ(Rewrite({"vigild", "--data_dir=/a-b"}),
            (std::vector<std::string>{"vigild", "--data_dir=/a-b"}));
}

}  // namespace
}  // namespace vigil
