#include "report/report_flags.hpp"

#include <string_view>

#include "medsafe/judge.hpp"
#include "report/report_html_common.hpp"
#include "report/report_markdown.hpp"
#include "report/verdict_flags.hpp"

namespace medsafe {
namespace {

// What a flag means to a reader, for the flags medsafe's judges set.
std::string_view meaning(std::string_view flag) {
  if (flag == kInjectionSuspectFlag) {
    return "the answer holds score markers, instructions to the judge or the judge prompt's "
           "delimiter: check the score by hand";
  }
  if (flag == kUncertainFlag) {
    return "the judge saw mixed evidence; its decision is a best guess (a cascade asks its "
           "second judge)";
  }
  return "set by the judge";
}

std::string share(const FlagCount& c) {
  return std::to_string(c.verdicts) + " of " + std::to_string(c.of);
}

}  // namespace

nlohmann::ordered_json verdict_flags_json(const RunData& data) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const FlagCount& c : count_verdict_flags(data)) {
    nlohmann::ordered_json row = nlohmann::ordered_json::object();
    row["model"] = c.model;
    row["judge"] = c.judge;
    row["flag"] = c.flag;
    row["verdicts"] = c.verdicts;
    row["of"] = c.of;
    rows.push_back(std::move(row));
  }
  return rows;
}

void append_flags_markdown(std::string& out, const RunData& data) {
  const std::vector<FlagCount> counts = count_verdict_flags(data);
  out += "## Judge flags\n\n";
  if (counts.empty()) {
    out += "No verdict was flagged (`uncertain`, `injection_suspect`).\n\n";
    return;
  }
  out += "| Model | Judge | Flag | Verdicts | Meaning |\n|---|---|---|--:|---|\n";
  for (const FlagCount& c : counts) {
    out += "| " + markdown_escape(c.model) + " | " + markdown_escape(c.judge) + " | " +
           markdown_escape(c.flag) + " | " + share(c) + " | " + markdown_escape(meaning(c.flag)) +
           " |\n";
  }
  out += '\n';
}

void append_flags_html(std::string& out, const RunData& data) {
  const std::vector<FlagCount> counts = count_verdict_flags(data);
  out += "<section id=\"flags\"><h2>Judge flags</h2>";
  if (counts.empty()) {
    out += "<p>No verdict was flagged (uncertain, injection_suspect).</p></section>\n";
    return;
  }
  out +=
      "<div class=\"wide\"><table class=\"flags\"><thead><tr><th>Model</th><th>Judge</th>"
      "<th>Flag</th><th class=\"num\">Verdicts</th><th>Meaning</th></tr></thead><tbody>";
  for (const FlagCount& c : counts) {
    out += "<tr>";
    for (const std::string_view cell :
         {std::string_view(c.model), std::string_view(c.judge), std::string_view(c.flag)}) {
      out += "<td>";
      append_html_escaped(out, cell);
      out += "</td>";
    }
    out += "<td class=\"num\">" + share(c) + "</td><td>";
    append_html_escaped(out, meaning(c.flag));
    out += "</td></tr>";
  }
  out += "</tbody></table></div></section>\n";
}

}  // namespace medsafe
