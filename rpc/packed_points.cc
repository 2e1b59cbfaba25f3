#include "rpc/packed_points.h"

#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "core/utf8.h"

namespace sweep::rpc {

void PackPoints(const std::vector<core::MetricPoint>& points, proto::PackedMetricPoints* out) {
  const int n = static_cast<int>(points.size());
  out->mutable_name()->Reserve(out->name_size() + n);
  out->mutable_value()->Reserve(out->value_size() + n);
  out->mutable_step()->Reserve(out->step_size() + n);
  out->mutable_timestamp_ms()->Reserve(out->timestamp_ms_size() + n);
  out->mutable_seq()->Reserve(out->seq_size() + n);
  std::unordered_map<std::string_view, uint32_t> index;  // views of the points' names
  for (int i = 0; i < out->names_size(); ++i) index.emplace(out->names(i), i);
  std::string_view last;
  uint32_t last_index = 0;
  for (const core::MetricPoint& p : points) {
    // Points mostly cycle through a few names: the previous one is checked first.
    if (p.name != last || out->names_size() == 0) {
      auto [it, added] = index.emplace(p.name, static_cast<uint32_t>(out->names_size()));
      if (added) out->add_names(core::SanitizeUtf8(p.name));  // proto3 strings must be UTF-8
      last = p.name;
      last_index = it->second;
    }
    out->add_name(last_index);
    out->add_value(p.value);
    out->add_step(p.step);
    out->add_timestamp_ms(p.timestamp_ms);
    out->add_seq(p.seq);
  }
}

absl::Status UnpackPoints(const proto::PackedMetricPoints& in,
                          std::vector<core::MetricPoint>* out) {
  const int n = in.name_size();
  if (in.value_size() != n || in.step_size() != n || in.timestamp_ms_size() != n ||
      in.seq_size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("packed metric points have columns of different lengths (", n, " names, ",
                     in.value_size(), " values, ", in.step_size(), " steps, ",
                     in.timestamp_ms_size(), " timestamps, ", in.seq_size(), " seqs)"));
  }
  for (int i = 0; i < n; ++i) {
    if (in.name(i) >= static_cast<uint32_t>(in.names_size())) {
      return absl::InvalidArgumentError(absl::StrCat("packed metric point ", i + 1, " names index ",
                                                     in.name(i), " of ", in.names_size(),
                                                     " names"));
    }
  }
  out->reserve(out->size() + n);
  for (int i = 0; i < n; ++i) {
    core::MetricPoint& m = out->emplace_back();
    m.name = in.names(static_cast<int>(in.name(i)));
    m.value = in.value(i);
    m.step = in.step(i);
    m.timestamp_ms = in.timestamp_ms(i);
    m.seq = in.seq(i);
  }
  return absl::OkStatus();
}

}  // namespace sweep::rpc
