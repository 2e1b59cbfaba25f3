#include "compute/slurm_fit.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sweep::compute {
namespace {

// The leading number of a field ("2", "23593+"); false when there is none.
template <typename T>
bool LeadingNumber(absl::string_view field, T* out) {
  size_t n = 0;
  while (n < field.size() && field[n] >= '0' && field[n] <= '9') ++n;
  return n > 0 && absl::SimpleAtoi(field.substr(0, n), out);
}

// GPUs in a gres list: "gpu:2", "gpu:tesla:2(S:0-1)", "gpu:a100:4,mps:400"; "(null)" has none.
int CountGpus(absl::string_view gres) {
  int gpus = 0;
  for (absl::string_view item : absl::StrSplit(gres, ',')) {
    if (!absl::StartsWith(item, "gpu")) continue;
    item = item.substr(0, item.find('('));
    int n = 0;
    size_t colon = item.rfind(':');
    gpus += colon != absl::string_view::npos && LeadingNumber(item.substr(colon + 1), &n) ? n : 1;
  }
  return gpus;
}

bool Fits(const VmShape& shape, const SlurmNodeShape& node) {
  return node.cpus >= shape.cpus && node.memory_mb >= shape.memory_mb && node.gpus >= shape.gpus;
}

std::string Describe(int cpus, int64_t memory_mb, int gpus) {
  return absl::StrCat(cpus, " CPUs, ", memory_mb, " MB",
                      gpus > 0 ? absl::StrCat(", ", gpus, " GPUs") : "");
}

}  // namespace

std::vector<std::string> SinfoNodesArgv(const std::string& partition) {
  return {"sinfo", "--noheader", "--Node", "--partition=" + partition, "--format=%N|%c|%m|%G"};
}

absl::StatusOr<std::vector<SlurmNodeShape>> ParseSinfoNodes(const std::string& text) {
  std::vector<SlurmNodeShape> nodes;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
    std::vector<absl::string_view> f = absl::StrSplit(absl::StripAsciiWhitespace(line), '|');
    SlurmNodeShape n;
    if (f.size() < 3 || !LeadingNumber(f[1], &n.cpus) || !LeadingNumber(f[2], &n.memory_mb)) {
      continue;
    }
    n.name = std::string(f[0]);
    n.gpus = f.size() > 3 ? CountGpus(f[3]) : 0;
    // A node in several partitions is listed once per partition.
    if (std::none_of(nodes.begin(), nodes.end(),
                     [&](const SlurmNodeShape& m) { return m.name == n.name; })) {
      nodes.push_back(n);
    }
  }
  if (nodes.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("sinfo listed no node: '", text, "'"));
  }
  return nodes;
}

absl::Status CheckVmSizeFits(const std::string& compute, const VmShape& shape,
                             const std::string& partition,
                             const std::vector<SlurmNodeShape>& nodes) {
  for (const SlurmNodeShape& n : nodes) {
    if (Fits(shape, n)) return absl::OkStatus();
  }
  std::vector<std::string> have;
  for (size_t i = 0; i < nodes.size() && i < 5; ++i) {
    have.push_back(absl::StrCat(nodes[i].name, ": ",
                                Describe(nodes[i].cpus, nodes[i].memory_mb, nodes[i].gpus)));
  }
  if (nodes.size() > 5) have.push_back(absl::StrCat("and ", nodes.size() - 5, " more"));
  // The biggest known size some node holds: the one to suggest.
  const VmShape* best = nullptr;
  for (const VmShape& s : VmSizes()) {
    bool fits = std::any_of(nodes.begin(), nodes.end(),
                            [&](const SlurmNodeShape& n) { return Fits(s, n); });
    if (!fits) continue;
    if (best == nullptr ||
        std::tie(s.gpus, s.cpus, s.memory_mb) > std::tie(best->gpus, best->cpus, best->memory_mb)) {
      best = &s;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "compute '", compute, "': --vm-size ", shape.name, " needs ",
      Describe(shape.cpus, shape.memory_mb, shape.gpus), ", but no node of partition '", partition,
      "' has that (", absl::StrJoin(have, "; "), "); ",
      best == nullptr ? "no known --vm-size fits it"
                      : absl::StrCat("the largest size that fits is ", best->name, " (",
                                     Describe(best->cpus, best->memory_mb, best->gpus), ")")));
}

}  // namespace sweep::compute
