#include "engine/rules/limits_policy.h"

#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/core/calendar.h"
#include "engine/core/money.h"
#include "engine/core/status_macros.h"
#include "engine/core/validation.h"
#include "engine/rules/rule_set.h"
#include "yaml-cpp/yaml.h"

namespace vigil::rules {
namespace {

constexpr int64_t kMsPerHour = 60 * 60 * 1000;
constexpr int64_t kMsPerDay = 24 * kMsPerHour;

// The lowest of the caps that are set (non-zero); 0 when none is.
int64_t LowestSetCap(std::initializer_list<int64_t> caps) {
  int64_t lowest = 0;
  for (int64_t cap : caps) {
    if (cap > 0 && (lowest == 0 || cap < lowest)) lowest = cap;
  }
  return lowest;
}

// 64-bit FNV-1a: a stable fingerprint of the policy text for rules_version.
uint64_t Fingerprint(absl::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// Reads typed values out of a YAML document, turning every problem into a Status that says
// where in the file it is.
class Reader {
 public:
  explicit Reader(absl::string_view source) : source_(source) {}

  absl::Status Error(const YAML::Node& node, absl::string_view what) const {
    const YAML::Mark mark = node.Mark();
    return absl::InvalidArgumentError(
        absl::StrCat(source_, ":", mark.line + 1, ":", mark.column + 1, ": ", what));
  }

  // Every key of `map` must be one of `allowed`: a misspelt key must not silently fall back to a
  // default.
  absl::Status ExpectMap(const YAML::Node& map, absl::string_view name,
                         std::initializer_list<absl::string_view> allowed) const {
    if (!map.IsMap()) return Error(map, absl::StrCat("expected \"", name, "\" to be a mapping"));
    for (const auto& entry : map) {
      const std::string key = entry.first.as<std::string>();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        return Error(entry.first,
                     absl::StrCat("unknown key \"", key, "\" in \"", name,
                                  "\"; expected one of: ", absl::StrJoin(allowed, ", ")));
      }
    }
    for (absl::string_view key : allowed) {
      if (!map[std::string(key)]) {
        return Error(map, absl::StrCat("\"", name, "\" is missing the key \"", key, "\""));
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> Text(const YAML::Node& node) const {
    if (!node.IsScalar()) return Error(node, "expected a single value");
    return node.Scalar();
  }

  absl::StatusOr<int64_t> Count(const YAML::Node& node) const {
    VIGIL_ASSIGN_OR_RETURN(std::string text, Text(node));
    int64_t value = 0;
    if (!absl::SimpleAtoi(text, &value) || value < 0) {
      return Error(node, absl::StrCat("expected a whole number >= 0, got \"", text, "\""));
    }
    return value;
  }

  absl::StatusOr<bool> Flag(const YAML::Node& node) const {
    VIGIL_ASSIGN_OR_RETURN(std::string text, Text(node));
    if (text == "true") return true;
    if (text == "false") return false;
    return Error(node, absl::StrCat("expected true or false, got \"", text, "\""));
  }

  // "200 CNY" in the policy currency.
  absl::StatusOr<int64_t> Money(const YAML::Node& node, absl::string_view currency) const {
    VIGIL_ASSIGN_OR_RETURN(std::string text, Text(node));
    absl::StatusOr<std::pair<int64_t, std::string>> money = ParseMoney(text);
    if (!money.ok()) return Error(node, money.status().message());
    if (money->second != currency) {
      return Error(node, absl::StrCat("expected an amount in ", currency, ", got \"", text, "\""));
    }
    if (money->first <= 0) return Error(node, "expected an amount greater than 0");
    return money->first;
  }

  // "90d", "3h", "30m", "45s".
  absl::StatusOr<int64_t> Duration(const YAML::Node& node) const {
    VIGIL_ASSIGN_OR_RETURN(std::string text, Text(node));
    int64_t number = 0;
    const absl::string_view digits = absl::string_view(text).substr(0, text.size() - 1);
    int64_t unit_ms = 0;
    switch (text.empty() ? '\0' : text.back()) {
      case 's':
        unit_ms = 1000;
        break;
      case 'm':
        unit_ms = 60 * 1000;
        break;
      case 'h':
        unit_ms = kMsPerHour;
        break;
      case 'd':
        unit_ms = kMsPerDay;
        break;
      default:
        break;
    }
    if (unit_ms == 0 || !absl::SimpleAtoi(digits, &number) || number <= 0) {
      return Error(node, absl::StrCat("expected a duration such as 90d, 3h, 30m or 45s, got \"",
                                      text, "\""));
    }
    return number * unit_ms;
  }

 private:
  absl::string_view source_;
};

absl::StatusOr<SegmentLimits> ReadSegment(const Reader& reader, const YAML::Node& node,
                                          absl::string_view name, absl::string_view currency) {
  VIGIL_RETURN_IF_ERROR(reader.ExpectMap(node, name,
                                         {"per_txn_cap", "daily_cap", "approvals_1h",
                                          "approvals_3h", "burst_attempts_1h", "notify_always"}));
  SegmentLimits limits;
  VIGIL_ASSIGN_OR_RETURN(limits.per_txn_cap_minor, reader.Money(node["per_txn_cap"], currency));
  VIGIL_ASSIGN_OR_RETURN(limits.daily_cap_minor, reader.Money(node["daily_cap"], currency));
  VIGIL_ASSIGN_OR_RETURN(limits.approvals_1h, reader.Count(node["approvals_1h"]));
  VIGIL_ASSIGN_OR_RETURN(limits.approvals_3h, reader.Count(node["approvals_3h"]));
  VIGIL_ASSIGN_OR_RETURN(limits.burst_attempts_1h, reader.Count(node["burst_attempts_1h"]));
  VIGIL_ASSIGN_OR_RETURN(limits.notify_always, reader.Flag(node["notify_always"]));
  return limits;
}

absl::StatusOr<LimitsConfig> ReadConfig(const Reader& reader, const YAML::Node& root) {
  VIGIL_RETURN_IF_ERROR(reader.ExpectMap(
      root, "policy",
      {"currency", "calendar", "elderly", "mandates", "strong_auth", "velocity", "segments"}));
  LimitsConfig config;
  VIGIL_ASSIGN_OR_RETURN(config.currency, reader.Text(root["currency"]));
  if (absl::Status status = ValidateCurrency("currency", config.currency); !status.ok()) {
    return reader.Error(root["currency"], status.message());
  }

  const YAML::Node calendar = root["calendar"];
  VIGIL_RETURN_IF_ERROR(reader.ExpectMap(calendar, "calendar", {"utc_offset"}));
  VIGIL_ASSIGN_OR_RETURN(std::string offset, reader.Text(calendar["utc_offset"]));
  absl::StatusOr<int64_t> offset_ms = ParseUtcOffset(offset);
  if (!offset_ms.ok()) return reader.Error(calendar["utc_offset"], offset_ms.status().message());
  config.utc_offset_ms = *offset_ms;

  const YAML::Node elderly = root["elderly"];
  VIGIL_RETURN_IF_ERROR(
      reader.ExpectMap(elderly, "elderly", {"min_age", "requires_risk_assessment"}));
  VIGIL_ASSIGN_OR_RETURN(int64_t age, reader.Count(elderly["min_age"]));
  if (age < 1 || age > 150) return reader.Error(elderly["min_age"], "expected an age in 1..150");
  config.elderly_age = static_cast<int>(age);
  VIGIL_ASSIGN_OR_RETURN(config.elderly_requires_risk_assessment,
                         reader.Flag(elderly["requires_risk_assessment"]));

  const YAML::Node mandates = root["mandates"];
  VIGIL_RETURN_IF_ERROR(reader.ExpectMap(mandates, "mandates", {"dormant_after"}));
  VIGIL_ASSIGN_OR_RETURN(config.dormant_after_ms, reader.Duration(mandates["dormant_after"]));

  const YAML::Node strong_auth = root["strong_auth"];
  VIGIL_RETURN_IF_ERROR(reader.ExpectMap(strong_auth, "strong_auth", {"decline_after_failures"}));
  VIGIL_ASSIGN_OR_RETURN(config.strong_auth_failures_decline,
                         reader.Count(strong_auth["decline_after_failures"]));

  const YAML::Node velocity = root["velocity"];
  VIGIL_RETURN_IF_ERROR(reader.ExpectMap(velocity, "velocity", {"buckets_per_window"}));
  VIGIL_ASSIGN_OR_RETURN(int64_t buckets, reader.Count(velocity["buckets_per_window"]));
  if (buckets < 1 || buckets > 360 || kMsPerHour % buckets != 0) {
    return reader.Error(velocity["buckets_per_window"],
                        "expected a divisor of 3,600,000 between 1 and 360");
  }
  config.window_buckets = static_cast<int>(buckets);

  const YAML::Node segments = root["segments"];
  VIGIL_RETURN_IF_ERROR(reader.ExpectMap(segments, "segments", {"standard", "elderly"}));
  VIGIL_ASSIGN_OR_RETURN(config.standard,
                         ReadSegment(reader, segments["standard"], "standard", config.currency));
  VIGIL_ASSIGN_OR_RETURN(config.elderly,
                         ReadSegment(reader, segments["elderly"], "elderly", config.currency));
  return config;
}

}  // namespace

LimitsPolicy::LimitsPolicy(LimitsConfig config, std::string version)
    : config_(std::move(config)), version_(std::move(version)), calendar_(config_.utc_offset_ms) {
  const int buckets = config_.window_buckets;
  // Index order is what Evaluate() reads: approvals 1h, approvals 3h, attempts 1h.
  windows_ = {
      {WindowMetric::kApprovals, WindowShape{kMsPerHour, buckets}},
      {WindowMetric::kApprovals, WindowShape{3 * kMsPerHour, buckets}},
      {WindowMetric::kAttempts, WindowShape{kMsPerHour, buckets}},
  };
  auto reason = [](std::string code, std::string rule_id, std::string message) {
    return Reason{std::move(code), std::move(rule_id), std::move(message)};
  };
  reasons_ = Reasons{
      .no_mandate = reason("NO_MANDATE", "mandate.required",
                           "the user has no password-free mandate for this merchant"),
      .mandate_not_found = reason("MANDATE_NOT_FOUND", "mandate.required",
                                  "the mandate does not exist or is not this user's"),
      .mandate_merchant_mismatch = reason("MANDATE_MERCHANT_MISMATCH", "mandate.required",
                                          "the mandate is for another merchant"),
      .mandate_paused = reason("MANDATE_PAUSED", "mandate.required", "the mandate is paused"),
      .mandate_revoked = reason("MANDATE_REVOKED", "mandate.required", "the mandate is revoked"),
      .mandate_expired = reason("MANDATE_EXPIRED", "mandate.required", "the mandate has expired"),
      .mandate_dormant = reason("MANDATE_DORMANT", "mandate.dormant",
                                "the mandate has not been used for a long time; re-confirm"),
      .currency = reason("CURRENCY_NOT_SUPPORTED", "currency.supported",
                         absl::StrCat("password-free limits are kept in ", config_.currency)),
      .per_txn = reason("PER_TXN_LIMIT", "limits.per_txn",
                        "the amount is above the password-free per-transaction cap"),
      .daily = reason("DAILY_LIMIT", "limits.daily",
                      "the amount would take the user above the password-free daily cap"),
      .mandate_daily = reason("MANDATE_DAILY_LIMIT", "limits.mandate_daily",
                              "the amount would take the mandate above its daily limit"),
      .mandate_monthly = reason("MANDATE_MONTHLY_LIMIT", "limits.mandate_monthly",
                                "the amount would take the mandate above its monthly limit"),
      .velocity_1h = reason("VELOCITY_USER_1H", "velocity.user_1h",
                            "too many password-free approvals for this user in 1 hour"),
      .velocity_3h = reason("VELOCITY_USER_3H", "velocity.user_3h",
                            "too many password-free approvals for this user in 3 hours"),
      .burst_1h = reason("VELOCITY_BURST_1H", "velocity.burst_1h",
                         "far more payment attempts in 1 hour than a person makes"),
      .strong_auth_failures = reason("STRONG_AUTH_FAILURES", "strong_auth.failures",
                                     "strong authentication failed repeatedly"),
      .auto_debit = reason("AUTO_DEBIT_NO_CHALLENGE", "channel.auto_debit",
                           "an automatic debit cannot be challenged, so it is declined"),
  };
}

UserSegment LimitsPolicy::Segment(std::optional<int> age) const {
  UserSegment segment;
  segment.elderly = age.has_value() && *age >= config_.elderly_age;
  const SegmentLimits& limits = LimitsFor(segment);
  segment.per_txn_cap_minor = limits.per_txn_cap_minor;
  segment.daily_cap_minor = limits.daily_cap_minor;
  return segment;
}

const SegmentLimits& LimitsPolicy::LimitsFor(const UserSegment& segment) const {
  return segment.elderly ? config_.elderly : config_.standard;
}

absl::Status LimitsPolicy::CheckGrant(const GrantMandateRequest& request,
                                      const UserSegment& segment,
                                      const UserProfile* profile) const {
  if (segment.elderly && config_.elderly_requires_risk_assessment &&
      (profile == nullptr || !profile->risk_assessment_completed)) {
    return absl::FailedPreconditionError(
        absl::StrCat("user_id: the user is ", config_.elderly_age,
                     " or older and has no completed risk assessment; complete one before granting "
                     "password-free payment"));
  }
  const absl::string_view segment_name = segment.elderly ? "elderly" : "standard";
  if (request.per_txn_limit_minor > segment.per_txn_cap_minor) {
    return absl::InvalidArgumentError(absl::StrCat(
        "per_txn_limit_minor: ", request.per_txn_limit_minor, " is above the policy cap of ",
        segment.per_txn_cap_minor, " for ", segment_name, " users"));
  }
  if (request.daily_limit_minor > segment.daily_cap_minor) {
    return absl::InvalidArgumentError(absl::StrCat(
        "daily_limit_minor: ", request.daily_limit_minor, " is above the policy cap of ",
        segment.daily_cap_minor, " for ", segment_name, " users"));
  }
  return absl::OkStatus();
}

absl::Status LimitsPolicy::CheckProfile(const UserProfile& profile,
                                        const UserSegment& segment) const {
  const absl::string_view segment_name = segment.elderly ? "elderly" : "standard";
  if (profile.per_txn_limit_minor > segment.per_txn_cap_minor) {
    return absl::InvalidArgumentError(absl::StrCat(
        "per_txn_limit_minor: ", profile.per_txn_limit_minor, " is above the policy cap of ",
        segment.per_txn_cap_minor, " for ", segment_name, " users"));
  }
  if (profile.daily_limit_minor > segment.daily_cap_minor) {
    return absl::InvalidArgumentError(absl::StrCat(
        "daily_limit_minor: ", profile.daily_limit_minor, " is above the policy cap of ",
        segment.daily_cap_minor, " for ", segment_name, " users"));
  }
  return absl::OkStatus();
}

const Reason* LimitsPolicy::MandateProblem(const MandateFacts& mandate) const {
  switch (mandate.match) {
    case MandateMatch::kNone:
      return &reasons_.no_mandate;
    case MandateMatch::kUnknownId:
      return &reasons_.mandate_not_found;
    case MandateMatch::kMerchantMismatch:
      return &reasons_.mandate_merchant_mismatch;
    case MandateMatch::kFound:
      break;
  }
  switch (mandate.status) {
    case MandateStatus::kPaused:
      return &reasons_.mandate_paused;
    case MandateStatus::kRevoked:
      return &reasons_.mandate_revoked;
    case MandateStatus::kExpired:
      return &reasons_.mandate_expired;
    case MandateStatus::kActive:
    case MandateStatus::kDormant:
      break;
  }
  return nullptr;
}

Verdict LimitsPolicy::Evaluate(const Facts& facts) const {
  const AuthorizeRequest& request = *facts.request;
  const SegmentLimits& limits = LimitsFor(facts.segment);
  const MandateFacts& mandate = facts.mandate;
  const UserProfile* profile = facts.profile;
  const int64_t amount = request.amount_minor;

  Verdict verdict;
  auto fire = [&verdict](Decision action, const Reason& reason) {
    verdict.hits.push_back(RuleHit{action, &reason});
    verdict.decision = Combine(verdict.decision, action);
  };

  if (const Reason* problem = MandateProblem(mandate); problem != nullptr) {
    fire(Decision::kChallenge, *problem);
  }
  const bool has_mandate = mandate.match == MandateMatch::kFound;
  if (has_mandate && mandate.idle_ms >= config_.dormant_after_ms) {
    fire(Decision::kChallenge, reasons_.mandate_dormant);
  }
  if (request.currency != config_.currency) {
    fire(Decision::kChallenge, reasons_.currency);
  } else {
    const int64_t per_txn_cap =
        LowestSetCap({limits.per_txn_cap_minor, profile ? profile->per_txn_limit_minor : 0,
                      has_mandate ? mandate.per_txn_limit_minor : 0});
    if (amount > per_txn_cap) fire(Decision::kChallenge, reasons_.per_txn);
    const int64_t daily_cap =
        LowestSetCap({limits.daily_cap_minor, profile ? profile->daily_limit_minor : 0});
    if (facts.user_day_used_minor + amount > daily_cap) fire(Decision::kChallenge, reasons_.daily);
    if (has_mandate && mandate.daily_limit_minor > 0 &&
        mandate.day_used_minor + amount > mandate.daily_limit_minor) {
      fire(Decision::kChallenge, reasons_.mandate_daily);
    }
    if (has_mandate && mandate.monthly_limit_minor > 0 &&
        mandate.month_used_minor + amount > mandate.monthly_limit_minor) {
      fire(Decision::kChallenge, reasons_.mandate_monthly);
    }
  }

  // Window order is fixed by the constructor.
  const WindowReading& approvals_1h = facts.windows[0];
  const WindowReading& approvals_3h = facts.windows[1];
  const WindowReading& attempts_1h = facts.windows[2];
  if (approvals_1h.count >= limits.approvals_1h) {
    fire(Decision::kChallenge, reasons_.velocity_1h);
  }
  if (approvals_3h.count >= limits.approvals_3h) {
    fire(Decision::kChallenge, reasons_.velocity_3h);
  }
  if (attempts_1h.count >= limits.burst_attempts_1h) {
    fire(Decision::kDecline, reasons_.burst_1h);
  }
  if (config_.strong_auth_failures_decline > 0 &&
      facts.strong_auth_failures >= config_.strong_auth_failures_decline) {
    fire(Decision::kDecline, reasons_.strong_auth_failures);
  }
  if (request.channel == Channel::kAutoDebit && verdict.decision == Decision::kChallenge) {
    fire(Decision::kDecline, reasons_.auto_debit);
  }

  verdict.notify_user =
      limits.notify_always || (verdict.decision == Decision::kApprove && profile != nullptr &&
                               profile->notify_every_transaction);
  return verdict;
}

absl::StatusOr<std::unique_ptr<LimitsPolicy>> ParseLimitsPolicy(absl::string_view yaml,
                                                                absl::string_view source) {
  const Reader reader(source);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
    absl::StatusOr<LimitsConfig> config = ReadConfig(reader, root);
    if (!config.ok()) return config.status();
    return std::make_unique<LimitsPolicy>(
        *std::move(config),
        absl::StrCat("limits-", absl::Hex(Fingerprint(yaml), absl::kZeroPad16)));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
}

absl::StatusOr<std::unique_ptr<LimitsPolicy>> LoadLimitsPolicy(const std::string& rules_dir) {
  const std::string path = rules_dir + "/policy.yaml";
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError(absl::StrCat(path, ": cannot open the policy file"));
  std::ostringstream text;
  text << file.rdbuf();
  return ParseLimitsPolicy(text.str(), path);
}

absl::StatusOr<std::unique_ptr<const Policy>> LoadRuleSet(const std::string& rules_dir) {
  absl::StatusOr<std::unique_ptr<LimitsPolicy>> policy = LoadLimitsPolicy(rules_dir);
  if (!policy.ok()) return policy.status();
  return std::unique_ptr<const Policy>(*std::move(policy));
}

}  // namespace vigil::rules
