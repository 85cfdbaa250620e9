#pragma once

// The names of the core's enums, spelled as the API spells them (proto/vigil/v1/vigil.proto):
// one table per enum, read by the rule language (field values, rule tests), the server's
// metrics labels and anything else that shows or parses a name. codec_test checks each table
// against the API's enum, value for value.
//
//   Name(Channel::kAutoDebit)          // "AUTO_DEBIT"
//   ParseName<Outcome>("REVERSED")     // Outcome::kReversed
//   Names<FundingSource>()             // every name, in the enum's order
//
// Constant tables; thread-safe.

#include <cstddef>
#include <iterator>
#include <optional>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "engine/core/types.h"

namespace vigil {

// Vocabulary<E>::kNames[i] names the value kFirst + i of E; every value has a name.
template <typename E>
struct Vocabulary;

template <>
struct Vocabulary<Channel> {
  static constexpr int kFirst = 0;
  static constexpr absl::string_view kNames[] = {"CHANNEL_UNSPECIFIED", "QR_CODE", "NFC", "IN_APP",
                                                 "AUTO_DEBIT",          "ONLINE"};
};

template <>
struct Vocabulary<FundingSource> {
  static constexpr int kFirst = 0;
  static constexpr absl::string_view kNames[] = {"FUNDING_SOURCE_UNSPECIFIED", "BALANCE",
                                                 "DEBIT_CARD", "CREDIT_CARD", "CREDIT_LINE"};
};

template <>
struct Vocabulary<Decision> {
  static constexpr int kFirst = 1;
  static constexpr absl::string_view kNames[] = {"APPROVE", "CHALLENGE", "DECLINE"};
};

template <>
struct Vocabulary<Outcome> {
  static constexpr int kFirst = 0;
  static constexpr absl::string_view kNames[] = {"COMPLETED", "FAILED", "REVERSED",
                                                 "STRONG_AUTH_PASSED", "STRONG_AUTH_FAILED"};
};

template <>
struct Vocabulary<MandateStatus> {
  static constexpr int kFirst = 0;
  static constexpr absl::string_view kNames[] = {"ACTIVE", "PAUSED", "REVOKED", "DORMANT",
                                                 "EXPIRED"};
};

// The API's name of `value`; "" for a number outside the enum.
template <typename E>
constexpr absl::string_view Name(E value) {
  const auto index = static_cast<size_t>(static_cast<int>(value) - Vocabulary<E>::kFirst);
  return index < std::size(Vocabulary<E>::kNames) ? Vocabulary<E>::kNames[index]
                                                  : absl::string_view();
}

// The value named `name` (exactly, upper case); std::nullopt for any other string.
template <typename E>
constexpr std::optional<E> ParseName(absl::string_view name) {
  for (size_t i = 0; i < std::size(Vocabulary<E>::kNames); ++i) {
    if (Vocabulary<E>::kNames[i] == name) {
      return static_cast<E>(Vocabulary<E>::kFirst + static_cast<int>(i));
    }
  }
  return std::nullopt;
}

// Every name of E, in the order of its values.
template <typename E>
constexpr absl::Span<const absl::string_view> Names() {
  return Vocabulary<E>::kNames;
}

}  // namespace vigil
