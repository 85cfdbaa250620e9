#include "engine/rules/rule_tests.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "engine/core/clock.h"
#include "engine/core/engine.h"
#include "engine/core/money.h"
#include "engine/core/vocabulary.h"
#include "engine/rules/parser.h"
#include "yaml-cpp/yaml.h"

namespace vigil::rules {
namespace {

constexpr char kUser[] = "test-user";

std::vector<std::string> Codes(const std::vector<const Reason*>& reasons) {
  std::vector<std::string> codes;
  for (const Reason* reason : reasons) codes.push_back(reason->code);
  std::sort(codes.begin(), codes.end());
  return codes;
}

struct CaseError {
  YAML::Mark mark;
  std::string message;
};

class CaseRunner {
 public:
  CaseRunner(std::shared_ptr<const CompiledRuleSet> rule_set, const YAML::Node& test)
      : rule_set_(std::move(rule_set)), test_(test), currency_(rule_set_->settings().currency) {}

  // A mistake in the case itself, if any; then Run()'s result means nothing.
  const std::optional<CaseError>& error() const { return error_; }

  // Runs the case; the empty string when it passed, else what differed.
  std::string Run() {
    ExpectKeys(test_, "a test", {"name", "now", "user", "mandate", "history", "txn", "expect"});
    if (!test_["txn"] || !test_["expect"]) Fail(test_, "a test needs \"txn\" and \"expect\"");
    const int64_t now = Now();
    if (error_) return "";
    clock_.SetMs(now);
    EngineOptions options;
    options.trust_client_time = true;
    engine_ = Engine::Create(rule_set_, &clock_, options);
    Profile();
    if (!error_) Mandate(now);
    if (!error_) History(now);
    AuthorizeRequest request = Charge(test_["txn"], "txn");
    if (error_) return "";
    request.event_time_ms = now;
    absl::StatusOr<AuthorizeResponse> response = engine_->Authorize(request);
    if (!response.ok()) return absl::StrCat("Authorize failed: ", response.status().ToString());
    return Compare(*response);
  }

 private:
  // Records the case's first mistake; the case stops at the next check of failed().
  void Fail(const YAML::Node& node, std::string message) {
    if (!error_.has_value()) error_ = CaseError{node.Mark(), std::move(message)};
  }

  void ExpectKeys(const YAML::Node& node, absl::string_view what,
                  std::initializer_list<absl::string_view> allowed) {
    if (!node.IsMap()) {
      Fail(node, absl::StrCat(what, " must be a mapping"));
      return;
    }
    for (const auto& entry : node) {
      const std::string key = entry.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        Fail(entry.first, absl::StrCat("unknown key \"", key, "\" in ", what,
                                       "; expected one of: ", absl::StrJoin(allowed, ", ")));
      }
    }
  }

  std::string Text(const YAML::Node& node, const std::string& fallback = "") {
    if (!node) return fallback;
    if (!node.IsScalar()) {
      Fail(node, "expected a single value");
      return fallback;
    }
    return node.Scalar();
  }

  bool Flag(const YAML::Node& node) {
    const std::string text = Text(node, "false");
    if (text != "true" && text != "false") Fail(node, "expected true or false");
    return text == "true";
  }

  int64_t Money(const YAML::Node& node, const std::string& currency) {
    if (node && !node.IsScalar()) {
      Fail(node, "expected an amount");
      return 0;
    }
    if (!node) return 0;
    absl::StatusOr<std::pair<int64_t, std::string>> money = ParseMoney(Text(node));
    if (!money.ok()) {
      Fail(node, std::string(money.status().message()));
      return 0;
    }
    if (money->second != currency) Fail(node, absl::StrCat("expected an amount in ", currency));
    return money->first;
  }

  int64_t Duration(const YAML::Node& node) {
    if (!node) return 0;
    std::vector<Diagnostic> diagnostics;
    std::unique_ptr<Ast> ast = ParseExpression(Text(node), TextOrigin{}, diagnostics);
    if (ast == nullptr || ast->kind != AstKind::kDuration) {
      Fail(node, "expected a duration such as 30m, 2h or 91d");
      return 0;
    }
    return ast->int_value;
  }

  Channel ParseChannel(const YAML::Node& node) {
    const std::string text = Text(node, "QR_CODE");
    if (const std::optional<Channel> channel = ParseName<Channel>(text)) return *channel;
    Fail(node, absl::StrCat("unknown channel \"", text,
                            "\"; expected one of: ", absl::StrJoin(Names<Channel>(), ", ")));
    return Channel::kUnspecified;
  }

  std::vector<std::string> ExpectedCodes(const YAML::Node& node) {
    std::vector<std::string> codes;
    if (!node.IsSequence()) {
      Fail(node, "expected a list of reason codes, e.g. [PER_TXN_LIMIT]");
      return codes;
    }
    for (const auto& code : node) codes.push_back(Text(code));
    std::sort(codes.begin(), codes.end());
    return codes;
  }

  int64_t Now() {
    // Default: 2026-11-27 10:00 in the rule set's local time.
    if (!test_["now"]) {
      return absl::ToUnixMillis(absl::FromCivil(
          absl::CivilMinute(2026, 11, 27, 10, 0),
          absl::FixedTimeZone(static_cast<int>(rule_set_->settings().utc_offset_ms / 1000))));
    }
    absl::Time time;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, Text(test_["now"]), &time, &error)) {
      Fail(test_["now"],
           absl::StrCat("expected a time such as 2026-11-27T10:00:00+08:00: ", error));
      return 0;
    }
    return absl::ToUnixMillis(time);
  }

  void Profile() {
    const YAML::Node user = test_["user"];
    if (!user) return;
    ExpectKeys(user, "user",
               {"birth_date", "risk_assessment_completed", "own_per_txn_limit", "own_daily_limit",
                "notify_every_transaction"});
    UserProfile profile;
    profile.user_id = kUser;
    profile.birth_date = Text(user["birth_date"]);
    profile.risk_assessment_completed = Flag(user["risk_assessment_completed"]);
    profile.per_txn_limit_minor = Money(user["own_per_txn_limit"], currency_);
    profile.daily_limit_minor = Money(user["own_daily_limit"], currency_);
    profile.notify_every_transaction = Flag(user["notify_every_transaction"]);
    absl::StatusOr<UserProfile> put = engine_->PutUserProfile(profile);
    if (!put.ok()) Fail(user, absl::StrCat("the profile is refused: ", put.status().message()));
  }

  void Mandate(int64_t now) {
    const YAML::Node mandate = test_["mandate"];
    if (mandate && mandate.IsScalar() && mandate.Scalar() == "none") return;
    GrantMandateRequest grant;
    grant.user_id = kUser;
    grant.merchant_id = "*";
    grant.consent = Consent{true, "rule-test", 0, "rule-test"};
    std::string status = "ACTIVE";
    int64_t idle = 0;
    if (mandate) {
      ExpectKeys(
          mandate, "mandate",
          {"merchant_id", "per_txn_limit", "daily_limit", "monthly_limit", "idle", "status"});
      grant.merchant_id = Text(mandate["merchant_id"], "*");
      grant.per_txn_limit_minor = Money(mandate["per_txn_limit"], currency_);
      grant.daily_limit_minor = Money(mandate["daily_limit"], currency_);
      grant.monthly_limit_minor = Money(mandate["monthly_limit"], currency_);
      idle = Duration(mandate["idle"]);
      status = Text(mandate["status"], "ACTIVE");
    }
    // Granted `idle` ago (an expired one a day earlier, ending an hour ago).
    const bool expired = status == "EXPIRED";
    clock_.SetMs(now - idle - (expired ? 24 * 3600 * 1000 : 0));
    grant.consent.consented_at_ms = clock_.NowMs();  // the user consents as the mandate is granted
    if (expired) grant.expires_at_ms = now - 3600 * 1000;
    absl::StatusOr<vigil::Mandate> granted = engine_->GrantMandate(grant);
    if (!granted.ok()) {
      Fail(mandate, absl::StrCat("the grant is refused: ", granted.status().message()));
      return;
    }
    clock_.SetMs(now);
    if (status == "PAUSED") {
      (void)engine_->PauseMandate(granted->mandate_id, kUser);
    } else if (status == "REVOKED") {
      (void)engine_->RevokeMandate(granted->mandate_id, kUser, "rule test");
    } else if (status != "ACTIVE" && !expired) {
      Fail(mandate["status"], "status is ACTIVE, PAUSED, REVOKED or EXPIRED");
    }
  }

  void History(int64_t now) {
    const YAML::Node history = test_["history"];
    if (!history) return;
    if (!history.IsSequence()) {
      Fail(history, "history is a list of earlier charges");
      return;
    }
    int serial = 0;
    for (const auto& entry : history) {
      ExpectKeys(entry, "a history entry",
                 {"ago", "count", "amount", "merchant_id", "merchant_category", "device_id",
                  "channel", "outcome", "spread"});
      int64_t count = 0;
      if (!absl::SimpleAtoi(Text(entry["count"], "1"), &count) || count < 1 || count > 10000) {
        Fail(entry["count"], "count is a whole number from 1 to 10000");
        return;
      }
      const int64_t ago = Duration(entry["ago"]);
      const int64_t spread = Duration(entry["spread"]);  // the charges spread over this long
      // Reported after each charge, when given.
      const std::string outcome_name = Text(entry["outcome"], "");
      const std::optional<Outcome> outcome = ParseName<Outcome>(outcome_name);
      if (!outcome_name.empty() && !outcome.has_value()) {
        Fail(entry["outcome"],
             absl::StrCat("unknown outcome \"", outcome_name,
                          "\"; expected one of: ", absl::StrJoin(Names<Outcome>(), ", ")));
        return;
      }
      for (int64_t i = 0; i < count; ++i) {
        AuthorizeRequest request = Charge(entry, "history");
        request.transaction_id = absl::StrCat("history-", serial++);
        request.event_time_ms = now - ago + (count > 1 ? spread * i / count : 0);
        if (!engine_->Authorize(request).ok()) Fail(entry, "a history charge was refused");
        if (outcome.has_value()) (void)engine_->ReportOutcome(request.transaction_id, *outcome);
      }
    }
  }

  AuthorizeRequest Charge(const YAML::Node& node, absl::string_view what) {
    if (what == "txn") {
      ExpectKeys(node, "txn",
                 {"amount", "currency", "merchant_id", "merchant_category", "device_id", "channel",
                  "mandate_id"});
    }
    const YAML::Node txn = test_["txn"];
    AuthorizeRequest request;
    request.transaction_id = "test-transaction";
    request.user_id = kUser;
    request.currency = Text(node["currency"], currency_);
    if (!node["amount"]) Fail(node, absl::StrCat(what, " needs an amount, e.g. 50 ", currency_));
    request.amount_minor = Money(node["amount"], request.currency);
    // History entries default to the tested charge's merchant and device.
    auto field = [&](const char* key, const std::string& fallback) {
      return node[key] ? Text(node[key]) : (txn[key] ? Text(txn[key]) : fallback);
    };
    request.merchant_id = field("merchant_id", "test-merchant");
    request.merchant_category = field("merchant_category", "");
    request.device_id = field("device_id", "");
    request.channel = ParseChannel(node["channel"] ? node["channel"] : txn["channel"]);
    request.mandate_id = Text(node["mandate_id"], "");
    return request;
  }

  std::string Compare(const AuthorizeResponse& response) {
    const YAML::Node expect = test_["expect"];
    ExpectKeys(expect, "expect", {"decision", "reasons", "shadow_reasons", "notify"});
    std::vector<std::string> differences;
    if (error_) return "";
    if (expect["decision"] && Text(expect["decision"]) != Name(response.decision)) {
      differences.push_back(absl::StrCat("decision ", Name(response.decision), ", expected ",
                                         Text(expect["decision"])));
    }
    for (const auto& [key, reasons] : {std::pair{"reasons", &response.reasons},
                                       std::pair{"shadow_reasons", &response.shadow_reasons}}) {
      if (!expect[key]) continue;
      const std::vector<std::string> got = Codes(*reasons);
      const std::vector<std::string> want = ExpectedCodes(expect[key]);
      if (got != want) {
        differences.push_back(absl::StrCat(key, " [", absl::StrJoin(got, ", "), "], expected [",
                                           absl::StrJoin(want, ", "), "]"));
      }
    }
    if (expect["notify"] && Flag(expect["notify"]) != response.notify_user) {
      differences.push_back(absl::StrCat("notify ", response.notify_user ? "true" : "false",
                                         ", expected ", Text(expect["notify"])));
    }
    return absl::StrJoin(differences, "; ");
  }

  std::shared_ptr<const CompiledRuleSet> rule_set_;
  const YAML::Node test_;
  std::string currency_;
  FakeClock clock_{0};
  std::unique_ptr<Engine> engine_;
  std::optional<CaseError> error_;
};

}  // namespace

RuleTestReport RunRuleTests(std::shared_ptr<const CompiledRuleSet> rule_set,
                            const std::vector<std::pair<std::string, std::string>>& files) {
  RuleTestReport report;
  for (const auto& file : files) {
    const std::string& path = file.first;
    const std::string& text = file.second;
    auto diagnose = [&](const YAML::Mark& mark, std::string message) {
      report.diagnostics.push_back(
          Diagnostic{Severity::kError, path, mark.line + 1, mark.column + 1, std::move(message)});
    };
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      diagnose(e.mark, e.msg);
      continue;
    }
    if (!root.IsMap() || !root["tests"] || !root["tests"].IsSequence()) {
      diagnose(root.Mark(), "a rule test file is a mapping with a \"tests\" list");
      continue;
    }
    for (const auto& test : root["tests"]) {
      RuleTestResult result;
      result.file = path;
      result.line = test.Mark().line + 1;
      try {
        result.name = test["name"] && test["name"].IsScalar()
                          ? test["name"].Scalar()
                          : absl::StrCat("test at line ", result.line);
        CaseRunner runner(rule_set, test);
        result.failure = runner.Run();
        if (runner.error().has_value()) {
          diagnose(runner.error()->mark, runner.error()->message);
          continue;
        }
        result.passed = result.failure.empty();
      } catch (const YAML::Exception& e) {
        diagnose(e.mark, e.msg);
        continue;
      }
      report.results.push_back(std::move(result));
    }
  }
  return report;
}

}  // namespace vigil::rules
