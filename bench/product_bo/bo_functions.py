"""Benchmark functions with known minima, shared by the Optuna runner and the
product-path training script. Each entry: (bounds per dimension, f, minimum value).
The C++ twins live in bench/bo_bench.cc; keep both in sync."""
import math

_HART_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
           [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
_HART_P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
           [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]
_HART_ALPHA = [1.0, 1.2, 3.0, 3.2]


def branin(x):
    x1, x2 = x
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def hartmann(x, a, p, alpha=_HART_ALPHA):
    """The Hartmann family: -sum_i alpha_i exp(-sum_j a_ij (x_j - p_ij 1e-4)^2)."""
    total = 0.0
    for i in range(len(alpha)):
        inner = sum(a[i][j] * (x[j] - p[i][j] * 1e-4) ** 2 for j in range(len(x)))
        total -= alpha[i] * math.exp(-inner)
    return total


def hartmann6(x):
    return hartmann(x, _HART_A, _HART_P)


def rosenbrock(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


def ackley(x):
    d = len(x)
    s1 = sum(v * v for v in x) / d
    s2 = sum(math.cos(2 * math.pi * v) for v in x) / d
    return -20 * math.exp(-0.2 * math.sqrt(s1)) - math.exp(s2) + 20 + math.e


def levy(x):
    w = [1 + (v - 1) / 4 for v in x]
    total = math.sin(math.pi * w[0]) ** 2
    for v in w[:-1]:
        total += (v - 1) ** 2 * (1 + 10 * math.sin(math.pi * v + 1) ** 2)
    total += (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)
    return total


FUNCTIONS = {
    "branin": ([(-5.0, 10.0), (0.0, 15.0)], branin, 0.397887357729739),
    "hartmann6": ([(0.0, 1.0)] * 6, hartmann6, -3.32236801141551),
    "rosenbrock4": ([(-5.0, 10.0)] * 4, rosenbrock, 0.0),
    "ackley5": ([(-32.768, 32.768)] * 5, ackley, 0.0),
    "levy5": ([(-10.0, 10.0)] * 5, levy, 0.0),
}
