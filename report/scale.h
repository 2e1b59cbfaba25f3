// Axis scales for the plots: linear and log scales with "nice" ticks, and categorical
// scales with evenly spaced categories.
//
// Thread safety: immutable value type.
#pragma once

#include <string>
#include <vector>

namespace sweep::report {

struct Tick {
  double value = 0;  // in data units (a category index for categorical scales)
  std::string label;
};

class Scale {
 public:
  // [lo, hi] widened to round tick values ("nice"); a single value gets some room.
  // `integer`: ticks on whole numbers only (trial numbers, intervals).
  static Scale Linear(double lo, double hi, int max_ticks = 6, bool integer = false);
  // Log10 scale over whole decades around [lo, hi]; requires 0 < lo <= hi.
  static Scale Log(double lo, double hi);
  // Categories at 0, 1, ..., n-1, each in the middle of its own band.
  static Scale Categorical(std::vector<std::string> labels);

  // Where `value` lies, 0 at the low end and 1 at the high end (may fall outside [0, 1]
  // for values outside the domain).
  double Position(double value) const;
  const std::vector<Tick>& ticks() const { return ticks_; }
  bool is_log() const { return kind_ == Kind::kLog; }
  bool is_categorical() const { return kind_ == Kind::kCategorical; }
  double lo() const { return lo_; }
  double hi() const { return hi_; }

 private:
  enum class Kind { kLinear, kLog, kCategorical };
  Kind kind_ = Kind::kLinear;
  double lo_ = 0, hi_ = 1;  // the domain (log: exponents of 10; categorical: -0.5..n-0.5)
  std::vector<Tick> ticks_;
};

// A tick label: the shortest text that tells ticks `step` apart ("0.25", "1e-05",
// "12k" is not used: numbers stay numbers).
std::string FormatTickValue(double value, double step);
// A value for a tooltip or table: up to 4 significant digits ("0.9433", "1.2e-05").
std::string FormatShort(double value);

}  // namespace sweep::report
