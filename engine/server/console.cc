#include "engine/server/console.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/core/calendar.h"
#include "engine/core/vocabulary.h"
#include "engine/rules/compiled_rule_set.h"
#include "engine/server/console_assets.h"
#include "engine/server/log.h"
#include "nlohmann/json.hpp"

namespace vigil::server {
namespace {

using nlohmann::json;

constexpr int64_t kHourMs = 3'600'000;
// The user view's recent decisions: this many, found among at most kScannedEntries of the
// newest log entries (a bounded look, on the admin loop).
constexpr size_t kRecentDecisions = 20;
constexpr size_t kScannedEntries = 200'000;
constexpr size_t kTopReasons = 10;
constexpr char kRevokePath[] = "/vigil.v1.Mandates/RevokeMandate";

AdminHttp::Reply Json(int status, const json& body) {
  return AdminHttp::Reply{status, "application/json", body.dump()};
}

AdminHttp::Reply Error(int status, absl::string_view message) {
  return Json(status, json{{"error", message}});
}

int HttpStatusOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
      return 400;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

std::array<unsigned char, 32> Sha256(absl::string_view text) {
  std::array<unsigned char, 32> digest{};
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr);
  return digest;
}

json ReasonsJson(const std::vector<const Reason*>& reasons) {
  json out = json::array();
  for (const Reason* reason : reasons) {
    out.push_back(
        {{"code", reason->code}, {"rule_id", reason->rule_id}, {"message", reason->message}});
  }
  return out;
}

json MandateJson(const Mandate& mandate) {
  return {{"mandate_id", mandate.mandate_id},
          {"merchant_id", mandate.merchant_id},
          {"status", std::string(Name(mandate.status))},
          {"per_txn_limit_minor", mandate.per_txn_limit_minor},
          {"daily_limit_minor", mandate.daily_limit_minor},
          {"monthly_limit_minor", mandate.monthly_limit_minor},
          {"expires_at_ms", mandate.expires_at_ms},
          {"created_at_ms", mandate.created_at_ms},
          {"last_used_at_ms", mandate.last_used_at_ms},
          {"revoked_at_ms", mandate.revoked_at_ms},
          {"revoke_reason", mandate.revoke_reason},
          {"consent",
           {{"terms_version", mandate.consent.terms_version},
            {"channel", mandate.consent.channel},
            {"consented_at_ms", mandate.consent.consented_at_ms}}}};
}

// A path segment with its %XX escapes decoded (the page sends user ids through
// encodeURIComponent); nullopt for a malformed escape.
std::optional<std::string> PercentDecoded(absl::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '%') {
      out.push_back(segment[i]);
      continue;
    }
    if (i + 2 >= segment.size() || !absl::ascii_isxdigit(segment[i + 1]) ||
        !absl::ascii_isxdigit(segment[i + 2])) {
      return std::nullopt;
    }
    out += absl::HexStringToBytes(segment.substr(i + 1, 2));
    i += 2;
  }
  return out;
}

absl::string_view ContentType(absl::string_view name) {
  if (absl::EndsWith(name, ".html")) return "text/html; charset=utf-8";
  if (absl::EndsWith(name, ".js")) return "text/javascript; charset=utf-8";
  if (absl::EndsWith(name, ".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace

absl::StatusOr<std::unique_ptr<Console>> Console::Create(ConsoleSources sources,
                                                         ConsoleOptions options) {
  std::vector<Token> tokens;
  if (!options.tokens_file.empty()) {
    std::ifstream file(options.tokens_file);
    if (!file) {
      return absl::NotFoundError(
          absl::StrCat("--console-tokens: cannot read \"", options.tokens_file, "\""));
    }
    std::string line;
    for (int number = 1; std::getline(file, line); ++number) {
      line.resize(std::min(line.size(), line.find('#')));
      const absl::string_view text = absl::StripAsciiWhitespace(line);
      if (text.empty()) continue;
      std::vector<absl::string_view> fields = absl::StrSplit(text, ' ', absl::SkipWhitespace());
      if (fields.size() != 2 || fields[0].size() != 64 ||
          !absl::c_all_of(fields[0], absl::ascii_isxdigit)) {
        return absl::InvalidArgumentError(
            absl::StrCat(options.tokens_file, ":", number,
                         ": expected the SHA-256 of a token (64 hex digits), then its principal"));
      }
      const std::string digest = absl::HexStringToBytes(absl::AsciiStrToLower(fields[0]));
      Token token;
      std::copy(digest.begin(), digest.end(), token.sha256.begin());
      token.principal = std::string(fields[1]);
      tokens.push_back(std::move(token));
    }
  }
  return std::unique_ptr<Console>(new Console(std::move(sources), options, std::move(tokens)));
}

Console::Console(ConsoleSources sources, ConsoleOptions options, std::vector<Token> tokens)
    : sources_(std::move(sources)), options_(std::move(options)), tokens_(std::move(tokens)) {
  Measure(/*commit=*/true);
  intervals_.clear();  // what happened before the console started is not an interval
}

void Console::AddRoutes(AdminHttp::Routes& routes) {
  using Request = AdminHttp::Request;
  for (const ConsoleAsset& asset : ConsoleAssets()) {
    const std::string path = asset.name == "index.html" ? "/" : absl::StrCat("/", asset.name);
    routes[path].get = [asset](const Request&) {
      return AdminHttp::Reply{200, std::string(ContentType(asset.name)), std::string(asset.bytes)};
    };
  }
  routes["/api/overview"].get = [this](const Request&) { return Overview(); };
  routes["/api/rules"].get = [this](const Request&) { return Rules(); };
  routes["/api/users/"].get = [this](const Request& request) { return User(request); };
  routes["/api/revoke"].post = [this](const Request& request) { return Revoke(request); };
}

void Console::Sample() { Measure(/*commit=*/true); }

Console::Interval Console::Measure(bool commit) {
  Interval interval;
  interval.end_ms = sources_.clock->NowMs();
  std::array<uint64_t, 3> decisions{};
  for (size_t i = 0; i < decisions.size(); ++i) {
    decisions[i] = sources_.metrics->decisions.Sum(i);
    interval.decisions[i] = decisions[i] - seen_decisions_[i];
  }

  // Hits since the rule set was loaded; a new set starts from zero.
  const std::shared_ptr<const Policy> policy = sources_.engine->policy();
  const auto* rule_set = dynamic_cast<const rules::CompiledRuleSet*>(policy.get());
  std::map<std::string, uint64_t> hits;
  const std::string version(policy->version());
  if (rule_set != nullptr) {
    const std::vector<rules::RuleStats> stats = rule_set->Stats();
    for (size_t i = 0; i < stats.size(); ++i) {
      const bool shadow = stats[i].mode == rules::RuleMode::kShadow;
      const uint64_t now = stats[i].hits;
      const std::string key = absl::StrCat(shadow ? "shadow/" : "enforce/", stats[i].id);
      const auto seen = seen_hits_.find(key);
      const uint64_t before =
          version == seen_rules_version_ && seen != seen_hits_.end() ? seen->second : 0;
      if (now > before) {
        interval.reasons[rule_set->rules()[i].reason->code][shadow ? 1 : 0] += now - before;
      }
      hits[key] = now;
    }
  }
  if (commit) {
    seen_decisions_ = decisions;
    seen_hits_ = std::move(hits);
    seen_rules_version_ = version;
    intervals_.push_back(interval);
    while (!intervals_.empty() && intervals_.front().end_ms <= interval.end_ms - kHourMs) {
      intervals_.pop_front();
    }
  }
  return interval;
}

AdminHttp::Reply Console::Overview() {
  // The intervals of the last hour, and the one still open.
  std::vector<Interval> intervals(intervals_.begin(), intervals_.end());
  intervals.push_back(Measure(/*commit=*/false));
  json series = {{"t", json::array()},
                 {"APPROVE", json::array()},
                 {"CHALLENGE", json::array()},
                 {"DECLINE", json::array()}};
  std::array<uint64_t, 3> totals{};
  std::map<std::string, std::array<uint64_t, 2>> reasons;
  for (const Interval& interval : intervals) {
    series["t"].push_back(interval.end_ms / 1000.0);
    for (size_t i = 0; i < totals.size(); ++i) {
      series[std::string(Name(static_cast<Decision>(i + 1)))].push_back(interval.decisions[i]);
      totals[i] += interval.decisions[i];
    }
    for (const auto& [code, counts] : interval.reasons) {
      reasons[code][0] += counts[0];
      reasons[code][1] += counts[1];
    }
  }
  std::vector<std::pair<std::string, std::array<uint64_t, 2>>> top(reasons.begin(), reasons.end());
  std::sort(top.begin(), top.end(), [](const auto& a, const auto& b) {
    const uint64_t a_total = a.second[0] + a.second[1];
    const uint64_t b_total = b.second[0] + b.second[1];
    return a_total != b_total ? a_total > b_total : a.first < b.first;
  });
  if (top.size() > kTopReasons) top.resize(kTopReasons);
  json top_json = json::array();
  for (const auto& [code, counts] : top) {
    top_json.push_back({{"code", code}, {"enforced", counts[0]}, {"shadow", counts[1]}});
  }
  return Json(
      200, {{"interval_s", absl::ToInt64Seconds(options_.sample_interval)},
            {"rules_version", std::string(sources_.engine->policy()->version())},
            {"series", std::move(series)},
            {"totals", {{"APPROVE", totals[0]}, {"CHALLENGE", totals[1]}, {"DECLINE", totals[2]}}},
            {"top_reasons", std::move(top_json)},
            {"can_change", !tokens_.empty()}});
}

AdminHttp::Reply Console::Rules() const {
  const std::shared_ptr<const Policy> policy = sources_.engine->policy();
  json out = {{"version", std::string(policy->version())}};
  if (const auto* rule_set = dynamic_cast<const rules::CompiledRuleSet*>(policy.get())) {
    std::map<std::string, uint64_t> hits;
    for (const rules::RuleStats& stats : rule_set->Stats()) hits[stats.id] = stats.hits;
    const rules::RuleSetContents& contents = rule_set->contents();
    const rules::RuleSetSettings& settings = rule_set->settings();
    out["settings"] = {{"currency", settings.currency},
                       {"utc_offset_ms", settings.utc_offset_ms},
                       {"elderly_age", settings.elderly_age},
                       {"dormant_after_ms", settings.dormant_after_ms},
                       {"standard_per_txn_cap_minor", settings.standard_per_txn_cap_minor},
                       {"standard_daily_cap_minor", settings.standard_daily_cap_minor},
                       {"elderly_per_txn_cap_minor", settings.elderly_per_txn_cap_minor},
                       {"elderly_daily_cap_minor", settings.elderly_daily_cap_minor},
                       {"notify_user", contents.notify_user},
                       {"notices",
                        {{"scan_at_ms", settings.notices.scan_at_ms},
                         {"summary_day", settings.notices.summary_day},
                         {"expiring_within_ms", settings.notices.expiring_within_ms}}}};
    json& rules = out["rules"] = json::array();
    for (const rules::RuleSetContents::Rule& rule : contents.rules) {
      const auto hit = hits.find(rule.id);
      rules.push_back({{"id", rule.id},
                       {"mode", rule.mode},
                       {"action", rule.action},
                       {"code", rule.code},
                       {"description", rule.description},
                       {"when", rule.when},
                       {"exceptions", rule.exceptions},
                       {"enabled", rule.enabled},
                       {"file", rule.file},
                       {"line", rule.line},
                       {"hits", hit == hits.end() ? 0 : hit->second}});
    }
    json& params = out["params"] = json::array();
    for (const auto& param : contents.params) {
      params.push_back({{"name", param.name}, {"value", param.value}, {"file", param.file}});
    }
    json& lists = out["lists"] = json::array();
    for (const auto& list : contents.lists) {
      lists.push_back({{"name", list.name}, {"size", list.size}, {"file", list.file}});
    }
  }
  json& loads = out["loads"] = json::array();
  for (const RulesLoad& load : sources_.loads()) {
    loads.push_back({{"time_ms", load.time_ms},
                     {"result", load.ok ? "ok" : "error"},
                     {"version", load.version},
                     {"error", load.error}});
  }
  return Json(200, out);
}

AdminHttp::Reply Console::User(const AdminHttp::Request& request) const {
  const std::optional<std::string> decoded =
      PercentDecoded(absl::string_view(request.path).substr(std::string("/api/users/").size()));
  if (!decoded.has_value()) return Error(400, "the user id has a malformed %-escape");
  const std::string& user_id = *decoded;
  Engine& engine = *sources_.engine;
  const absl::StatusOr<std::vector<Mandate>> mandates =
      engine.ListMandates(user_id, /*include_revoked=*/true);
  if (!mandates.ok()) return Error(HttpStatusOf(mandates.status()), mandates.status().message());
  const absl::StatusOr<UserProfile> profile = engine.GetUserProfile(user_id);
  if (!profile.ok() && !absl::IsNotFound(profile.status())) {
    return Error(HttpStatusOf(profile.status()), profile.status().message());
  }
  const int64_t now_ms = sources_.clock->NowMs();
  const std::shared_ptr<const Policy> policy = engine.policy();

  json out = {{"user_id", user_id}, {"profile", nullptr}};
  std::optional<int> age;
  if (profile.ok()) {
    out["profile"] = {{"birth_date", profile->birth_date},
                      {"risk_assessment_completed", profile->risk_assessment_completed},
                      {"per_txn_limit_minor", profile->per_txn_limit_minor},
                      {"daily_limit_minor", profile->daily_limit_minor},
                      {"notify_every_transaction", profile->notify_every_transaction}};
    if (absl::StatusOr<absl::CivilDay> birth = ParseDate(profile->birth_date); birth.ok()) {
      age = AgeOn(*birth, policy->calendar().DayOf(now_ms));
    }
  }
  const UserSegment segment = policy->Segment(age);
  out["limits"] = {{"segment", segment.elderly ? "elderly" : "standard"},
                   {"per_txn_cap_minor", segment.per_txn_cap_minor},
                   {"daily_cap_minor", segment.daily_cap_minor}};
  json& listed = out["mandates"] = json::array();
  for (const Mandate& mandate : *mandates) listed.push_back(MandateJson(mandate));

  json& decisions = out["decisions"] = json::array();
  out["decision_log"] = sources_.log != nullptr;
  if (sources_.log != nullptr) {
    size_t scanned = 0;
    const absl::Status read =
        sources_.log->ExportDecisionsNewestFirst(now_ms + 1, [&](const DecisionLogEntry& entry) {
          if (entry.request.has_value() && entry.request->user_id == user_id) {
            const AuthorizeRequest& charge = *entry.request;
            decisions.push_back({{"time_ms", entry.time_ms},
                                 {"transaction_id", charge.transaction_id},
                                 {"merchant_id", charge.merchant_id},
                                 {"amount_minor", charge.amount_minor},
                                 {"currency", charge.currency},
                                 {"decision", std::string(Name(entry.response->decision))},
                                 {"reasons", ReasonsJson(entry.response->reasons)},
                                 {"shadow_reasons", ReasonsJson(entry.response->shadow_reasons)}});
          }
          return decisions.size() < kRecentDecisions && ++scanned < kScannedEntries;
        });
    if (!read.ok()) out["decision_log_error"] = read.message();
  }
  return Json(200, out);
}

std::optional<std::string> Console::PrincipalOf(const AdminHttp::Request& request) const {
  constexpr absl::string_view kBearer = "Bearer ";
  if (!absl::StartsWithIgnoreCase(request.authorization, kBearer)) return std::nullopt;
  const std::array<unsigned char, 32> digest = Sha256(
      absl::StripAsciiWhitespace(absl::string_view(request.authorization).substr(kBearer.size())));
  for (const Token& token : tokens_) {
    if (CRYPTO_memcmp(digest.data(), token.sha256.data(), digest.size()) == 0) {
      return token.principal;
    }
  }
  return std::nullopt;
}

AdminHttp::Reply Console::Revoke(const AdminHttp::Request& request) const {
  if (tokens_.empty())
    return Error(403, "this console is read-only (vigild has no --console-tokens)");
  const std::optional<std::string> principal = PrincipalOf(request);
  if (!principal.has_value()) {
    return Error(401, "a support token is needed to change state (Authorization: Bearer TOKEN)");
  }
  const absl::string_view principals[] = {*principal};
  if (sources_.authorizer != nullptr && !sources_.authorizer->Allows(principals, kRevokePath)) {
    log::Warn("console_refused", "a console call was refused by the authorization policy")
        .Field("principal", *principal)
        .Field("path", kRevokePath);
    return Error(403, absl::StrCat(*principal, " may not revoke mandates"));
  }
  const json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("user_id") || !body["user_id"].is_string() ||
      !body.contains("mandate_id") || !body["mandate_id"].is_string() ||
      (body.contains("reason") && !body["reason"].is_string())) {
    return Error(400, "expected {\"user_id\": ..., \"mandate_id\": ..., \"reason\": ...}");
  }
  const std::string user_id = body["user_id"];
  const std::string mandate_id = body["mandate_id"];
  const std::string reason = body.value("reason", "revoked by support");
  const absl::StatusOr<Mandate> revoked =
      sources_.engine->RevokeMandate(mandate_id, user_id, reason);
  if (!revoked.ok()) return Error(HttpStatusOf(revoked.status()), revoked.status().message());
  log::Info("console_revoke", "a mandate was revoked through the console")
      .Field("principal", *principal)
      .Field("user_id", user_id)
      .Field("mandate_id", mandate_id);
  return Json(200, MandateJson(*revoked));
}

}  // namespace vigil::server
