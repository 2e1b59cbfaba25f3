#include "samplers/sampler_util.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace sweep::samplers {
namespace {

using core::ParamKind;

uint64_t SatMul(uint64_t a, uint64_t b) {
  if (a == 0 || b == 0) return 0;
  if (a > GridIndex::kSaturated / b) return GridIndex::kSaturated;
  return std::min(a * b, GridIndex::kSaturated);
}

uint64_t SatAdd(uint64_t a, uint64_t b) { return std::min(GridIndex::kSaturated, a + b); }

}  // namespace

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

TrialRng::TrialRng(uint64_t seed, uint64_t trial_number, uint64_t stream)
    : engine_(SplitMix64(SplitMix64(SplitMix64(seed) ^ trial_number) ^ stream)) {}

double TrialRng::Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

uint64_t TrialRng::Below(uint64_t n) {
  // Largest multiple of n representable; draws above it are rejected.
  uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % n;
  uint64_t r;
  do {
    r = engine_();
  } while (r >= limit);
  return r % n;
}

std::vector<double> TrialRng::UniformPoint(int dims) {
  std::vector<double> x(dims);
  for (double& v : x) v = Uniform();
  return x;
}

bool SeenKeys::Update(const History& history) {
  // Histories grow by appending (a trial's config never changes), so checking the last
  // entry we saw is enough, and keeps each call O(new trials) rather than O(history).
  bool prefix = count_ <= history.trials.size() &&
                (count_ == 0 || last_ == history.trials[count_ - 1].config);
  if (!prefix) {
    count_ = 0;
    keys_.clear();
  }
  if (count_ == history.trials.size()) return prefix;
  for (size_t i = count_; i < history.trials.size(); ++i) {
    keys_.insert(core::ConfigKey(history.trials[i].config));
  }
  count_ = history.trials.size();
  last_ = history.trials[count_ - 1].config;
  return prefix;
}

bool SeenKeys::Contains(const core::Config& config) const {
  return keys_.count(core::ConfigKey(config)) > 0;
}

absl::StatusOr<GridIndex> GridIndex::Build(const core::SearchSpace& space) {
  GridIndex g;
  RETURN_IF_ERROR(BuildList(space.params, g.root_, g.size_));
  return g;
}

absl::Status GridIndex::BuildList(const std::vector<core::ParamSpec>& params,
                                  std::vector<Node>& out, uint64_t& count) {
  count = 1;
  for (const core::ParamSpec& p : params) {
    Node n;
    n.name = p.name;
    n.kind = p.kind;
    switch (p.kind) {
      case ParamKind::kChoice:
        for (const core::ChoiceOption& o : p.options) {
          Option opt;
          opt.value = o.value;
          opt.offset = n.count;
          if (o.is_subspace) RETURN_IF_ERROR(BuildList(o.subspace, opt.subspace, opt.count));
          n.count = SatAdd(n.count, opt.count);
          n.options.push_back(std::move(opt));
        }
        break;
      case ParamKind::kRandint:
        n.count = static_cast<uint64_t>(std::max<int64_t>(p.upper, 0));
        break;
      case ParamKind::kQUniform:
      case ParamKind::kQLogUniform: {
        double lo = p.min_value, hi = p.max_value;
        if (p.kind == ParamKind::kQLogUniform) {
          lo = std::exp(lo);
          hi = std::exp(hi);
        }
        n.q = p.q;
        n.first = std::round(lo / p.q);
        double span = std::round(hi / p.q) - n.first + 1;
        if (!(span >= 1)) {
          return absl::InvalidArgumentError(
              absl::StrCat("search_space parameter '", p.name, "' has no values"));
        }
        // Beyond 2^53 consecutive multiples of q are no longer distinct doubles.
        if (span > 0x1.0p53) {
          return absl::InvalidArgumentError(
              absl::StrCat("search_space parameter '", p.name, "' (", core::ParamKindName(p.kind),
                           ") has more than 2^53 values; use a larger q"));
        }
        n.count = static_cast<uint64_t>(span);
        break;
      }
      default:
        return absl::InvalidArgumentError(absl::StrCat(
            "grid sampling needs every parameter to take finitely many values (choice, "
            "randint, quniform or qloguniform), but '",
            p.name, "' is ", core::ParamKindName(p.kind),
            "; use random, sobol, tpe or bayesian sampling, or make it a choice"));
    }
    count = SatMul(count, n.count);
    out.push_back(std::move(n));
  }
  return absl::OkStatus();
}

core::Config GridIndex::At(uint64_t k) const {
  core::Config out;
  DecodeList(root_, k, out);
  return out;
}

void GridIndex::DecodeList(const std::vector<Node>& nodes, uint64_t k, core::Config& out) {
  // Last parameter varies fastest: peel digits from the back.
  std::vector<uint64_t> digits(nodes.size());
  for (size_t i = nodes.size(); i-- > 0;) {
    digits[i] = k % nodes[i].count;
    k /= nodes[i].count;
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    uint64_t d = digits[i];
    switch (n.kind) {
      case ParamKind::kChoice: {
        // The option whose block [offset, offset + count) holds d.
        auto it = std::upper_bound(n.options.begin(), n.options.end(), d,
                                   [](uint64_t v, const Option& o) { return v < o.offset; });
        const Option& o = *std::prev(it);
        out[n.name] = o.value;
        if (!o.subspace.empty()) DecodeList(o.subspace, d - o.offset, out);
        break;
      }
      case ParamKind::kRandint:
        out[n.name] = static_cast<int64_t>(d);
        break;
      default: {
        double v = (n.first + static_cast<double>(d)) * n.q;
        out[n.name] = v == 0 ? 0.0 : v;  // never -0.0, as Encoding::Decode
      }
    }
  }
}

std::optional<core::Config> DrawUnseen(const Encoding& encoding, const GridIndex* grid,
                                       const SeenKeys& seen, TrialRng& rng,
                                       const std::optional<core::Config>& first) {
  if (first && !seen.Contains(*first)) return first;
  std::optional<core::Config> last;
  for (int i = 0; i < kMaxDraws; ++i) {
    last = encoding.Decode(rng.UniformPoint(encoding.dims()));
    if (!seen.Contains(*last)) return last;
  }
  if (grid == nullptr) return last;
  uint64_t n = grid->size();
  if (n <= kEnumerateLimit) {
    std::vector<uint64_t> unseen;
    for (uint64_t k = 0; k < n; ++k) {
      if (!seen.Contains(grid->At(k))) unseen.push_back(k);
    }
    if (unseen.empty()) return std::nullopt;
    return grid->At(unseen[rng.Below(unseen.size())]);
  }
  // At most seen.size() points are seen, so seen.size() + 1 consecutive indices hold an
  // unseen one unless the whole space has been tried.
  uint64_t start = rng.Below(n);
  uint64_t steps = std::min<uint64_t>(n, seen.size() + 1);
  for (uint64_t s = 0; s < steps; ++s) {
    core::Config c = grid->At((start + s) % n);
    if (!seen.Contains(c)) return c;
  }
  return std::nullopt;
}

std::vector<size_t> FiniteObservations(const History& history) {
  std::vector<size_t> out;
  for (size_t i = 0; i < history.trials.size(); ++i) {
    const Observation& o = history.trials[i];
    bool finished =
        o.state == core::TrialState::kCompleted || o.state == core::TrialState::kEarlyTerminated;
    if (finished && o.value && std::isfinite(*o.value)) out.push_back(i);
  }
  return out;
}

}  // namespace sweep::samplers
