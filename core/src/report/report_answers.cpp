#include "report/report_answers.hpp"

#include <algorithm>
#include <functional>
#include <tuple>
#include <utility>

namespace medsafe {
namespace {

std::uint64_t response_hash(const VerdictRow& v) {
  return slot_hash({v.model, v.suite, v.item_id}, v.sample);
}

bool same_slot(const VerdictRow& v, const ResponseRow& r) {
  return v.sample == r.sample && v.item_id == r.item_id && v.suite == r.suite && v.model == r.model;
}

}  // namespace

bool is_safety_phase(std::string_view phase) noexcept { return phase.empty() || phase == "safety"; }

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

namespace {

// The rows of `rows` that are `table`'s as indices into it (others: table.size(), read as
// nothing), read in one batch by `read`; a row not of `table` then takes `own(row)`.
template <typename Row, typename Out, typename Read, typename Own>
std::vector<Out> deferred_batch(const std::vector<Row>& table, std::span<const Row* const> rows,
                                Read&& read, Own&& own) {
  const Row* first = table.data();
  const auto ours = [&](const Row* r) { return r >= first && r < first + table.size(); };
  std::vector<std::size_t> indices;
  indices.reserve(rows.size());
  for (const Row* r : rows) {
    indices.push_back(ours(r) ? static_cast<std::size_t>(r - first) : table.size());
  }
  std::vector<Out> out = read(std::span<const std::size_t>(indices));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!ours(rows[i])) out[i] = own(*rows[i]);
  }
  return out;
}

VerdictTexts own_verdict_texts(const VerdictRow& v) { return {v.reason, v.raw}; }

}  // namespace

std::vector<std::string> item_prompts(const RunData& data, std::span<const ItemRow* const> items) {
  const auto own = [](const ItemRow& item) { return item.prompt; };
  if (!data.texts) {
    std::vector<std::string> out;
    out.reserve(items.size());
    for (const ItemRow* item : items) out.push_back(own(*item));
    return out;
  }
  return deferred_batch<ItemRow, std::string>(
      data.items, items, [&](std::span<const std::size_t> i) { return data.texts->prompts(i); },
      own);
}

std::vector<VerdictTexts> verdict_texts(const RunData& data,
                                        std::span<const VerdictRow* const> verdicts) {
  if (!data.texts) {
    std::vector<VerdictTexts> out;
    out.reserve(verdicts.size());
    for (const VerdictRow* v : verdicts) out.push_back(own_verdict_texts(*v));
    return out;
  }
  return deferred_batch<VerdictRow, VerdictTexts>(
      data.verdicts, verdicts,
      [&](std::span<const std::size_t> i) { return data.texts->verdict_texts(i); },
      own_verdict_texts);
}

std::vector<AnswerTexts> answer_texts(const RunData& data, const AnswerLookup& lookup,
                                      std::span<const ResponseRow* const> rows) {
  std::vector<const ItemRow*> items;
  std::vector<const VerdictRow*> verdicts;
  std::vector<std::pair<bool, std::size_t>> shape;  // per row: has an item, its verdicts
  items.reserve(rows.size());
  shape.reserve(rows.size());
  for (const ResponseRow* r : rows) {
    const ItemRow* item = lookup.item(*r);
    if (item != nullptr) items.push_back(item);
    const auto said = lookup.verdicts(*r);
    verdicts.insert(verdicts.end(), said.begin(), said.end());
    shape.emplace_back(item != nullptr, said.size());
  }
  std::vector<std::string> texts = response_texts(data, rows);
  std::vector<std::string> prompts = item_prompts(data, items);
  std::vector<VerdictTexts> reasons = verdict_texts(data, verdicts);
  std::vector<AnswerTexts> out(rows.size());
  std::size_t next_item = 0;
  std::size_t next_verdict = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    out[i].text = std::move(texts[i]);
    if (shape[i].first) out[i].prompt = std::move(prompts[next_item++]);
    out[i].verdicts.reserve(shape[i].second);
    for (std::size_t k = 0; k < shape[i].second; ++k) {
      out[i].verdicts.push_back(std::move(reasons[next_verdict++]));
    }
  }
  return out;
}

AnswerLookup::AnswerLookup(const RunData& data) {
  items_.reserve(data.items.size());
  for (const ItemRow& item : data.items) items_.add(slot_hash({item.suite, item.item_id}), &item);
  items_.seal();
  const auto& judges = data.info.judges;
  struct Entry {
    std::uint64_t hash;
    std::size_t judge_rank;
    const VerdictRow* verdict;
  };
  std::vector<Entry> entries;
  entries.reserve(data.verdicts.size());
  for (const VerdictRow& v : data.verdicts) {
    const auto it = std::find_if(judges.begin(), judges.end(),
                                 [&](const JudgeInfo& j) { return j.name == v.judge; });
    entries.push_back({response_hash(v), static_cast<std::size_t>(it - judges.begin()), &v});
  }
  // A response's verdicts together (its slot's names break ties between hashes), in the run's
  // judge order then by judge name.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    const VerdictRow& x = *a.verdict;
    const VerdictRow& y = *b.verdict;
    return std::tie(a.hash, x.model, x.suite, x.item_id, x.sample, a.judge_rank, x.judge) <
           std::tie(b.hash, y.model, y.suite, y.item_id, y.sample, b.judge_rank, y.judge);
  });
  verdict_hashes_.reserve(entries.size());
  verdict_rows_.reserve(entries.size());
  for (const Entry& e : entries) {
    verdict_hashes_.push_back(e.hash);
    verdict_rows_.push_back(e.verdict);
  }
}

const ItemRow* AnswerLookup::item(const ResponseRow& response) const {
  return items_.find(slot_hash({response.suite, response.item_id}), [&](const ItemRow& item) {
    return item.suite == response.suite && item.item_id == response.item_id;
  });
}

std::span<const VerdictRow* const> AnswerLookup::verdicts(const ResponseRow& response) const {
  if (!is_safety_phase(response.phase)) return {};
  const std::uint64_t h =
      slot_hash({response.model, response.suite, response.item_id}, response.sample);
  const auto [lo, hi] = std::equal_range(verdict_hashes_.begin(), verdict_hashes_.end(), h);
  auto first = static_cast<std::size_t>(lo - verdict_hashes_.begin());
  const auto last = static_cast<std::size_t>(hi - verdict_hashes_.begin());
  while (first < last && !same_slot(*verdict_rows_[first], response)) ++first;
  std::size_t end = first;
  while (end < last && same_slot(*verdict_rows_[end], response)) ++end;
  return {verdict_rows_.data() + first, end - first};
}

}  // namespace medsafe
