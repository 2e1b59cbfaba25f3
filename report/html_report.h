// The HTML report of a sweep (`sweep report`): one self-contained page, inline CSS and
// SVG only (no script, nothing fetched), that reads at laptop width and prints cleanly.
//
// Sections: summary (state, counts, timing) and the best trial; convergence; parallel
// coordinates; parameter importance (PED-ANOVA, report/importance.h); one scatter per
// parameter; learning curves; every trial in a table.
//
// Thread safety: a pure function.
#pragma once

#include <string>

#include "report/report_data.h"

namespace sweep::report {

std::string HtmlReport(const ReportInput& input);

// "2026-11-27 09:30:00 UTC"; "" for 0.
std::string FormatUtc(int64_t ms);
// "1m05s", "3.2s", "2h04m"; "-" when negative.
std::string FormatElapsed(int64_t ms);

}  // namespace sweep::report
