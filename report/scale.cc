#include "report/scale.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sweep::report {
namespace {

// The "nice" number near x (1, 2, 5 times a power of ten), rounded or not (Heckbert).
double NiceNumber(double x, bool round) {
  double exponent = std::floor(std::log10(x));
  double fraction = x / std::pow(10.0, exponent);
  double nice;
  if (round) {
    nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  } else {
    nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  }
  return nice * std::pow(10.0, exponent);
}

std::string Printf(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

std::string DecadeLabel(int exponent) {
  if (exponent < -3 || exponent > 4) return "1e" + std::to_string(exponent);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", std::max(0, -exponent), std::pow(10.0, exponent));
  return buf;
}

}  // namespace

Scale Scale::Linear(double lo, double hi, int max_ticks, bool integer) {
  Scale s;
  s.kind_ = Kind::kLinear;
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (lo > hi) std::swap(lo, hi);
  if (lo == hi) {
    double pad = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  double range = NiceNumber(hi - lo, false);
  double step = NiceNumber(range / std::max(1, max_ticks - 1), true);
  if (integer) step = std::max(step, 1.0);
  s.lo_ = std::floor(lo / step) * step;
  s.hi_ = std::ceil(hi / step) * step;
  for (double v = s.lo_; v <= s.hi_ + step * 0.5; v += step) {
    double clean = std::abs(v) < step * 1e-9 ? 0 : v;  // no "-0" or 1e-17
    s.ticks_.push_back({clean, FormatTickValue(clean, step)});
  }
  return s;
}

Scale Scale::Log(double lo, double hi) {
  Scale s;
  s.kind_ = Kind::kLog;
  if (!(lo > 0) || !(hi > 0)) lo = 1, hi = 10;
  if (lo > hi) std::swap(lo, hi);
  int first = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
  int last = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
  if (last == first) ++last;
  s.lo_ = first;
  s.hi_ = last;
  int stride = std::max(1, (last - first + 5) / 6);  // at most ~7 labelled decades
  for (int e = first; e <= last; e += stride) {
    s.ticks_.push_back({std::pow(10.0, e), DecadeLabel(e)});
  }
  if (last - first == 1) {  // one decade: 2 and 5 help reading values
    for (double m : {2.0, 5.0}) {
      double v = m * std::pow(10.0, first);
      s.ticks_.push_back({v, FormatShort(v)});
    }
    std::sort(s.ticks_.begin(), s.ticks_.end(),
              [](const Tick& a, const Tick& b) { return a.value < b.value; });
  }
  return s;
}

Scale Scale::Categorical(std::vector<std::string> labels) {
  Scale s;
  s.kind_ = Kind::kCategorical;
  s.lo_ = -0.5;
  s.hi_ = std::max<double>(1, labels.size()) - 0.5;
  for (size_t i = 0; i < labels.size(); ++i) {
    s.ticks_.push_back({static_cast<double>(i), std::move(labels[i])});
  }
  return s;
}

double Scale::Position(double value) const {
  double v = kind_ == Kind::kLog ? std::log10(value) : value;
  return (v - lo_) / (hi_ - lo_);
}

std::string FormatTickValue(double value, double step) {
  if (value == 0) return "0";
  double magnitude = std::max(std::abs(value), step);
  if (magnitude >= 1e6 || std::abs(step) < 1e-4) return Printf("%.3g", value);
  int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string FormatShort(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return Printf("%.4g", value);
}

}  // namespace sweep::report
