#include "worker/metric_parser.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "absl/container/inlined_vector.h"
#include "nlohmann/json.hpp"
#include "worker/logging.h"

namespace sweep::worker {
namespace {

bool IsSeparator(char c) {
  return c == ' ' || c == '\t' || c == ',' || c == ';' || c == '\r' || c == '\n' || c == '\v' ||
         c == '\f';
}

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

bool IsNameChar(char c) {
  return IsNameStart(c) || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '/';
}

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxMetricNameLength || !IsNameStart(name[0])) {
    return false;
  }
  for (char c : name) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

// A non-negative integral double as a step.
std::optional<int64_t> AsStep(double value) {
  if (!std::isfinite(value) || value < 0 || value != std::floor(value) || value > 9e15) {
    return std::nullopt;
  }
  return static_cast<int64_t>(value);
}

bool IsStepKey(std::string_view name) { return name == "step" || name == "epoch"; }

// Picks the step of a record from its `step` (preferred) or `epoch` entries.
int64_t PickStep(std::optional<int64_t> step, std::optional<int64_t> epoch) {
  if (step) return *step;
  if (epoch) return *epoch;
  return -1;
}

// JSON has no NaN/Infinity, but Python's json.dumps writes them bare. Quote such
// literals (outside strings) so nlohmann can parse the line; the quoted forms are then
// accepted as non-finite values.
std::string QuoteNonFiniteLiterals(std::string_view line) {
  std::string out;
  out.reserve(line.size() + 8);
  bool in_string = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < line.size()) {
        out += line[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
      continue;
    }
    bool replaced = false;
    for (std::string_view literal : {"-Infinity", "Infinity", "NaN"}) {
      if (line.substr(i, literal.size()) == literal) {
        out += '"';
        out += literal;
        out += '"';
        i += literal.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += c;
  }
  return out;
}

// A JSON value as a metric value: numbers (not booleans) and non-finite strings.
std::optional<double> JsonNumber(const nlohmann::json& value) {
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) {
    std::optional<double> parsed = ParseMetricValue(value.get<std::string>());
    if (parsed && !std::isfinite(*parsed)) return parsed;
  }
  return std::nullopt;
}

std::optional<int64_t> JsonStep(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return std::nullopt;
  return AsStep(it->get<double>());
}

}  // namespace

std::optional<double> ParseMetricValue(std::string_view text) {
  if (text.empty()) return std::nullopt;
  bool negative = false;
  if (text[0] == '+' || text[0] == '-') {
    negative = text[0] == '-';
    text.remove_prefix(1);
    // "+-1" or "--1" are not numbers.
    if (text.empty() || text[0] == '+' || text[0] == '-') return std::nullopt;
  }
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ptr != text.data() + text.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    // from_chars leaves the value alone; strtod gives HUGE_VAL (inf) or the tiny result.
    value = std::strtod(std::string(text).c_str(), nullptr);
  } else if (ec != std::errc()) {
    return std::nullopt;
  }
  // "nan(...)" forms are accepted by from_chars; keep the sign out of NaN.
  if (std::isnan(value)) return std::numeric_limits<double>::quiet_NaN();
  return negative ? -value : value;
}

std::vector<ParsedMetric> ParseMetricLine(std::string_view line) {
  // A line holds a few pairs: kept inline, so a line costs no allocation but its points.
  absl::InlinedVector<std::pair<std::string_view, double>, 8> pairs;
  size_t pos = 0;         // where the search for the next '=' starts
  size_t name_floor = 0;  // a name cannot reach back before this
  while (pos < line.size()) {
    size_t eq = line.find('=', pos);
    if (eq == std::string_view::npos) break;
    // The name: name characters right before '=', spaces allowed in between.
    size_t j = eq;
    while (j > name_floor && (line[j - 1] == ' ' || line[j - 1] == '\t')) --j;
    size_t name_end = j;
    while (j > name_floor && IsNameChar(line[j - 1])) --j;
    std::string_view name = line.substr(j, name_end - j);
    bool name_ok = IsValidName(name) && (j == 0 || IsSeparator(line[j - 1]));
    // The value: the token after '=', spaces allowed in between.
    size_t k = eq + 1;
    while (k < line.size() && (line[k] == ' ' || line[k] == '\t')) ++k;
    size_t value_start = k;
    while (k < line.size() && !IsSeparator(line[k])) ++k;
    std::string_view value_text = line.substr(value_start, k - value_start);
    if (name_ok) {
      if (std::optional<double> value = ParseMetricValue(value_text)) {
        pairs.emplace_back(name, *value);
      }
    }
    pos = k > eq ? k : eq + 1;
    name_floor = pos;
  }

  std::optional<int64_t> step, epoch;
  for (const auto& [name, value] : pairs) {
    if (name == "step" && !step) step = AsStep(value);
    if (name == "epoch" && !epoch) epoch = AsStep(value);
  }
  int64_t line_step = PickStep(step, epoch);
  std::vector<ParsedMetric> points;
  points.reserve(pairs.size());
  for (const auto& [name, value] : pairs) {
    if (IsStepKey(name)) continue;
    points.push_back({std::string(name), value, line_step});
  }
  return points;
}

absl::StatusOr<std::vector<ParsedMetric>> ParseMetricJsonLine(std::string_view line) {
  size_t first = line.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return std::vector<ParsedMetric>{};
  nlohmann::json object =
      nlohmann::json::parse(QuoteNonFiniteLiterals(line), nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) {
    return absl::InvalidArgumentError("metrics line is not valid JSON");
  }
  if (!object.is_object()) {
    return absl::InvalidArgumentError(
        "metrics line is not a JSON object (expected {\"name\": ..., \"value\": ...} "
        "or {\"<metric>\": <value>, ...})");
  }
  int64_t step = PickStep(JsonStep(object, "step"), JsonStep(object, "epoch"));
  std::vector<ParsedMetric> points;
  auto name_it = object.find("name");
  if (name_it != object.end() && name_it->is_string() && object.contains("value")) {
    std::string name = name_it->get<std::string>();
    std::optional<double> value = JsonNumber(object["value"]);
    if (IsValidName(name) && value) points.push_back({name, *value, step});
    return points;
  }
  for (const auto& [key, value] : object.items()) {
    if (IsStepKey(key) || !IsValidName(key)) continue;
    if (std::optional<double> number = JsonNumber(value)) {
      points.push_back({key, *number, step});
    }
  }
  return points;
}

std::vector<std::string> LineSplitter::Append(std::string_view data) {
  std::vector<std::string> lines;
  while (!data.empty()) {
    size_t newline = data.find('\n');
    std::string_view chunk = newline == std::string_view::npos ? data : data.substr(0, newline);
    while (!chunk.empty()) {
      size_t room = max_ > partial_.size() ? max_ - partial_.size() : 0;
      size_t take = max_ == 0 ? chunk.size() : std::min(chunk.size(), room);
      partial_.append(chunk.substr(0, take));
      chunk.remove_prefix(take);
      after_cut_ = false;
      if (max_ > 0 && partial_.size() >= max_) {
        lines.emplace_back(partial_);  // a copy: partial_ keeps its capacity for the next line
        partial_.clear();
        after_cut_ = true;
      }
    }
    if (newline == std::string_view::npos) break;
    data.remove_prefix(newline + 1);
    // A newline right after a cut piece ends that piece, not a new empty line.
    if (after_cut_ && partial_.empty()) {
      after_cut_ = false;
      continue;
    }
    if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
    lines.emplace_back(partial_);
    partial_.clear();
  }
  return lines;
}

std::optional<std::string> LineSplitter::Finish() {
  if (partial_.empty()) return std::nullopt;
  std::string rest = std::move(partial_);
  partial_.clear();
  if (!rest.empty() && rest.back() == '\r') rest.pop_back();
  return rest;
}

void MetricsFileTailer::ParseLines(const std::vector<std::string>& lines,
                                   std::vector<ParsedMetric>* out) {
  for (const std::string& line : lines) {
    absl::StatusOr<std::vector<ParsedMetric>> points = ParseMetricJsonLine(line);
    if (!points.ok()) {
      ++malformed_lines_;
      if (malformed_lines_ <= 3) {
        Log()->warn("{}: ignoring a line: {}", path_, std::string(points.status().message()));
      }
      continue;
    }
    for (ParsedMetric& point : *points) out->push_back(std::move(point));
  }
}

std::vector<ParsedMetric> MetricsFileTailer::Poll() {
  std::vector<ParsedMetric> out;
  absl::StatusOr<std::unique_ptr<core::RandomAccessFile>> file = env_->NewRandomAccessFile(path_);
  if (!file.ok()) return out;
  absl::StatusOr<int64_t> size = (*file)->Size();
  if (size.ok() && static_cast<uint64_t>(*size) < offset_) {
    // Truncated or replaced: start over.
    offset_ = 0;
    splitter_.Reset();
  }
  while (true) {
    absl::StatusOr<std::string> data =
        (*file)->Read(static_cast<int64_t>(offset_), size_t{64} * 1024);
    if (!data.ok() || data->empty()) break;
    offset_ += data->size();
    ParseLines(splitter_.Append(*data), &out);
  }
  return out;
}

std::vector<ParsedMetric> MetricsFileTailer::Finish() {
  std::vector<ParsedMetric> out = Poll();
  if (std::optional<std::string> rest = splitter_.Finish()) ParseLines({*rest}, &out);
  return out;
}

}  // namespace sweep::worker
