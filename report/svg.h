// A small SVG writer and the pieces every plot shares: a plot frame, axes with ticks,
// tick labels, grid lines and titles, and the colours.
//
// Output is plain SVG 1.1 with presentation attributes (no CSS classes are needed to
// render it), so a plot looks the same inline in the HTML report and as a file.
// Structural classes (`axis x`, `tick`, `mark`, `best-line`, ...) and `data-trial`
// attributes name what each element is, for tests and for readers of the markup.
//
// Thread safety: SvgBuilder is a plain value; the functions are pure.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/types.h"
#include "report/scale.h"

namespace sweep::report {

using Attrs = std::vector<std::pair<std::string, std::string>>;

// Text escaped for XML content and attribute values.
std::string XmlEscape(std::string_view text);
// A coordinate: at most 2 decimals, no trailing zeros ("12.5", "3").
std::string Num(double value);

class SvgBuilder {
 public:
  // A root <svg> with viewBox 0 0 width height, a <title> and a class naming the plot.
  SvgBuilder(double width, double height, const std::string& title, const std::string& kind);

  // <tag attrs> ... Close().
  void Open(const std::string& tag, const Attrs& attrs);
  void Close();
  // A childless element; with a tooltip it gets a <title> child (shown on hover).
  void Add(const std::string& tag, const Attrs& attrs, const std::string& tooltip = "");
  // <text> at (x, y); `attrs` adds to the defaults (font size 11, dark grey).
  void Text(double x, double y, const std::string& text, const Attrs& attrs = {});
  // Closes what is open and the root; the builder is spent afterwards.
  std::string Finish();

  double width() const { return width_; }
  double height() const { return height_; }

 private:
  std::string out_;
  std::vector<std::string> open_;
  double width_, height_;
};

// The plotting area inside an SVG: positions 0..1 of a Scale map to pixels.
struct Frame {
  double left = 0, top = 0, width = 0, height = 0;
  double X(double position) const { return left + position * width; }
  double Y(double position) const { return top + (1 - position) * height; }
  double right() const { return left + width; }
  double bottom() const { return top + height; }
};

// A horizontal axis under the frame: line, ticks, labels, optional vertical grid lines
// and the title centred below. Long category labels are shortened (full text on hover).
void DrawXAxis(SvgBuilder& svg, const Frame& frame, const Scale& scale, const std::string& title,
               bool grid = true);
// A vertical axis left of the frame, likewise; the title is rotated.
void DrawYAxis(SvgBuilder& svg, const Frame& frame, const Scale& scale, const std::string& title,
               bool grid = true);
// A centred note in the frame ("no trial reported a value yet").
void DrawEmptyNote(SvgBuilder& svg, const Frame& frame, const std::string& note);

// Colours.
const char* StateColor(core::TrialState state);
// A sequential blue from light (t = 0, the worst) to dark (t = 1, the best).
std::string RampColor(double t);
constexpr const char* kInk = "#1f2937";       // text
constexpr const char* kMutedInk = "#6b7280";  // secondary text
constexpr const char* kGrid = "#e5e7eb";
constexpr const char* kAccent = "#d97706";    // the best trial, best so far
constexpr const char* kInactive = "#9ca3af";  // inactive parameters, trials without a value

// "trial 3 (completed): accuracy=0.91" for tooltips.
std::string TrialTooltip(const core::Trial& trial, const std::string& metric);
// Shortens `text` to `max_chars` with an ellipsis.
std::string Shorten(const std::string& text, size_t max_chars);

}  // namespace sweep::report
