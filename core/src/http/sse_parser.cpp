// Incremental Server-Sent-Events parser (WHATWG "event stream interpretation").
//
// Speed matters (a benchmark wants hundreds of MB/s on OpenAI-sized chunks), so lines are found
// with memchr and a line that lies wholly inside one chunk is processed in place as a view; only
// a line split across chunks is copied into line_.
#include <cstring>
#include <string>
#include <string_view>

#include "medsafe/http/sse.hpp"

namespace medsafe {
namespace {

constexpr std::size_t kNone = std::string_view::npos;

// Position of the next `c` in `text` at or after `from`, or kNone.
std::size_t find_byte(std::string_view text, std::size_t from, char c) noexcept {
  if (from >= text.size()) return kNone;
  const void* hit = std::memchr(text.data() + from, c, text.size() - from);
  return hit == nullptr ? kNone
                        : static_cast<std::size_t>(static_cast<const char*>(hit) - text.data());
}

}  // namespace

void SseParser::feed(std::string_view bytes, TimePoint now, const EventCallback& on_event) {
  std::size_t pos = 0;
  if (pending_cr_ && !bytes.empty()) {
    // A CR ended the previous chunk: an LF opening this one completes that same line end.
    pending_cr_ = false;
    if (bytes[0] == '\n') pos = 1;
  }
  // Each search runs at most once over the chunk: the next CR and LF are remembered and only
  // searched again once the scan has passed them.
  std::size_t next_lf = find_byte(bytes, pos, '\n');
  std::size_t next_cr = find_byte(bytes, pos, '\r');
  while (pos < bytes.size()) {
    if (next_lf != kNone && next_lf < pos) next_lf = find_byte(bytes, pos, '\n');
    if (next_cr != kNone && next_cr < pos) next_cr = find_byte(bytes, pos, '\r');
    const std::size_t end = next_cr < next_lf ? next_cr : next_lf;
    if (end == kNone) {
      line_.append(bytes.substr(pos));
      return;
    }
    if (line_.empty()) {
      process_line(bytes.substr(pos, end - pos), now, on_event);
    } else {
      line_.append(bytes.substr(pos, end - pos));
      process_line(line_, now, on_event);
      line_.clear();
    }
    pos = end + 1;
    if (bytes[end] == '\r') {
      if (pos == bytes.size()) {
        pending_cr_ = true;
      } else if (bytes[pos] == '\n') {
        ++pos;
      }
    }
  }
}

void SseParser::process_line(std::string_view line, TimePoint now, const EventCallback& on_event) {
  if (line.empty()) {
    if (data_seen_) {
      ++events_;
      on_event(SseEvent{event_, data_, id_, now});
    }
    event_.clear();
    data_.clear();
    data_seen_ = false;
    in_event_ = false;
    return;
  }
  if (line[0] == ':') return;  // a comment (keep-alives are sent this way)
  std::string_view field = line;
  std::string_view value;
  if (const std::size_t colon = line.find(':'); colon != kNone) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }
  in_event_ = true;
  if (field == "data") {
    if (data_seen_) {
      data_ += '\n';
      data_.append(value);
    } else {
      data_.assign(value);
      data_seen_ = true;
    }
  } else if (field == "event") {
    event_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == kNone) id_.assign(value);
  }
  // "retry" and unknown fields are ignored: reconnection is not this parser's business.
}

std::string SseParser::partial_data() const {
  std::string data = data_seen_ ? data_ : std::string();
  std::string_view line = line_;
  if (line.substr(0, 4) == "data" && (line.size() == 4 || line[4] == ':')) {
    std::string_view value = line.size() > 5 ? line.substr(5) : std::string_view();
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    if (data_seen_) data += '\n';
    data.append(value);
  }
  return data;
}

bool SseParser::has_partial_event() const noexcept {
  return in_event_ || (!line_.empty() && line_[0] != ':');
}

}  // namespace medsafe
