#pragma once
/// The outputs of `medsafe compare`: Markdown, CSV and a self-contained HTML page
/// (docs/compare.md).
#include <string>

#include "report/compare.hpp"

namespace medsafe {

/// The comparison as Markdown: the runs, each paired comparison (verdict per principle with
/// the mean difference, its interval and p-values), the runs side by side, and the method.
/// Every name from a run is escaped.
[[nodiscard]] std::string compare_markdown(const Comparison& comparison);

/// One CSV record per row of each paired comparison — its harm rows, then its over-refusal rows
/// (category "over-refusal") — with the columns of docs/compare.md; reals with 6 decimals,
/// empty fields where there is no value.
[[nodiscard]] std::string compare_csv(const Comparison& comparison);

/// The comparison as one HTML page with inline SVG charts (the difference per principle with
/// its interval, and the runs' harmfulness side by side); no script, no network.
[[nodiscard]] std::string compare_html(const Comparison& comparison);

}  // namespace medsafe
