#include "controller/input_checks.h"

#include "absl/strings/str_cat.h"
#include "core/limits.h"
#include "core/status.h"
#include "core/utf8.h"

namespace sweep::controller {

absl::Status CheckText(absl::string_view field, const std::string& value, size_t max_bytes) {
  if (value.size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " is ", value.size(), " bytes long; at most ", max_bytes, " are allowed"));
  }
  if (!core::IsValidUtf8(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is ", core::DescribeInvalidUtf8(value)));
  }
  return absl::OkStatus();
}

absl::Status CheckRegistration(const core::NodeRegistration& r) {
  RETURN_IF_ERROR(CheckText("register: node_id", r.node_id, core::kMaxNameBytes));
  RETURN_IF_ERROR(CheckText("register: compute", r.compute, core::kMaxNameBytes));
  RETURN_IF_ERROR(CheckText("register: hostname", r.hostname, core::kMaxNameBytes));
  return CheckText("register: version", r.version, core::kMaxNameBytes);
}

absl::Status CheckCompletionText(const core::Completion& completion) {
  return CheckText("CompleteTrial: error", completion.error, core::kMaxErrorBytes);
}

}  // namespace sweep::controller
