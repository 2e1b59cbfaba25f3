// A small box-constrained L-BFGS minimiser used by the GP sampler, both to fit kernel
// hyperparameters (log marginal likelihood) and to refine acquisition maxima.
//
// Why our own: the problems are tiny (d + 2 variables, or the search-space dimension)
// and smooth with analytic gradients, and no Debian -dev package in the project's
// dependency set (Eigen, Boost, ...) ships a bound-constrained quasi-Newton method
// (Eigen's unsupported NonLinearOptimization module is unconstrained and
// Levenberg-Marquardt/hybrid oriented; liblbfgsb0 ships no headers).
//
// Method: projected L-BFGS. Variables sitting on a bound whose gradient pushes them
// outward are frozen for the step; the search direction comes from the two-loop
// recursion on the free variables; a backtracking (Armijo) line search runs along the
// projected path P(x + a d). The memory is reset when the direction is not a descent
// direction. Non-finite function values are treated as +inf and make the search
// backtrack, so callers may return NaN for points they cannot evaluate.
//
// Thread safety: a pure function; safe to call concurrently.
#pragma once

#include <Eigen/Dense>
#include <functional>

namespace sweep::samplers {

struct LbfgsOptions {
  int max_iterations = 100;
  int memory = 8;
  // Stop when the infinity norm of the projected gradient falls below this.
  double gradient_tolerance = 1e-6;
  // Stop when an iteration improves f by less than this times max(1, |f|).
  double relative_tolerance = 1e-10;
  // Maximum backtracking steps per line search.
  int max_line_search_steps = 30;
};

struct LbfgsResult {
  Eigen::VectorXd x;  // best point found (always within the box)
  double value = 0;   // f(x)
  int iterations = 0;
  int evaluations = 0;
  bool converged = false;  // a tolerance was met (vs. iteration limit or stall)
};

// f(x, grad) returns f at x and writes its gradient into *grad (already sized).
using ObjectiveWithGradient =
    std::function<double(const Eigen::VectorXd& x, Eigen::VectorXd* grad)>;

// Minimises f over lower <= x <= upper starting from x0 (projected into the box first).
// Preconditions: lower, upper and x0 have the same size and lower <= upper.
LbfgsResult MinimizeBoxLbfgs(const ObjectiveWithGradient& f, const Eigen::VectorXd& x0,
                             const Eigen::VectorXd& lower, const Eigen::VectorXd& upper,
                             const LbfgsOptions& options = {});

}  // namespace sweep::samplers
