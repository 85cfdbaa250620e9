#pragma once

// Money as people write it ("1,000.00 CNY", "50 CNY") and as Vigil keeps it (int64 minor units
// plus an ISO 4217 code). Never floating point. Pure functions; thread-safe.

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vigil {

// Digits after the decimal point for a currency: 0 for JPY, KRW and the like, else 2.
int MinorUnitDigits(absl::string_view currency);

// Parses a decimal amount in major units ("50", "50.5", "1,000.00") of `currency` into minor
// units. INVALID_ARGUMENT for anything else, for more decimals than the currency has, or for an
// amount that does not fit in int64.
absl::StatusOr<int64_t> ParseAmount(absl::string_view text, absl::string_view currency);

// Parses "<amount> <CUR>", e.g. "200.00 CNY"; `currency` receives the code.
absl::StatusOr<std::pair<int64_t, std::string>> ParseMoney(absl::string_view text);

// "1000.00" for 100000 minor units of CNY; "-0.50" for -50.
std::string FormatAmount(int64_t amount_minor, absl::string_view currency);

}  // namespace vigil
