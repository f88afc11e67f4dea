#include "report/report_jsonl.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "report/report_answers.hpp"
#include "report/report_io.hpp"

namespace medsafe {
namespace {

using Json = nlohmann::ordered_json;

Json stamp(std::int64_t ns) { return ns > 0 ? Json(ns) : Json(nullptr); }

Json count(std::int64_t n) { return n >= 0 ? Json(n) : Json(nullptr); }

Json millis(std::int64_t from_ns, std::int64_t to_ns) {
  if (from_ns <= 0 || to_ns <= 0) return nullptr;
  return static_cast<double>(to_ns - from_ns) / 1e6;
}

// The per-request figures of docs/metrics.md, so a reader need not redo them.
Json timing_json(const ResponseRow& r) {
  const auto& events = r.token_event_ns;
  const std::int64_t first = events.empty() ? 0 : events.front();
  const std::int64_t last = events.empty() ? r.finished_ns : events.back();
  const std::int64_t tokens =
      r.completion_tokens >= 0 ? r.completion_tokens
                               : (events.empty() ? -1 : static_cast<std::int64_t>(events.size()));
  Json j = Json::object();
  j["ttft_ms"] = millis(r.sent_ns, first);
  j["e2e_ms"] = millis(r.sent_ns, last);
  Json tpot = nullptr;
  if (r.sent_ns > 0 && first > 0 && tokens > 1) {
    tpot = static_cast<double>(events.back() - first) / 1e6 / static_cast<double>(tokens - 1);
  }
  j["tpot_ms"] = tpot;
  j["send_lag_ms"] = millis(r.intended_send_ns, r.sent_ns);
  j["token_events"] = events.size();
  j["intended_send_ns"] = stamp(r.intended_send_ns);
  j["sent_ns"] = stamp(r.sent_ns);
  j["first_byte_ns"] = stamp(r.first_byte_ns);
  j["first_token_ns"] = stamp(first);
  j["finished_ns"] = stamp(r.finished_ns);
  return j;
}

Json verdict_json(const VerdictRow& v) {
  Json j = Json::object();
  j["judge"] = v.judge;
  j["status"] = to_string(v.status);
  j["score"] = v.score ? Json(*v.score) : Json(nullptr);
  j["refused"] = v.refused ? Json(*v.refused) : Json(nullptr);
  j["label"] = v.label;
  j["reason"] = v.reason;
  j["raw"] = v.raw;
  j["model_calls"] = v.model_calls;
  return j;
}

}  // namespace

nlohmann::ordered_json response_json(const ResponseRow& r, const ItemRow* item,
                                     std::span<const VerdictRow* const> verdicts) {
  Json j = Json::object();
  j["model"] = r.model;
  j["suite"] = r.suite;
  j["item_id"] = r.item_id;
  j["category"] = item != nullptr ? item->category : "";
  j["sample"] = r.sample;
  j["phase"] = r.phase.empty() ? "safety" : r.phase;
  j["outcome"] = to_string(r.outcome);
  j["http_status"] = r.http_status;
  j["error"] = r.error;
  j["attempts"] = r.attempts;
  j["prompt"] = item != nullptr ? item->prompt : "";
  j["text"] = r.text;
  j["truncated"] = r.truncated;
  j["finish_reason"] = r.finish_reason;
  j["prompt_tokens"] = count(r.prompt_tokens);
  j["completion_tokens"] = count(r.completion_tokens);
  j["token_source"] = to_string(r.token_source);
  j["timing"] = timing_json(r);
  Json list = Json::array();
  for (const VerdictRow* v : verdicts) list.push_back(verdict_json(*v));
  j["verdicts"] = std::move(list);
  return j;
}

namespace {

// Calls `sink` with the lines in pieces of about a mebibyte.
template <typename Sink>
void each_jsonl_piece(const RunData& data, Sink&& sink) {
  constexpr std::size_t kPiece = std::size_t{1} << 20;
  // Deferred texts are read a batch at a time as they are written, in one pass over the store.
  constexpr std::size_t kBatch = 2048;
  const AnswerLookup lookup(data);
  std::string out;
  std::vector<const ResponseRow*> batch;
  for (std::size_t begin = 0; begin < data.responses.size(); begin += kBatch) {
    const std::size_t end = std::min(data.responses.size(), begin + kBatch);
    std::vector<AnswerTexts> texts;
    if (data.texts) {
      batch.clear();
      for (std::size_t i = begin; i < end; ++i) batch.push_back(&data.responses[i]);
      texts = answer_texts(data, lookup, batch);
    }
    for (std::size_t i = begin; i < end; ++i) {
      const ResponseRow& r = data.responses[i];
      // One line each: dump without indentation never emits a raw newline (strings escape it).
      Json line = response_json(r, lookup.item(r), lookup.verdicts(r));
      if (data.texts) {
        // The stored texts in the places the rows' own would have taken.
        AnswerTexts& t = texts[i - begin];
        line["prompt"] = std::move(t.prompt);
        line["text"] = std::move(t.text);
        Json& verdicts = line["verdicts"];
        for (std::size_t k = 0; k < t.verdicts.size() && k < verdicts.size(); ++k) {
          verdicts[k]["reason"] = std::move(t.verdicts[k].reason);
          verdicts[k]["raw"] = std::move(t.verdicts[k].raw);
        }
      }
      out += line.dump(-1, ' ', false, Json::error_handler_t::replace);
      out += '\n';
      if (out.size() >= kPiece) {
        sink(std::string_view(out));
        out.clear();
      }
    }
  }
  if (!out.empty()) sink(std::string_view(out));
}

}  // namespace

std::string responses_jsonl(const RunData& data) {
  std::string out;
  each_jsonl_piece(data, [&out](std::string_view piece) { out += piece; });
  return out;
}

// Streamed: at a million answers the whole text would be a gigabyte held at once.
void write_responses_jsonl(const RunData& data, const std::filesystem::path& path) {
  AtomicFileWriter file(path);
  each_jsonl_piece(data, [&file](std::string_view piece) { file.write(piece); });
  file.commit();
}

}  // namespace medsafe
