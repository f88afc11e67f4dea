#include "engine/report_answers.hpp"

#include <algorithm>

namespace medsafe {
namespace {

// Store names never contain NUL, so it separates key parts unambiguously.
std::string key_of(std::initializer_list<std::string_view> parts) {
  std::string key;
  for (const std::string_view part : parts) {
    key.append(part);
    key.push_back('\0');
  }
  return key;
}

std::string response_key(std::string_view model, std::string_view suite, std::string_view item,
                         int sample) {
  return key_of({model, suite, item, std::to_string(sample)});
}

}  // namespace

bool is_safety_phase(std::string_view phase) noexcept { return phase.empty() || phase == "safety"; }

std::vector<std::string> ResponseTexts::texts(std::span<const std::size_t> indices) const {
  std::vector<std::string> out;
  out.reserve(indices.size());
  for (const std::size_t index : indices) out.push_back(text(index));
  return out;
}

std::vector<std::string> response_texts(const RunData& data,
                                        std::span<const ResponseRow* const> rows) {
  const ResponseRow* first = data.responses.data();
  const auto ours = [&](const ResponseRow* r) {
    return r >= first && r < first + data.responses.size();
  };
  if (!data.texts) {
    std::vector<std::string> out;
    out.reserve(rows.size());
    for (const ResponseRow* r : rows) out.push_back(r->text);
    return out;
  }
  std::vector<std::size_t> indices;
  indices.reserve(rows.size());
  for (const ResponseRow* r : rows) {
    indices.push_back(ours(r) ? static_cast<std::size_t>(r - first) : data.responses.size());
  }
  std::vector<std::string> out = data.texts->texts(indices);
  // A row not of data.responses keeps its own text, as response_text() does.
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!ours(rows[i])) out[i] = rows[i]->text;
  }
  return out;
}

AnswerLookup::AnswerLookup(const RunData& data) {
  for (const ItemRow& item : data.items) items_[key_of({item.suite, item.item_id})] = &item;
  for (const VerdictRow& v : data.verdicts) {
    verdicts_[response_key(v.model, v.suite, v.item_id, v.sample)].push_back(&v);
  }
  const auto& judges = data.info.judges;
  const auto rank = [&](const VerdictRow* v) {
    const auto it = std::find_if(judges.begin(), judges.end(),
                                 [&](const JudgeInfo& j) { return j.name == v->judge; });
    return std::make_pair(it - judges.begin(), std::string_view(v->judge));
  };
  for (auto& [key, list] : verdicts_) {
    std::sort(list.begin(), list.end(),
              [&](const VerdictRow* a, const VerdictRow* b) { return rank(a) < rank(b); });
  }
}

const ItemRow* AnswerLookup::item(const ResponseRow& response) const {
  const auto it = items_.find(key_of({response.suite, response.item_id}));
  return it == items_.end() ? nullptr : it->second;
}

const std::vector<const VerdictRow*>& AnswerLookup::verdicts(const ResponseRow& response) const {
  static const std::vector<const VerdictRow*> kNone;
  if (!is_safety_phase(response.phase)) return kNone;
  const auto it = verdicts_.find(
      response_key(response.model, response.suite, response.item_id, response.sample));
  return it == verdicts_.end() ? kNone : it->second;
}

}  // namespace medsafe
