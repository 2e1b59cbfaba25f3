// The report's stylesheet (report/html_report.cc); not part of report/'s interface.
#pragma once

namespace sweep::report::internal {

inline constexpr const char kReportCss[] = R"css(
:root { --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --soft: #f9fafb;
        --accent: #d97706; --blue: #2563eb; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1120px; padding: 24px 28px 48px; color: var(--ink);
       font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; background: #fff; }
header h1 { font-size: 22px; margin: 0 0 2px; }
header .sub { color: var(--muted); margin: 0; }
h2 { font-size: 17px; margin: 0 0 4px; }
section { margin-top: 28px; }
section > p.note { color: var(--muted); margin: 0 0 10px; font-size: 13px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px;
         font-weight: 600; vertical-align: middle; border: 1px solid currentColor; }
.state-completed { color: #15803d; } .state-failed { color: #b91c1c; }
.state-canceled { color: #4b5563; } .state-running { color: #1d4ed8; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(130px, 1fr));
         gap: 10px; margin-top: 16px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px;
        background: var(--soft); }
.card .k { color: var(--muted); font-size: 12px; }
.card .v { font-size: 20px; font-weight: 600; }
.best { border: 1px solid #fcd34d; background: #fffbeb; border-radius: 8px;
        padding: 12px 16px; margin-top: 16px; }
.best h2 { margin-bottom: 6px; }
.best dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
.best dt { color: var(--muted); } .best dd { margin: 0; font-family: ui-monospace, monospace; }
figure { margin: 8px 0 0; }
figure svg { width: 100%; height: auto; display: block; }
.wide { overflow-x: auto; }
.wide svg { min-width: 640px; }
.scatters { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr));
            gap: 12px; }
.scatters figure { border: 1px solid var(--line); border-radius: 8px; padding: 6px; margin: 0; }
.table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 5px 10px; text-align: left; white-space: nowrap;
         border-bottom: 1px solid var(--line); }
th { background: var(--soft); position: sticky; top: 0; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.inactive { color: #9ca3af; font-style: italic; }
td.reason { white-space: normal; min-width: 200px; color: var(--muted); }
tr.best-row td { background: #fffbeb; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px;
         border-top: 1px solid var(--line); padding-top: 10px; }
@media (max-width: 720px) {
  body { padding: 14px; }
  .cards { grid-template-columns: repeat(2, 1fr); }
}
@page { margin: 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  section, figure, .best, .cards { break-inside: avoid; }
  .wide, .table-wrap { overflow: visible; border: none; }
  .wide svg { min-width: 0; }
  th { position: static; }
  table { font-size: 8pt; }
  th, td { padding: 2px 5px; white-space: normal; }
  .scatters { grid-template-columns: repeat(3, 1fr); }
}
)css";

}  // namespace sweep::report::internal
