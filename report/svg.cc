#include "report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sweep::report {
namespace {

constexpr double kTickLength = 5;
constexpr size_t kMaxCategoryLabel = 14;

std::string FormatAttrs(const Attrs& attrs) {
  std::string out;
  for (const auto& [name, value] : attrs) out += " " + name + "=\"" + XmlEscape(value) + "\"";
  return out;
}

// Categorical ticks: every category when they fit, else every k-th.
size_t TickStride(const Scale& scale, double pixels, double min_gap) {
  size_t n = scale.ticks().size();
  if (!scale.is_categorical() || n == 0) return 1;
  return std::max<size_t>(1, static_cast<size_t>(std::ceil(n * min_gap / pixels)));
}

}  // namespace

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // Control characters are not allowed in XML 1.0.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string Num(double value) {
  if (!std::isfinite(value)) return "0";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", value);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

SvgBuilder::SvgBuilder(double width, double height, const std::string& title,
                       const std::string& kind)
    : width_(width), height_(height) {
  out_ = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot " + XmlEscape(kind) +
         "\" viewBox=\"0 0 " + Num(width) + " " + Num(height) +
         "\" role=\"img\" font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, "
         "'Helvetica Neue', Arial, sans-serif\">";
  out_ += "<title>" + XmlEscape(title) + "</title>";
  open_.push_back("svg");
}

void SvgBuilder::Open(const std::string& tag, const Attrs& attrs) {
  out_ += "<" + tag + FormatAttrs(attrs) + ">";
  open_.push_back(tag);
}

void SvgBuilder::Close() {
  if (open_.size() <= 1) return;  // the root closes in Finish()
  out_ += "</" + open_.back() + ">";
  open_.pop_back();
}

void SvgBuilder::Add(const std::string& tag, const Attrs& attrs, const std::string& tooltip) {
  if (tooltip.empty()) {
    out_ += "<" + tag + FormatAttrs(attrs) + "/>";
  } else {
    out_ +=
        "<" + tag + FormatAttrs(attrs) + "><title>" + XmlEscape(tooltip) + "</title></" + tag + ">";
  }
}

void SvgBuilder::Text(double x, double y, const std::string& text, const Attrs& attrs) {
  Attrs all = {{"x", Num(x)}, {"y", Num(y)}};
  bool has_size = false, has_fill = false;
  for (const auto& [name, value] : attrs) {
    has_size |= name == "font-size";
    has_fill |= name == "fill";
  }
  if (!has_size) all.push_back({"font-size", "11"});
  if (!has_fill) all.push_back({"fill", kInk});
  all.insert(all.end(), attrs.begin(), attrs.end());
  out_ += "<text" + FormatAttrs(all) + ">" + XmlEscape(text) + "</text>";
}

std::string SvgBuilder::Finish() {
  while (!open_.empty()) {
    out_ += "</" + open_.back() + ">";
    open_.pop_back();
  }
  return std::move(out_);
}

void DrawXAxis(SvgBuilder& svg, const Frame& frame, const Scale& scale, const std::string& title,
               bool grid) {
  svg.Open("g", {{"class", "axis x"}});
  svg.Add("line", {{"x1", Num(frame.left)},
                   {"y1", Num(frame.bottom())},
                   {"x2", Num(frame.right())},
                   {"y2", Num(frame.bottom())},
                   {"stroke", kMutedInk}});
  size_t stride = TickStride(scale, frame.width, 48);
  for (size_t i = 0; i < scale.ticks().size(); i += stride) {
    const Tick& tick = scale.ticks()[i];
    double x = frame.X(scale.Position(tick.value));
    if (x < frame.left - 0.5 || x > frame.right() + 0.5) continue;
    svg.Open("g", {{"class", "tick"}});
    if (grid) {
      svg.Add("line", {{"x1", Num(x)},
                       {"y1", Num(frame.top)},
                       {"x2", Num(x)},
                       {"y2", Num(frame.bottom())},
                       {"stroke", kGrid}});
    }
    svg.Add("line", {{"x1", Num(x)},
                     {"y1", Num(frame.bottom())},
                     {"x2", Num(x)},
                     {"y2", Num(frame.bottom() + kTickLength)},
                     {"stroke", kMutedInk}});
    std::string label = Shorten(tick.label, kMaxCategoryLabel);
    svg.Text(x, frame.bottom() + kTickLength + 12, label,
             {{"text-anchor", "middle"}, {"fill", kMutedInk}});
    svg.Close();
  }
  svg.Text(frame.left + frame.width / 2, frame.bottom() + kTickLength + 30, title,
           {{"text-anchor", "middle"}, {"font-size", "12"}, {"class", "axis-title"}});
  svg.Close();
}

void DrawYAxis(SvgBuilder& svg, const Frame& frame, const Scale& scale, const std::string& title,
               bool grid) {
  svg.Open("g", {{"class", "axis y"}});
  svg.Add("line", {{"x1", Num(frame.left)},
                   {"y1", Num(frame.top)},
                   {"x2", Num(frame.left)},
                   {"y2", Num(frame.bottom())},
                   {"stroke", kMutedInk}});
  size_t stride = TickStride(scale, frame.height, 16);
  for (size_t i = 0; i < scale.ticks().size(); i += stride) {
    const Tick& tick = scale.ticks()[i];
    double y = frame.Y(scale.Position(tick.value));
    if (y < frame.top - 0.5 || y > frame.bottom() + 0.5) continue;
    svg.Open("g", {{"class", "tick"}});
    if (grid) {
      svg.Add("line", {{"x1", Num(frame.left)},
                       {"y1", Num(y)},
                       {"x2", Num(frame.right())},
                       {"y2", Num(y)},
                       {"stroke", kGrid}});
    }
    svg.Add("line", {{"x1", Num(frame.left - kTickLength)},
                     {"y1", Num(y)},
                     {"x2", Num(frame.left)},
                     {"y2", Num(y)},
                     {"stroke", kMutedInk}});
    svg.Text(frame.left - kTickLength - 3, y + 4, Shorten(tick.label, kMaxCategoryLabel),
             {{"text-anchor", "end"}, {"fill", kMutedInk}});
    svg.Close();
  }
  double cx = frame.left - 52, cy = frame.top + frame.height / 2;
  svg.Text(cx, cy, title,
           {{"text-anchor", "middle"},
            {"font-size", "12"},
            {"class", "axis-title"},
            {"transform", "rotate(-90 " + Num(cx) + " " + Num(cy) + ")"}});
  svg.Close();
}

void DrawEmptyNote(SvgBuilder& svg, const Frame& frame, const std::string& note) {
  svg.Text(frame.left + frame.width / 2, frame.top + frame.height / 2, note,
           {{"text-anchor", "middle"}, {"fill", kMutedInk}, {"class", "empty-note"}});
}

const char* StateColor(core::TrialState state) {
  switch (state) {
    case core::TrialState::kCompleted:
      return "#2563eb";
    case core::TrialState::kEarlyTerminated:
      return "#ea580c";
    case core::TrialState::kFailed:
      return "#dc2626";
    case core::TrialState::kRunning:
      return "#16a34a";
    case core::TrialState::kCanceled:
      return "#6b7280";
    case core::TrialState::kPending:
      break;
  }
  return "#9ca3af";
}

std::string RampColor(double t) {
  // Light to dark blue; readable on white at both ends.
  static constexpr double kStops[][3] = {
      {189, 215, 238}, {107, 174, 214}, {33, 113, 181}, {8, 48, 107}};
  if (!std::isfinite(t)) t = 0;
  t = std::clamp(t, 0.0, 1.0) * 3;
  int i = std::min(2, static_cast<int>(t));
  double f = t - i;
  char buf[8];
  std::snprintf(
      buf, sizeof buf, "#%02x%02x%02x",
      static_cast<int>(std::lround(kStops[i][0] + f * (kStops[i + 1][0] - kStops[i][0]))),
      static_cast<int>(std::lround(kStops[i][1] + f * (kStops[i + 1][1] - kStops[i][1]))),
      static_cast<int>(std::lround(kStops[i][2] + f * (kStops[i + 1][2] - kStops[i][2]))));
  return buf;
}

std::string TrialTooltip(const core::Trial& trial, const std::string& metric) {
  std::string out =
      "trial " + std::to_string(trial.trial_id) + " (" + core::TrialStateName(trial.state) + ")";
  if (trial.final_value) out += "  " + metric + "=" + FormatShort(*trial.final_value);
  for (const auto& [name, value] : trial.config) {
    out += "\n" + name + "=" + core::ParamValueToString(value);
  }
  return out;
}

std::string Shorten(const std::string& text, size_t max_chars) {
  if (text.size() <= max_chars) return text;
  size_t cut = max_chars - 1;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
  return text.substr(0, cut) + "\u2026";
}

}  // namespace sweep::report
