// Trial values as the GP sampler models them: robust target transform, subsets of the
// history above the model and fit caps, and the convergence test behind its
// second-basin exploration (gp_sampler.h, steps 2, 4 and 7).
//
// Thread safety: pure functions.
#pragma once

#include <Eigen/Dense>
#include <vector>

namespace sweep::samplers {

// Values far on the bad side, beyond median + 3 robust sd (IQR/1.349), are compressed
// logarithmically (t + s log1p((y - t)/s), capped at kOutlierCap scales). With `power`,
// the values, measured up from the best one in robust scales, then go through a
// Yeo-Johnson transform whose lambda in [0, 1] makes them as Gaussian as possible:
// objectives with a long bad tail (most objectives with a large range) get their bad
// end compressed and their good end spread out; symmetric ones keep lambda = 1, the
// identity. The result is standardised. `capped` (optional) receives which values hit
// the cap.
constexpr double kOutlierCap = 5.0;
Eigen::VectorXd TransformTargets(const std::vector<double>& y, std::vector<char>* capped,
                                 bool power = false);

// The Yeo-Johnson transform (Yeo & Johnson 2000) and the lambda in [lo, hi] that
// maximises the Gaussian profile likelihood of the transformed x.
double YeoJohnson(double x, double lambda);
double FitYeoJohnson(const std::vector<double>& x, double lo, double hi);

// Indices (ascending) of at most `cap` entries of `y` (trial order, lower is better):
// all of them up to the cap; above it the best third, the most recent third, and an
// even spread of the rest.
std::vector<int> SelectSubset(const std::vector<double>& y, int cap);

// True when the best of `y` (trial order, lower is better) improved by less than
// `tolerance` times its depth below the typical value (the median of the first `design`
// entries, the initial design) over the last `window` entries.
bool Converged(const std::vector<double>& y, int window, int design, double tolerance);

}  // namespace sweep::samplers
