#include "engine/net/authz_policy.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "engine/net/file.h"
#include "google/protobuf/util/json_util.h"
#include "vigil/config/v1/authz_policy.pb.h"

namespace vigil::net {

bool AuthzPolicy::Pattern::Matches(absl::string_view value) const {
  switch (kind) {
    case Kind::kAny:
      return true;
    case Kind::kExact:
      return value == text;
    case Kind::kPrefix:
      return absl::StartsWith(value, text);
    case Kind::kSuffix:
      return absl::EndsWith(value, text);
  }
  return false;
}

bool AuthzPolicy::Rule::Matches(absl::Span<const absl::string_view> caller,
                                absl::string_view path) const {
  auto any_matches = [](const std::vector<Pattern>& patterns, absl::string_view value) {
    for (const Pattern& pattern : patterns) {
      if (pattern.Matches(value)) return true;
    }
    return false;
  };
  if (!paths.empty() && !any_matches(paths, path)) return false;
  if (principals.empty()) return true;
  for (const Pattern& pattern : principals) {
    if (pattern.kind == Pattern::Kind::kAny) return true;
  }
  for (absl::string_view identity : caller) {
    if (any_matches(principals, identity)) return true;
  }
  return false;
}

absl::StatusOr<AuthzPolicy::Pattern> AuthzPolicy::ParsePattern(absl::string_view where,
                                                               absl::string_view text) {
  Pattern pattern;
  if (text.empty()) return absl::InvalidArgumentError(absl::StrCat(where, ": empty pattern"));
  if (text == "*") return pattern;
  absl::string_view rest = text;
  if (absl::ConsumeSuffix(&rest, "*")) {
    pattern.kind = Pattern::Kind::kPrefix;
  } else if (absl::ConsumePrefix(&rest, "*")) {
    pattern.kind = Pattern::Kind::kSuffix;
  } else {
    pattern.kind = Pattern::Kind::kExact;
  }
  if (absl::StrContains(rest, '*')) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": \"", text, "\": '*' may only stand alone, at the start or at the end"));
  }
  pattern.text = std::string(rest);
  return pattern;
}

absl::StatusOr<AuthzPolicy> AuthzPolicy::Parse(absl::string_view json) {
  config::v1::AuthorizationPolicy proto;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (auto parsed = google::protobuf::util::JsonStringToMessage(std::string(json), &proto, options);
      !parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an authorization policy: ", parsed.message().as_string()));
  }
  if (proto.name().empty()) return absl::InvalidArgumentError("the policy has no \"name\"");
  if (proto.allow_rules().empty()) {
    return absl::InvalidArgumentError("the policy has no \"allow_rules\": it would refuse all");
  }
  AuthzPolicy policy;
  policy.name_ = proto.name();
  auto convert = [](absl::string_view kind, const auto& rules,
                    std::vector<Rule>& out) -> absl::Status {
    for (int i = 0; i < rules.size(); ++i) {
      const config::v1::Rule& in = rules[i];
      const std::string where = absl::StrCat(kind, "[", i, "] (", in.name(), ")");
      if (in.request().headers_size() > 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": header rules are not supported; match on paths"));
      }
      Rule rule;
      for (const std::string& text : in.source().principals()) {
        absl::StatusOr<Pattern> pattern = ParsePattern(absl::StrCat(where, ".principals"), text);
        if (!pattern.ok()) return pattern.status();
        rule.principals.push_back(*std::move(pattern));
      }
      for (const std::string& text : in.request().paths()) {
        absl::StatusOr<Pattern> pattern = ParsePattern(absl::StrCat(where, ".paths"), text);
        if (!pattern.ok()) return pattern.status();
        rule.paths.push_back(*std::move(pattern));
      }
      out.push_back(std::move(rule));
    }
    return absl::OkStatus();
  };
  if (absl::Status s = convert("deny_rules", proto.deny_rules(), policy.deny_); !s.ok()) return s;
  if (absl::Status s = convert("allow_rules", proto.allow_rules(), policy.allow_); !s.ok()) {
    return s;
  }
  return policy;
}

absl::StatusOr<AuthzPolicy> AuthzPolicy::Load(const std::string& path) {
  const absl::StatusOr<std::string> json = ReadFile(path);
  if (!json.ok()) return json.status();
  absl::StatusOr<AuthzPolicy> policy = Parse(*json);
  if (!policy.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", policy.status().message()));
  }
  return policy;
}

bool AuthzPolicy::Allows(absl::Span<const absl::string_view> principals,
                         absl::string_view path) const {
  for (const Rule& rule : deny_) {
    if (rule.Matches(principals, path)) return false;
  }
  for (const Rule& rule : allow_) {
    if (rule.Matches(principals, path)) return true;
  }
  return false;
}

}  // namespace vigil::net
