"""The test functions of bench/bo_suite_problems.py: functions of a vector (a list of
floats) to minimise, and the fixed shifts and rotations that move their optima.

Functions follow the usual definitions (Surjanovic & Bingham's library, BBOB); where a
BBOB function is simplified (no oscillation or asymmetry transform), its docstring says so.
"""
import math
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "product_bo"))
from bo_functions import hartmann  # noqa: E402

# ---- functions of a vector ----

_H3_A = [[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]]
_H3_P = [[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]]


def hartmann3(x):
    return hartmann(x, _H3_A, _H3_P)


def six_hump_camel(x):
    a, b = x
    return (4 - 2.1 * a * a + a ** 4 / 3) * a * a + a * b + (-4 + 4 * b * b) * b * b


def rastrigin(x):
    return 10 * len(x) + sum(v * v - 10 * math.cos(2 * math.pi * v) for v in x)


def styblinski_tang(x):
    return 0.5 * sum(v ** 4 - 16 * v * v + 5 * v for v in x)


def schwefel(x):
    return 418.9828872724338 * len(x) - sum(v * math.sin(math.sqrt(abs(v))) for v in x)


def griewank(x):
    s = sum(v * v for v in x) / 4000
    p = 1.0
    for i, v in enumerate(x):
        p *= math.cos(v / math.sqrt(i + 1))
    return s - p + 1


def michalewicz(x, m=10):
    return -sum(math.sin(v) * math.sin((i + 1) * v * v / math.pi) ** (2 * m)
                for i, v in enumerate(x))


def zakharov(x):
    s = sum(0.5 * (i + 1) * v for i, v in enumerate(x))
    return sum(v * v for v in x) + s ** 2 + s ** 4


def dixon_price(x):
    return (x[0] - 1) ** 2 + sum((i + 1) * (2 * x[i] ** 2 - x[i - 1]) ** 2
                                 for i in range(1, len(x)))


def eggholder(x):
    a, b = x
    return (-(b + 47) * math.sin(math.sqrt(abs(b + a / 2 + 47)))
            - a * math.sin(math.sqrt(abs(a - (b + 47)))))


def powell(x):
    return sum((x[i] + 10 * x[i + 1]) ** 2 + 5 * (x[i + 2] - x[i + 3]) ** 2
               + (x[i + 1] - 2 * x[i + 2]) ** 4 + 10 * (x[i] - x[i + 3]) ** 4
               for i in range(0, len(x) - 3, 4))


def alpine1(x):
    return sum(abs(v * math.sin(v) + 0.1 * v) for v in x)


def salomon(x):
    r = math.sqrt(sum(v * v for v in x))
    return 1 - math.cos(2 * math.pi * r) + 0.1 * r


def goldstein_price(x):
    a, b = x
    f1 = 1 + (a + b + 1) ** 2 * (19 - 14 * a + 3 * a * a - 14 * b + 6 * a * b + 3 * b * b)
    f2 = 30 + (2 * a - 3 * b) ** 2 * (18 - 32 * a + 12 * a * a + 48 * b - 36 * a * b + 27 * b * b)
    return f1 * f2


def ellipsoid(z, condition=1e6):
    d = len(z)
    return sum(condition ** (i / (d - 1)) * v * v for i, v in enumerate(z))


_FACE_CENTRE = (5.0, -5.0, 5.0, 1.3, -2.1, 0.7)


def face_optimum(x):
    """A bowl with ripples whose minimum has three coordinates on the box's faces, as
    hyperparameters often do (the best learning rate or penalty at the end of its range)."""
    z = [v - c for v, c in zip(x, _FACE_CENTRE)]
    return sum(v * v + 3 * (1 - math.cos(2 * math.pi * v)) for v in z)


def step_ellipsoid(z):
    """BBOB's step ellipsoid (f7) without its boundary penalty: the coordinates are
    rounded (to integers beyond 0.5, to tenths within), so the surface is made of plateaus,
    like a metric measured on a small validation set; condition 100."""
    d = len(z)
    zq = [math.floor(0.5 + v) if abs(v) > 0.5 else math.floor(0.5 + 10 * v) / 10 for v in z]
    return 0.1 * max(abs(zq[0]) / 1e4,
                     sum(100 ** (i / (d - 1)) * v * v for i, v in enumerate(zq)))


_SHEKEL_C = [0.1, 0.2, 0.2, 0.4, 0.4, 0.6, 0.3, 0.7, 0.5, 0.5]
_SHEKEL_A = [[4, 4, 4, 4], [1, 1, 1, 1], [8, 8, 8, 8], [6, 6, 6, 6], [3, 7, 3, 7],
             [2, 9, 2, 9], [5, 5, 3, 3], [8, 1, 8, 1], [6, 2, 6, 2], [7, 3.6, 7, 3.6]]


def shekel(x):
    return -sum(1.0 / (sum((x[j] - a[j]) ** 2 for j in range(4)) + c)
                for a, c in zip(_SHEKEL_A, _SHEKEL_C))


def bukin6(x):
    return 100 * math.sqrt(abs(x[1] - 0.01 * x[0] ** 2)) + 0.01 * abs(x[0] + 10)


def holder_table(x):
    r = math.sqrt(x[0] ** 2 + x[1] ** 2)
    return -abs(math.sin(x[0]) * math.cos(x[1]) * math.exp(abs(1 - r / math.pi)))


def drop_wave(x):
    r2 = x[0] ** 2 + x[1] ** 2
    return -(1 + math.cos(12 * math.sqrt(r2))) / (0.5 * r2 + 2)


def weierstrass(x, a=0.5, b=3, k_max=20):
    """CEC 2005's F11 (unshifted): continuous, nowhere differentiable; minimum 0 at 0."""
    terms = [(a ** k, math.pi * b ** k) for k in range(k_max + 1)]
    offset = len(x) * sum(c * math.cos(w) for c, w in terms)
    return sum(c * math.cos(2 * w * (v + 0.5)) for v in x for c, w in terms) - offset


def sharp_ridge(z):
    """BBOB's sharp ridge (f13) without its conditioning: a parabola along z1 and a cone
    across it, so the valley floor is a crease with no gradient pointing along it."""
    return z[0] ** 2 + 100 * math.sqrt(sum(v * v for v in z[1:]))


def schaffer_f7(z, condition=10.0):
    """BBOB's Schaffer F7 (f17) without its asymmetry transform: rings of ripples whose
    frequency grows towards the optimum, on axes scaled up to `condition`."""
    d = len(z)
    z = [condition ** (0.5 * i / (d - 1)) * v for i, v in enumerate(z)]
    s = [math.sqrt(z[i] ** 2 + z[i + 1] ** 2) for i in range(d - 1)]
    return (sum(math.sqrt(v) * (1 + math.sin(50 * v ** 0.2) ** 2) for v in s) / (d - 1)) ** 2


def bent_cigar(z, condition=1e4):
    """BBOB's bent cigar (f12) without its asymmetry transform: one long axis, the others
    `condition` times steeper."""
    return z[0] ** 2 + condition * sum(v * v for v in z[1:])


def different_powers(z):
    """BBOB's different powers (f14): exponents from 2 to 6, so some axes are nearly flat
    near the optimum."""
    d = len(z)
    return math.sqrt(sum(abs(v) ** (2 + 4 * i / (d - 1)) for i, v in enumerate(z)))


def shubert(x):
    """Shubert: 18 global minima among some 760 local ones in [-10, 10]^2."""
    p = 1.0
    for v in x:
        p *= sum(i * math.cos((i + 1) * v + i) for i in range(1, 6))
    return p


def cross_in_tray(x):
    a, b = x
    r = math.sqrt(a * a + b * b)
    return -0.0001 * (abs(math.sin(a) * math.sin(b) * math.exp(abs(100 - r / math.pi))) + 1) ** 0.1


def lunacek(d, seed):
    """BBOB's Lunacek bi-Rastrigin (f24) without rotations: two funnels of Rastrigin
    ripples; the global one (at +-2.5 per coordinate, signs seeded) is the narrower, the
    other covers more of the box. Minimum 0."""
    mu0, depth = 2.5, 1.0
    s = 1 - 1 / (2 * math.sqrt(d + 20) - 8.2)
    mu1 = -math.sqrt((mu0 * mu0 - depth) / s)
    signs = [1.0 if v > 0 else -1.0 for v in _shift(d, seed, -1, 1)]

    def f(x):
        xh = [sg * v for sg, v in zip(signs, x)]
        funnels = min(sum((v - mu0) ** 2 for v in xh),
                      depth * d + s * sum((v - mu1) ** 2 for v in xh))
        return funnels + 10 * sum(1 - math.cos(2 * math.pi * (v - mu0)) for v in xh)
    return f


def gallagher(d, peaks, seed):
    """BBOB's Gallagher Gaussian peaks (f21/f22) without its oscillation transform:
    `peaks` rotated ellipsoidal Gaussian peaks of seeded heights, places and conditions
    (up to 1000); the value is 10 minus the highest peak's height at x, minimum 0 at the
    global peak."""
    rng = random.Random(seed)
    rotation = _rotation(d, seed + 1000)
    centres = [[rng.uniform(-3.92, 3.92) for _ in range(d)]]
    centres += [[rng.uniform(-4.9, 4.9) for _ in range(d)] for _ in range(peaks - 1)]
    heights = [10.0] + [1.1 + 8 * i / (peaks - 2) for i in range(peaks - 1)]
    order = list(range(peaks - 1))
    rng.shuffle(order)
    alphas = [1000.0] + [1000 ** (2 * j / (peaks - 2)) for j in order]
    scales = []
    for a in alphas:
        diag = [a ** (0.5 * k / (d - 1)) / a ** 0.25 for k in range(d)]
        rng.shuffle(diag)
        scales.append(diag)

    def f(x):
        best = 0.0
        for y, h, diag in zip(centres, heights, scales):
            u = [v - c for v, c in zip(x, y)]
            z = [sum(a * b for a, b in zip(row, u)) for row in rotation]
            best = max(best, h * math.exp(-sum(c * v * v for c, v in zip(diag, z)) / (2 * d)))
        return 10 - best
    return f


# ---- shifts and rotations (fixed, reproducible) ----

def _rotation(d, seed):
    """A random orthogonal d x d matrix (Gram-Schmidt on a seeded Gaussian matrix)."""
    rng = random.Random(seed)
    rows = []
    while len(rows) < d:
        v = [rng.gauss(0, 1) for _ in range(d)]
        for r in rows:
            dot = sum(a * b for a, b in zip(v, r))
            v = [a - dot * b for a, b in zip(v, r)]
        norm = math.sqrt(sum(a * a for a in v))
        if norm > 1e-6:
            rows.append([a / norm for a in v])
    return rows


def _shift(d, seed, lo, hi):
    rng = random.Random(seed)
    return [rng.uniform(lo, hi) for _ in range(d)]


def transformed(f, d, seed, shift_range, rotate, centre=0.0):
    """x -> f(centre + R (x - o)): the optimum of f at `centre` moves to o."""
    o = _shift(d, seed, *shift_range)
    r = _rotation(d, seed + 1000) if rotate else None

    def g(x):
        z = [v - s for v, s in zip(x, o)]
        if r is not None:
            z = [sum(a * b for a, b in zip(row, z)) for row in r]
        return f([centre + v for v in z])
    return g
