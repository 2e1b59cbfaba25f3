// Status helpers shared by every component. absl::Status crosses component APIs;
// exceptions never do.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SWEEP_CONCAT_INNER_(a, b) a##b
#define SWEEP_CONCAT_(a, b) SWEEP_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::absl::Status sweep_status_ = (expr);           \
    if (!sweep_status_.ok()) return sweep_status_;   \
  } while (0)

// `lhs = value of rexpr`, or returns its status from the enclosing function.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  ASSIGN_OR_RETURN_IMPL_(SWEEP_CONCAT_(sweep_statusor_, __LINE__), lhs, rexpr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                           \
  if (!tmp.ok()) return tmp.status();           \
  lhs = std::move(tmp).value()
