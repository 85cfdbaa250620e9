// The hand-written twin of the shipped rules must decide exactly as the compiled rules do, or
// the benchmark that compares them compares different work.

#include "bench/engine/rules/handwritten_policy.h"

#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/rules/compiler.h"
#include "gtest/gtest.h"

namespace vigil::rules {
namespace {

std::shared_ptr<const CompiledRuleSet> Shipped() {
  CompileOutput output = CompileRuleDirectory(VIGIL_RULES_DIR);
  if (output.rule_set == nullptr) std::abort();
  return std::move(output.rule_set);
}

template <typename T>
T Pick(std::mt19937_64& random, std::initializer_list<T> values) {
  return values.begin()[std::uniform_int_distribution<size_t>(0, values.size() - 1)(random)];
}

std::string Describe(const Verdict& verdict) {
  std::string out = absl::StrCat("decision ", static_cast<int>(verdict.decision), " notify ",
                                 verdict.notify_user, " hits [");
  for (const RuleHit& hit : verdict.hits) {
    absl::StrAppend(&out, hit.reason->rule_id, ":", static_cast<int>(hit.action), " ");
  }
  absl::StrAppend(&out, "] shadow [");
  for (const RuleHit& hit : verdict.shadow_hits) absl::StrAppend(&out, hit.reason->rule_id, " ");
  return absl::StrCat(out, "]");
}

// Charges drawn around every threshold of the shipped rules: amounts near the caps, windows
// near the velocity limits, every mandate state, with and without a profile, elderly or not.
TEST(HandwrittenPolicyTest, DecidesAsTheCompiledShippedRulesOnGeneratedCharges) {
  const std::shared_ptr<const CompiledRuleSet> shipped = Shipped();
  const HandwrittenPolicy handwritten(shipped);
  std::mt19937_64 random(7);
  auto upto = [&](int64_t n) { return std::uniform_int_distribution<int64_t>(0, n)(random); };

  int fired_somewhere = 0;
  for (int i = 0; i < 200'000; ++i) {
    AuthorizeRequest request;
    request.merchant_id =
        Pick<std::string>(random, {"coffee-42", "merchant-under-investigation-001", "shop-7"});
    request.merchant_category =
        Pick<std::string>(random, {"5814", "5816", "7994", "5815", "7995", ""});
    request.currency = Pick<std::string>(random, {"CNY", "CNY", "CNY", "USD"});
    request.channel = Pick<Channel>(
        random, {Channel::kQrCode, Channel::kNfc, Channel::kAutoDebit, Channel::kOnline});
    request.device_id = Pick<std::string>(random, {"", "device-1"});
    request.amount_minor = Pick<int64_t>(random, {1, 9'999, 10'000, 10'001, 19'999, 20'000, 20'001,
                                                  50'000, 100'000, 100'001, upto(300'000)});
    UserProfile profile;
    profile.per_txn_limit_minor = Pick<int64_t>(random, {0, 0, 5'000, 20'000});
    profile.daily_limit_minor = Pick<int64_t>(random, {0, 0, 30'000, 100'000});
    profile.notify_every_transaction = Pick<bool>(random, {false, true});
    const bool has_profile = Pick<bool>(random, {true, true, false});
    const std::optional<int> age =
        has_profile ? std::optional<int>(Pick<int>(random, {25, 59, 60, 80})) : std::nullopt;
    Facts facts;
    facts.request = &request;
    facts.profile = has_profile ? &profile : nullptr;
    facts.age = age;
    facts.segment = shipped->Segment(age);
    facts.user_day_used_minor = Pick<int64_t>(random, {0, 10'000, 40'000, 180'000, upto(250'000)});
    facts.mandate.match =
        Pick<MandateMatch>(random, {MandateMatch::kFound, MandateMatch::kFound, MandateMatch::kNone,
                                    MandateMatch::kUnknownId, MandateMatch::kMerchantMismatch});
    facts.mandate.status = Pick<MandateStatus>(
        random, {MandateStatus::kActive, MandateStatus::kActive, MandateStatus::kPaused,
                 MandateStatus::kRevoked, MandateStatus::kExpired, MandateStatus::kDormant});
    facts.mandate.general = Pick<bool>(random, {true, false});
    facts.mandate.dormant = Pick<bool>(random, {false, false, false, true});
    facts.mandate.per_txn_limit_minor = Pick<int64_t>(random, {0, 0, 5'000, 30'000});
    facts.mandate.daily_limit_minor = Pick<int64_t>(random, {0, 0, 20'000, 60'000});
    facts.mandate.monthly_limit_minor = Pick<int64_t>(random, {0, 0, 100'000, 500'000});
    facts.mandate.day_used_minor = Pick<int64_t>(random, {0, 15'000, 29'000, upto(80'000)});
    facts.mandate.month_used_minor = Pick<int64_t>(random, {0, 90'000, upto(600'000)});
    facts.strong_auth_failures = Pick<int64_t>(random, {0, 0, 2, 3, 4});
    std::vector<WindowReading> readings(shipped->layout().specs().size());
    for (WindowReading& reading : readings) {
      reading.count = Pick<int64_t>(random, {0, 4, 5, 9, 10, 14, 15, 19, 20, 21, 29, 30, upto(40)});
      reading.sum_minor = reading.count * 1'000;
    }
    facts.windows = readings;

    const Verdict expected = shipped->Evaluate(facts);
    const Verdict actual = handwritten.Evaluate(facts);
    ASSERT_EQ(Describe(actual), Describe(expected))
        << "charge " << i << " device \"" << request.device_id << "\" windows " << readings[0].count
        << " " << readings[1].count << " " << readings[2].count << " " << readings[3].count << " "
        << readings[4].count;
    fired_somewhere += !expected.hits.empty() || !expected.shadow_hits.empty();
  }
  // The generator reaches both sides of the rules, not only one.
  EXPECT_GT(fired_somewhere, 1000);
  EXPECT_LT(fired_somewhere, 200'000);
}

}  // namespace
}  // namespace vigil::rules
