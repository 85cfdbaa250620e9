#include "engine/core/money.h"

#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "engine/core/validation.h"

namespace vigil {

int MinorUnitDigits(absl::string_view currency) {
  for (absl::string_view zero : {"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"}) {
    if (currency == zero) return 0;
  }
  return 2;
}

absl::StatusOr<int64_t> ParseAmount(absl::string_view text, absl::string_view currency) {
  const int digits = MinorUnitDigits(currency);
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("amount \"", text, "\" ", why));
  };
  absl::string_view rest = text;
  const bool negative = absl::ConsumePrefix(&rest, "-");
  const size_t dot = rest.find('.');
  const absl::string_view whole = rest.substr(0, dot);
  const absl::string_view fraction = dot == absl::string_view::npos ? "" : rest.substr(dot + 1);
  if (whole.empty()) return invalid("has no whole part");
  if (dot != absl::string_view::npos && fraction.empty()) return invalid("ends with a point");
  if (static_cast<int>(fraction.size()) > digits) {
    return invalid(absl::StrCat("has more than ", digits, " decimals for ", currency));
  }
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t value = 0;
  auto push = [&](char c) {
    if (c < '0' || c > '9' || value > (kMax - (c - '0')) / 10) return false;
    value = value * 10 + (c - '0');
    return true;
  };
  for (size_t i = 0; i < whole.size(); ++i) {
    // Thousands separators only between groups of three digits.
    if (whole[i] == ',' && i > 0 && (whole.size() - i - 1) % 3 == 0) continue;
    if (!push(whole[i])) return invalid("is not a number that fits");
  }
  for (int i = 0; i < digits; ++i) {
    if (!push(i < static_cast<int>(fraction.size()) ? fraction[i] : '0')) {
      return invalid("is not a number that fits");
    }
  }
  return negative ? -value : value;
}

absl::StatusOr<std::pair<int64_t, std::string>> ParseMoney(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ' ', absl::SkipEmpty());
  if (parts.size() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("money \"", text, "\" is not of the form \"<amount> <CUR>\", e.g. 200 CNY"));
  }
  if (absl::Status status = ValidateCurrency("currency", parts[1]); !status.ok()) return status;
  absl::StatusOr<int64_t> amount = ParseAmount(parts[0], parts[1]);
  if (!amount.ok()) return amount.status();
  return std::make_pair(*amount, std::string(parts[1]));
}

std::string FormatAmount(int64_t amount_minor, absl::string_view currency) {
  const int digits = MinorUnitDigits(currency);
  const bool negative = amount_minor < 0;
  // Work in unsigned so that the most negative int64 formats too.
  uint64_t magnitude =
      negative ? 0 - static_cast<uint64_t>(amount_minor) : static_cast<uint64_t>(amount_minor);
  uint64_t scale = 1;
  for (int i = 0; i < digits; ++i) scale *= 10;
  std::string out = absl::StrCat(negative ? "-" : "", magnitude / scale);
  if (digits > 0) {
    std::string fraction = absl::StrCat(magnitude % scale);
    absl::StrAppend(&out, ".", std::string(digits - fraction.size(), '0'), fraction);
  }
  return out;
}

}  // namespace vigil
