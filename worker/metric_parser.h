// Metrics reported by a trial command, in the two formats of docs/spec.md ("Metrics from
// the training command").
//
// 1. stdout lines of `name=value` pairs (the Katib format):
//      epoch=3 accuracy=0.91 loss=0.2
//      accuracy=0.91, loss=0.2; lr = 0.01
//    - Pairs are separated by whitespace, ',' or ';'. Spaces around '=' are allowed.
//    - A name starts with a letter or '_' and continues with letters, digits, '_', '-',
//      '.', '/' (e.g. `val/acc`, `train.loss`). It must start the line or follow a
//      separator, so `--lr=0.1` (a command line) or `Namespace(lr=0.1)` (an argparse
//      dump) are not metrics.
//    - A value is a whole number token parsed as a double; `nan`, `inf`, `-inf`,
//      `infinity` (any case) are accepted as such. Anything else (`0.5%`, `svm`) makes
//      that pair ignored, never the line or the trial.
//    - `step` (or else `epoch`) with a non-negative integral value is the step of the
//      other points on the line; these two keys are not reported as metrics.
//    - `name: value` is deliberately NOT a metric: log prefixes (`INFO: ...`) and
//      times (`12:30`) would turn into spurious metrics.
//    - Lines without any pair are ignored.
// 2. JSON lines appended to $SWEEP_METRICS_FILE, one object per line:
//      {"name": "accuracy", "value": 0.91, "step": 3}
//      {"accuracy": 0.91, "loss": 0.2, "step": 3}      (dict form; "epoch" also a step)
//    Python's bare NaN / Infinity / -Infinity literals are accepted, as are the strings
//    "nan", "inf", "-inf", "infinity". Other non-numeric values are ignored.
//
// The parse functions are pure; timestamps are added by the caller from a Clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/env.h"

namespace sweep::worker {

struct ParsedMetric {
  std::string name;
  double value = 0;
  int64_t step = -1;  // -1: the line gave none
};

// Longest metric name accepted; longer names are ignored.
inline constexpr size_t kMaxMetricNameLength = 256;

// A double from a whole token ("0.91", "+1e-3", "nan", "-inf"); nullopt otherwise.
std::optional<double> ParseMetricValue(std::string_view text);

// The metric points of one stdout line (see the format above). Never fails.
std::vector<ParsedMetric> ParseMetricLine(std::string_view line);

// The metric points of one JSON line. A blank line yields no points. InvalidArgument
// when the line is not a JSON object (the message says why, for the worker's log).
absl::StatusOr<std::vector<ParsedMetric>> ParseMetricJsonLine(std::string_view line);

// Splits a byte stream into lines. A line ends at '\n'; a trailing '\r' is removed.
// A line longer than max_line_bytes is cut into pieces of that size so a process that
// never writes a newline cannot grow memory without bound. Not thread-safe.
class LineSplitter {
 public:
  explicit LineSplitter(size_t max_line_bytes = 64 * 1024) : max_(max_line_bytes) {}

  // Appends bytes and returns the lines they completed, in order.
  std::vector<std::string> Append(std::string_view data);
  // The unterminated rest (the stream ended), if any; clears it.
  std::optional<std::string> Finish();
  void Reset() {
    partial_.clear();
    after_cut_ = false;
  }

 private:
  size_t max_;
  std::string partial_;
  bool after_cut_ = false;  // the last bytes completed a cut piece
};

// Follows a JSON-lines metrics file while the trial appends to it: each Poll reads what
// was appended since the previous one and parses the complete lines; a partial last
// line waits for its newline. Finish (after the trial exited) also parses an
// unterminated last line. A missing (or unreadable) file yields nothing; a file that shrank
// is read again from the start. Malformed lines are counted and the first few logged. The
// file is read through `env` (not owned). Not thread-safe.
class MetricsFileTailer {
 public:
  explicit MetricsFileTailer(std::string path, core::Env* env = core::Env::Default())
      : path_(std::move(path)), env_(env) {}

  std::vector<ParsedMetric> Poll();
  std::vector<ParsedMetric> Finish();

  int64_t malformed_lines() const { return malformed_lines_; }

 private:
  void ParseLines(const std::vector<std::string>& lines, std::vector<ParsedMetric>* out);

  std::string path_;
  core::Env* env_;
  uint64_t offset_ = 0;
  LineSplitter splitter_;
  int64_t malformed_lines_ = 0;
};

}  // namespace sweep::worker
