// Fuzzes medsafe::SseParser. The same stream is fed whole, split at a fuzzer-chosen point, and
// byte by byte: the events (and whether an event is left unfinished) must be identical, and
// must equal those of a deliberately simple reference reading of the WHATWG rules over the whole
// text. Fed byte by byte, each event must carry the time of the byte that ended its blank line.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "medsafe/clock.hpp"
#include "medsafe/http/sse.hpp"

namespace {

using medsafe::TimePoint;

struct Event {
  std::string event;
  std::string data;
  std::string id;
  std::int64_t completed_ns = 0;

  bool operator==(const Event&) const = default;
};

struct Parsed {
  std::vector<Event> events;
  bool partial = false;
  std::uint64_t count = 0;
};

// Feeds `text` in pieces ending at each of `cuts` (ascending) and at the end; piece i arrives at
// time i + 1 ns, or, when `stamp_by_byte`, at the position of its last byte + 1.
Parsed feed_in_pieces(std::string_view text, const std::vector<std::size_t>& cuts,
                      bool stamp_by_byte) {
  Parsed out;
  medsafe::SseParser parser;
  const auto record = [&out](const medsafe::SseEvent& e) {
    out.events.push_back({std::string(e.event), std::string(e.data), std::string(e.id),
                          medsafe::to_ns(e.completed)});
  };
  std::size_t begin = 0;
  std::int64_t piece = 0;
  const auto feed_to = [&](std::size_t end) {
    const std::int64_t stamp = stamp_by_byte ? static_cast<std::int64_t>(end) : ++piece;
    parser.feed(text.substr(begin, end - begin), medsafe::from_ns(stamp), record);
    begin = end;
  };
  for (const std::size_t cut : cuts) feed_to(cut);
  feed_to(text.size());
  out.partial = parser.has_partial_event();
  out.count = parser.events_parsed();
  return out;
}

// The reference: whole lines only (CR, LF or CRLF end one), read by the rules the header
// documents. `completed_ns` is the position just after the byte that ended the blank line.
Parsed reference(std::string_view text) {
  Parsed out;
  std::string event;
  std::string data;
  std::string id;
  bool data_seen = false;
  bool in_event = false;
  std::size_t start = 0;
  std::size_t at = 0;
  for (; at < text.size(); ++at) {
    if (text[at] != '\r' && text[at] != '\n') continue;
    const std::string_view line = text.substr(start, at - start);
    if (line.empty()) {
      if (data_seen) {
        out.events.push_back({event, data, id, static_cast<std::int64_t>(at + 1)});
        ++out.count;
      }
      event.clear();
      data.clear();
      data_seen = false;
      in_event = false;
    } else if (line[0] != ':') {
      in_event = true;
      const std::size_t colon = line.find(':');
      const std::string_view field = line.substr(0, colon);
      std::string_view value =
          colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
      if (value.starts_with(' ')) value.remove_prefix(1);
      if (field == "data") {
        if (data_seen) data += '\n';
        data += value;
        data_seen = true;
      } else if (field == "event") {
        event = value;
      } else if (field == "id" && value.find('\0') == std::string_view::npos) {
        id = value;
      }
    }
    if (text[at] == '\r' && at + 1 < text.size() && text[at + 1] == '\n') ++at;
    start = at + 1;
  }
  const std::string_view unfinished = text.substr(std::min(start, text.size()));
  out.partial = in_event || (!unfinished.empty() && unfinished[0] != ':');
  return out;
}

bool same_events(const Parsed& a, const Parsed& b, bool compare_times) {
  if (a.events.size() != b.events.size() || a.partial != b.partial || a.count != b.count) {
    return false;
  }
  for (std::size_t i = 0; i < a.events.size(); ++i) {
    const Event& x = a.events[i];
    const Event& y = b.events[i];
    if (x.event != y.event || x.data != y.data || x.id != y.id) return false;
    if (compare_times && x.completed_ns != y.completed_ns) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  medsafe::fuzz::FuzzInput input(data, size);
  const std::size_t split_seed = input.take_byte() | (std::size_t{input.take_byte()} << 8);
  const std::string_view text = input.rest();

  const Parsed whole = feed_in_pieces(text, {}, false);
  MEDSAFE_FUZZ_CHECK(whole.count == whole.events.size());

  const std::size_t split = text.empty() ? 0 : split_seed % (text.size() + 1);
  const Parsed halves = feed_in_pieces(text, {split}, false);
  MEDSAFE_FUZZ_CHECK(same_events(whole, halves, false));

  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < text.size(); ++i) every_byte.push_back(i);
  const Parsed bytes = feed_in_pieces(text, every_byte, true);
  MEDSAFE_FUZZ_CHECK(same_events(whole, bytes, false));

  const Parsed expected = reference(text);
  MEDSAFE_FUZZ_CHECK(same_events(expected, bytes, true));
  return 0;
}
