#include "samplers/gp_optimizer.h"

#include <algorithm>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/sobol.hpp>
#include <boost/random/uniform_real_distribution.hpp>
#include <cmath>
#include <numeric>
#include <utility>

#include "samplers/gp_lbfgs.h"

namespace sweep::samplers {
namespace {

constexpr int kMaxSobolDims = BOOST_RANDOM_SOBOL_MAX_DIMENSION;
constexpr int kRefineStarts = 5;
constexpr int kRefineIterations = 25;
constexpr double kExploreBox = 0.15;

double Frac(double v) { return v - std::floor(v); }

}  // namespace

Eigen::MatrixXd SobolPoints(int dims, uint64_t start, int count, const std::vector<double>& shift,
                            Rng& rng) {
  Eigen::MatrixXd out(count, dims);
  if (dims > kMaxSobolDims) {
    boost::random::uniform_real_distribution<double> u(0.0, 1.0);
    for (int i = 0; i < count; ++i)
      for (int j = 0; j < dims; ++j) out(i, j) = u(rng);
    return out;
  }
  boost::random::sobol gen(dims);
  gen.seed(start);
  for (int i = 0; i < count; ++i) {
    for (int j = 0; j < dims; ++j) {
      out(i, j) = Frac(static_cast<double>(gen()) * 0x1p-64 + shift[j]);
    }
  }
  return out;
}

bool IsDiscrete(EncodedDim::Type t) { return t != EncodedDim::Type::kContinuous; }

void EncodedSpace::Project(double* x, std::vector<char>* active_out) const {
  const std::vector<EncodedDim>& info = encoding.dim_info();
  std::vector<int> chosen(dims, -1);
  std::vector<char> local;
  std::vector<char>& active = active_out != nullptr ? *active_out : local;
  active.assign(dims, 0);
  for (int j = 0; j < dims;) {
    const EncodedDim& e = info[j];
    const bool act = e.parent_param_dim < 0 ||
                     (active[e.parent_param_dim] && chosen[e.parent_param_dim] == e.parent_option);
    if (e.type == EncodedDim::Type::kOneHot) {
      const int width = e.levels;
      if (act) {
        int best = 0;
        for (int i = 1; i < width; ++i)
          if (x[j + i] > x[j + best]) best = i;
        for (int i = 0; i < width; ++i) x[j + i] = i == best ? 1.0 : 0.0;
        chosen[j] = best;
      } else {
        for (int i = 0; i < width; ++i) x[j + i] = neutral[j + i];
      }
      for (int i = 0; i < width; ++i) active[j + i] = act;
      j += width;
      continue;
    }
    active[j] = act;
    if (!act) {
      x[j] = neutral[j];
    } else if (e.type == EncodedDim::Type::kContinuous) {
      x[j] = std::isnan(x[j]) ? 0.5 : std::clamp(x[j], 0.0, 1.0);
    } else {
      const double v = std::isnan(x[j]) ? 0.5 : std::clamp(x[j], 0.0, 1.0);
      const int bin = std::min(static_cast<int>(std::floor(v * e.levels)), e.levels - 1);
      x[j] = (bin + 0.5) / e.levels;
      chosen[j] = bin;
    }
    ++j;
  }
}

std::string EncodedSpace::KeyOf(const std::vector<double>& x, core::Config* config) const {
  core::Config decoded = encoding.Decode(x);
  std::string key = core::ConfigKey(decoded);
  if (config != nullptr) *config = std::move(decoded);
  return key;
}

Box SearchBox(const GpData& data, int anchor) {
  const int dims = static_cast<int>(data.x.cols());
  Box box{Eigen::VectorXd::Zero(dims), Eigen::VectorXd::Ones(dims)};
  if (anchor >= 0) {
    for (int j = 0; j < dims; ++j) {
      box.lo[j] = std::max(0.0, data.x(anchor, j) - kExploreBox);
      box.hi[j] = std::min(1.0, data.x(anchor, j) + kExploreBox);
    }
  }
  return box;
}

// 5b, recombinations.
Eigen::MatrixXd Recombinations(const EncodedSpace& space, const GpData& data,
                               const std::vector<int>& order, int count, Rng* rng) {
  const int dims = space.dims;
  const int parents = std::min<int>(kRecombinationParents, order.size());
  const std::vector<EncodedDim>& info = space.encoding.dim_info();
  boost::random::normal_distribution<double> normal;
  Eigen::MatrixXd out(count, dims);
  for (int i = 0; i < count; ++i) {
    for (int j = 0; j < dims;) {
      // One-hot groups travel whole, so the child's option is one of its parents'.
      const int width = info[j].type == EncodedDim::Type::kOneHot ? info[j].levels : 1;
      const int parent = order[(*rng)() % parents];
      for (int k = j; k < j + width; ++k) {
        out(i, k) = data.x(parent, k);
        if (!IsDiscrete(info[k].type)) {
          out(i, k) = std::clamp(out(i, k) + 0.01 * normal(*rng), 0.0, 1.0);
        }
      }
      j += width;
    }
  }
  return out;
}

// 5b.
std::vector<Scored> RankCandidates(const EncodedSpace& space, const GpData& data, int anchor,
                                   const Box& box, int model_size, bool recombine,
                                   const PendingPenalizedLogEi& acq, Rng* rng) {
  const int dims = space.dims;
  const int n = static_cast<int>(data.y.size());
  const int m_sobol = std::clamp(
      static_cast<int>(3e7 / (static_cast<double>(model_size) * model_size + 1.0)), 256, 2048);
  const int m_local = std::max(64, m_sobol / 4);
  const int m_cross = recombine && anchor < 0 ? m_local / 2 : 0;
  boost::random::uniform_real_distribution<double> u(0.0, 1.0);
  boost::random::normal_distribution<double> normal;
  std::vector<double> shift(dims);
  for (double& s : shift) s = u(*rng);
  Eigen::MatrixXd cand(m_sobol + m_local + m_cross, dims);
  cand.topRows(m_sobol) = SobolPoints(dims, 1 + ((*rng)() % (1u << 20)), m_sobol, shift, *rng);
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return data.y[a] < data.y[b]; });
  int top = std::min(3, n);
  if (anchor >= 0) {
    for (int i = 0; i < m_sobol; ++i)
      for (int j = 0; j < dims; ++j) cand(i, j) = box.lo[j] + cand(i, j) * (box.hi[j] - box.lo[j]);
    order[0] = anchor;
    top = 1;
  }
  const std::vector<EncodedDim>& info = space.encoding.dim_info();
  const double p_dim = std::min(1.0, 4.0 / dims);
  constexpr double kScales[] = {0.01, 0.03, 0.1, 0.25};
  for (int i = 0; i < m_local; ++i) {
    const int center = u(*rng) < 0.5 ? order[0] : order[(*rng)() % top];
    const double scale = kScales[(*rng)() % 4];
    Eigen::RowVectorXd x = data.x.row(center);
    const int forced = static_cast<int>((*rng)() % dims);
    for (int j = 0; j < dims; ++j) {
      if (j != forced && u(*rng) >= p_dim) continue;
      if (IsDiscrete(info[j].type)) {
        x[j] = u(*rng);
      } else {
        x[j] = std::clamp(x[j] + scale * normal(*rng), box.lo[j], box.hi[j]);
      }
    }
    cand.row(m_sobol + i) = x;
  }
  if (m_cross > 0) {
    cand.bottomRows(m_cross) = Recombinations(space, data, order, m_cross, rng);
  }
  for (Eigen::Index i = 0; i < cand.rows(); ++i) {
    Eigen::RowVectorXd row = cand.row(i);
    space.Project(row.data());
    cand.row(i) = row;
  }
  const Eigen::VectorXd scores = acq.ScoreRows(cand);
  std::vector<Scored> ranked;
  ranked.reserve(cand.rows());
  for (Eigen::Index i = 0; i < cand.rows(); ++i) {
    ranked.push_back({scores[i], std::vector<double>(dims)});
    for (int j = 0; j < dims; ++j) ranked.back().x[j] = cand(i, j);
  }
  std::sort(ranked.begin(), ranked.end(),
            [](const Scored& a, const Scored& b) { return a.log_ei > b.log_ei; });
  return ranked;
}

// 5c.
std::vector<Scored> Refine(const EncodedSpace& space, const std::vector<Scored>& ranked,
                           const Box& box, const PendingPenalizedLogEi& acq) {
  const int dims = space.dims;
  const std::vector<EncodedDim>& info = space.encoding.dim_info();
  std::vector<Scored> refined;
  std::vector<int> continuous;
  for (int j = 0; j < dims; ++j)
    if (!IsDiscrete(info[j].type)) continuous.push_back(j);
  for (const Scored& s : ranked) {
    if (static_cast<int>(refined.size()) >= kRefineStarts) break;
    bool distinct = true;
    for (const Scored& r : refined) {
      double d2 = 0;
      for (int j = 0; j < dims; ++j) d2 += (r.x[j] - s.x[j]) * (r.x[j] - s.x[j]);
      if (d2 < 1e-8) distinct = false;
    }
    if (!distinct) continue;
    Eigen::VectorXd x0 = Eigen::Map<const Eigen::VectorXd>(s.x.data(), dims);
    Eigen::VectorXd lower = x0, upper = x0;
    std::vector<char> active;
    std::vector<double> probe = s.x;
    space.Project(probe.data(), &active);
    bool any = false;
    for (int j : continuous) {
      if (!active[j]) continue;  // inactive dims sit at their neutral value
      lower[j] = std::min(box.lo[j], x0[j]);
      upper[j] = std::max(box.hi[j], x0[j]);
      any = true;
    }
    Scored out = s;
    if (any) {
      LbfgsOptions lo;
      lo.max_iterations = kRefineIterations;
      lo.gradient_tolerance = 1e-7;
      LbfgsResult r = MinimizeBoxLbfgs(
          [&](const Eigen::VectorXd& x, Eigen::VectorXd* grad) {
            return -acq.ScoreWithGradient(x, &(*grad = Eigen::VectorXd(x.size())));
          },
          x0, lower, upper, lo);
      // The refinement gradient already vanishes on fixed dims; re-project for safety.
      std::vector<double> x(r.x.data(), r.x.data() + dims);
      space.Project(x.data());
      Eigen::Map<const Eigen::VectorXd> xm(x.data(), dims);
      Eigen::VectorXd g;
      const double v = acq.ScoreWithGradient(xm, &g);
      if (v > out.log_ei) out = {v, std::move(x)};
    }
    refined.push_back(std::move(out));
  }
  return refined;
}

// 5d.
void CoordinateSteps(const EncodedSpace& space, const PendingPenalizedLogEi& acq,
                     std::vector<Scored>* refined) {
  const int dims = space.dims;
  const std::vector<EncodedDim>& info = space.encoding.dim_info();
  std::sort(refined->begin(), refined->end(),
            [](const Scored& a, const Scored& b) { return a.log_ei > b.log_ei; });
  const bool has_discrete =
      std::any_of(info.begin(), info.end(), [](const EncodedDim& e) { return IsDiscrete(e.type); });
  if (!has_discrete || refined->empty()) return;
  Scored& cur = refined->front();
  for (int pass = 0; pass < 3; ++pass) {
    std::vector<std::vector<double>> neighbours;
    for (int j = 0; j < dims;) {
      const EncodedDim& e = info[j];
      if (e.type == EncodedDim::Type::kOneHot) {
        for (int o = 0; o < e.levels; ++o) {
          if (cur.x[j + o] == 1.0) continue;
          std::vector<double> x = cur.x;
          for (int i = 0; i < e.levels; ++i) x[j + i] = i == o ? 1.0 : 0.0;
          neighbours.push_back(std::move(x));
        }
        j += e.levels;
        continue;
      }
      if (IsDiscrete(e.type)) {
        const int bin = std::min(static_cast<int>(std::floor(cur.x[j] * e.levels)), e.levels - 1);
        for (int b = 0; b < e.levels; ++b) {
          const int dist = std::abs(b - bin);
          if (dist == 0 || (e.levels > 16 && dist > 2 && dist != 4 && dist != 8)) continue;
          std::vector<double> x = cur.x;
          x[j] = (b + 0.5) / e.levels;
          neighbours.push_back(std::move(x));
        }
      }
      ++j;
    }
    if (neighbours.empty()) break;
    Eigen::MatrixXd m(neighbours.size(), dims);
    for (size_t r = 0; r < neighbours.size(); ++r) {
      space.Project(neighbours[r].data());
      for (int j = 0; j < dims; ++j) m(r, j) = neighbours[r][j];
    }
    const Eigen::VectorXd s = acq.ScoreRows(m);
    Eigen::Index arg;
    if (s.maxCoeff(&arg) <= cur.log_ei) break;
    cur = {s[arg], neighbours[arg]};
  }
}

// 6.
std::optional<core::Config> BestUntried(const EncodedSpace& space, std::vector<Scored> refined,
                                        std::vector<Scored> ranked,
                                        const std::unordered_set<std::string>& tried, Rng* rng,
                                        std::vector<std::string>* notes) {
  std::vector<Scored> finalists = std::move(refined);
  finalists.insert(finalists.end(), std::make_move_iterator(ranked.begin()),
                   std::make_move_iterator(ranked.end()));
  std::stable_sort(finalists.begin(), finalists.end(),
                   [](const Scored& a, const Scored& b) { return a.log_ei > b.log_ei; });
  for (const Scored& s : finalists) {
    core::Config config;
    if (tried.count(space.KeyOf(s.x, &config))) continue;
    return config;
  }
  boost::random::uniform_real_distribution<double> u(0.0, 1.0);
  for (int i = 0; i < 1000; ++i) {
    std::vector<double> x(space.dims);
    for (double& v : x) v = u(*rng);
    space.Project(x.data());
    core::Config config;
    if (!tried.count(space.KeyOf(x, &config))) return config;
  }
  notes->push_back("no untried configuration found; the space looks exhausted");
  return std::nullopt;
}

}  // namespace sweep::samplers
