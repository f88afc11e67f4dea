#include "engine/run/response_row.hpp"

namespace medsafe {

ResponseRow to_row(const Response& r, const ResponseSlot& slot, int attempts,
                   TimePoint intended_send) {
  ResponseRow row;
  row.model = slot.model;
  row.suite = slot.suite;
  row.item_id = slot.item_id;
  row.sample = slot.sample;
  row.phase = slot.phase;
  row.outcome = r.outcome;
  row.http_status = r.http_status;
  row.error = r.error;
  row.text = r.text;
  row.truncated = r.truncated;
  row.finish_reason = r.finish_reason;
  row.prompt_tokens = r.usage.prompt_tokens;
  row.completion_tokens = r.usage.completion_tokens;
  row.token_source = r.usage.source;
  row.attempts = attempts;
  const TimePoint intended = intended_send != TimePoint{} ? intended_send : r.timing.intended_send;
  row.intended_send_ns = to_ns(intended);
  row.sent_ns = to_ns(r.timing.sent);
  row.first_byte_ns = to_ns(r.timing.first_byte);
  row.finished_ns = to_ns(r.timing.finished);
  row.token_event_ns.reserve(r.timing.token_events.size());
  for (const TimePoint t : r.timing.token_events) row.token_event_ns.push_back(to_ns(t));
  row.endpoints = r.endpoints;
  return row;
}

std::string request_id(const ResponseSlot& slot) {
  std::string id =
      slot.model + "/" + slot.suite + "/" + slot.item_id + "#" + std::to_string(slot.sample);
  if (!slot.phase.empty() && slot.phase != "safety") id += "@" + slot.phase;
  return id;
}

}  // namespace medsafe
