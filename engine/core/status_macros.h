#pragma once

// Early-return helpers for absl::Status and absl::StatusOr, which our Abseil lacks.
//
//   VIGIL_RETURN_IF_ERROR(Validate(request));
//   VIGIL_ASSIGN_OR_RETURN(absl::CivilDay birth, ParseDate(text));

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define VIGIL_RETURN_IF_ERROR(expr)                                 \
  do {                                                              \
    if (absl::Status vigil_status_ = (expr); !vigil_status_.ok()) { \
      return vigil_status_;                                         \
    }                                                               \
  } while (false)

#define VIGIL_STATUS_CONCAT_INNER_(a, b) a##b
#define VIGIL_STATUS_CONCAT_(a, b) VIGIL_STATUS_CONCAT_INNER_(a, b)

#define VIGIL_ASSIGN_OR_RETURN(lhs, expr) \
  VIGIL_ASSIGN_OR_RETURN_IMPL_(VIGIL_STATUS_CONCAT_(vigil_statusor_, __LINE__), lhs, expr)

#define VIGIL_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)  \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()
