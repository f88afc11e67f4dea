#pragma once
/// Server-Sent Events as the HTTP transport delivers them (libmedsafe_http): one event, and the
/// incremental parser that cuts a byte stream into events.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "medsafe/clock.hpp"
#include "medsafe/export.hpp"

namespace medsafe {

/// One complete SSE event. Views are valid only during the callback.
struct SseEvent {
  std::string_view event;  ///< the "event:" field, empty for the default type
  std::string_view data;   ///< "data:" lines joined by '\n'
  std::string_view id;     ///< the last "id:" seen in the stream (it persists, as in WHATWG)
  TimePoint completed;     ///< when the blank line ending the event arrived
  /// The event outgrew HttpRequest::max_body_bytes before it ended: `data` is its beginning
  /// (`completed` when that much had arrived), and the transfer ends after this callback.
  bool cut = false;
};

/// Incremental SSE parser (WHATWG rules): lines end in CR, LF or CRLF, and bytes may be split
/// anywhere across feed() calls; comments and unknown fields are ignored; an event is
/// dispatched at a blank line only when it had at least one "data" line.
class MEDSAFE_API SseParser {
 public:
  using EventCallback = std::function<void(const SseEvent&)>;
  /// Parses `bytes` that arrived at `now`, calling `on_event` for each event it completes.
  void feed(std::string_view bytes, TimePoint now, const EventCallback& on_event);
  /// True when bytes of an unfinished event are buffered (a truncated stream).
  [[nodiscard]] bool has_partial_event() const noexcept;
  [[nodiscard]] std::uint64_t events_parsed() const noexcept { return events_; }
  /// Bytes held for the event being read (its fields so far and an unfinished line): what a
  /// caller bounds against a stream whose one event never ends.
  [[nodiscard]] std::size_t buffered_bytes() const noexcept {
    return line_.size() + data_.size() + event_.size();
  }
  /// The unfinished event's "data" as far as it arrived, an unfinished data line included.
  [[nodiscard]] std::string partial_data() const;
  /// The unfinished event's "event" field (empty: the default type).
  [[nodiscard]] std::string_view partial_event_type() const noexcept { return event_; }

 private:
  void process_line(std::string_view line, TimePoint now, const EventCallback& on_event);

  std::string line_;  ///< an unfinished line carried over from the previous feed()
  std::string event_;
  std::string data_;
  std::string id_;
  bool data_seen_ = false;
  bool pending_cr_ = false;  ///< the last feed() ended in CR: a leading LF is not a new line
  bool in_event_ = false;    ///< a field line of an undispatched event was seen
  std::uint64_t events_ = 0;
};

}  // namespace medsafe
