#pragma once

// AuthzPolicy is a gRPC authorization policy in gRFC A43's JSON format: which callers, known by
// the identities in their client certificates, may call which RPC paths.
//
//   {"name": "vigil",
//    "deny_rules":  [...],
//    "allow_rules": [{"name": "gateway",
//                     "source": {"principals": ["spiffe://vigil/gateway"]},
//                     "request": {"paths": ["/vigil.v1.RiskEngine/*"]}}]}
//
// A call is refused when any deny rule matches it, else allowed when some allow rule matches
// it, else refused. A rule matches when the caller has an identity that one of its principals
// matches (no `source`: any caller) and the path matches one of its paths (no `request`: any
// path). A pattern is "*" (anything, also a caller with no identity), "prefix*", "*suffix" or an
// exact string. Header rules, also part of A43, are refused at load: Vigil's policies do not
// need them, and a policy half applied would allow more than its author meant.
//
// Immutable; thread-safe. Allows() allocates nothing and is O(rules x patterns).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace vigil::net {

class AuthzPolicy {
 public:
  // INVALID_ARGUMENT, with what is wrong and where: not JSON, a key the format does not have, a
  // policy without a name or without allow rules, an empty pattern or one with '*' inside it,
  // header rules.
  static absl::StatusOr<AuthzPolicy> Parse(absl::string_view json);
  // As Parse, for the file at `path`; NOT_FOUND when it cannot be read.
  static absl::StatusOr<AuthzPolicy> Load(const std::string& path);

  // Whether a caller with `principals` (its certificate's identities; none when it has none)
  // may call `path` ("/package.Service/Method").
  bool Allows(absl::Span<const absl::string_view> principals, absl::string_view path) const;

  const std::string& name() const { return name_; }

 private:
  struct Pattern {
    enum class Kind { kAny, kExact, kPrefix, kSuffix };
    Kind kind = Kind::kAny;
    std::string text;  // without the '*'
    bool Matches(absl::string_view value) const;
  };
  struct Rule {
    std::vector<Pattern> principals;  // empty: any caller
    std::vector<Pattern> paths;       // empty: any path
    bool Matches(absl::Span<const absl::string_view> principals, absl::string_view path) const;
  };
  static absl::StatusOr<Pattern> ParsePattern(absl::string_view where, absl::string_view text);

  std::string name_;
  std::vector<Rule> deny_;
  std::vector<Rule> allow_;
};

}  // namespace vigil::net
