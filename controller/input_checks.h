// Checks on the text a caller hands the controller before any of it reaches the store
// (core/limits.h): each refusal is InvalidArgument naming the field, and nothing is stored.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/lease.h"

namespace sweep::controller {

// `value` is valid UTF-8 of at most max_bytes bytes; `field` names it in the error.
absl::Status CheckText(absl::string_view field, const std::string& value, size_t max_bytes);

// The node id, compute, hostname and version of a registration.
absl::Status CheckRegistration(const core::NodeRegistration& registration);

// The error text of a completion (its points: CheckPoints, lifecycle.h).
absl::Status CheckCompletionText(const core::Completion& completion);

}  // namespace sweep::controller
