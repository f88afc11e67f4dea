#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "medsafe/http/sse.hpp"

namespace medsafe {
namespace {

struct Seen {
  std::string event;
  std::string data;
  std::string id;
  TimePoint completed;

  bool operator==(const Seen& other) const {
    return event == other.event && data == other.data && id == other.id;
  }
};

void PrintTo(const Seen& seen, std::ostream* out) {
  *out << "{event='" << seen.event << "' data='" << seen.data << "' id='" << seen.id << "'}";
}

// Feeds `pieces` one after another and returns every event.
std::vector<Seen> parse(const std::vector<std::string_view>& pieces, SseParser& parser) {
  std::vector<Seen> seen;
  const SseParser::EventCallback collect = [&seen](const SseEvent& e) {
    seen.push_back(Seen{std::string(e.event), std::string(e.data), std::string(e.id), e.completed});
  };
  for (std::string_view piece : pieces) parser.feed(piece, Clock::now(), collect);
  return seen;
}

std::vector<Seen> parse(const std::vector<std::string_view>& pieces) {
  SseParser parser;
  return parse(pieces, parser);
}

// A realistic OpenAI-style stream with the features an implementation can get wrong.
const std::string kStream =
    ": keep-alive\n"
    "\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n"
    "\n"
    "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"}}]}\n"
    "\n"
    "event: message\n"
    "data: line one\n"
    "data: line two\n"
    "id: 7\n"
    "\n"
    "data:no-space\n"
    "\n"
    "data:  two spaces\n"
    "\n"
    "retry: 1000\n"
    "\n"
    "data\n"
    "\n"
    "unknown: field\n"
    ": a comment inside an event\n"
    "data: after unknown\n"
    "\n"
    "event: error\n"
    "data: {\"error\":{\"message\":\"boom\"}}\n"
    "\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n"
    "\n"
    "data: [DONE]\n"
    "\n";

const std::vector<Seen> kExpected = {
    {"",
     "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
     "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}",
     "",
     {}},
    {"", "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"}}]}", "", {}},
    {"message", "line one\nline two", "7", {}},
    {"", "no-space", "7", {}},
    {"", " two spaces", "7", {}},
    {"", "", "7", {}},
    {"", "after unknown", "7", {}},
    {"error", "{\"error\":{\"message\":\"boom\"}}", "7", {}},
    {"", "{\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}", "7", {}},
    {"", "[DONE]", "7", {}},
};

// Rewrites every LF of `text` as the line ends produced by `pick(i)` for the i-th line.
template <typename Pick>
std::string with_line_ends(std::string_view text, Pick pick) {
  std::string out;
  std::size_t line = 0;
  for (const char c : text) {
    if (c == '\n') {
      out += pick(line++);
    } else {
      out += c;
    }
  }
  return out;
}

TEST(SseParser, ParsesARealisticStreamInOnePiece) {
  SseParser parser;
  EXPECT_EQ(parse({kStream}, parser), kExpected);
  EXPECT_EQ(parser.events_parsed(), kExpected.size());
  EXPECT_FALSE(parser.has_partial_event());
}

TEST(SseParser, EverySplitPositionGivesTheSameEvents) {
  for (std::size_t at = 0; at <= kStream.size(); ++at) {
    const std::string_view text(kStream);
    ASSERT_EQ(parse({text.substr(0, at), text.substr(at)}), kExpected) << "split at " << at;
  }
}

TEST(SseParser, ByteByByteGivesTheSameEvents) {
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < kStream.size(); ++i)
    bytes.push_back(std::string_view(kStream).substr(i, 1));
  EXPECT_EQ(parse(bytes), kExpected);
}

TEST(SseParser, RandomSplitsGiveTheSameEvents) {
  std::mt19937 random(42);
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string_view> pieces;
    const std::string_view text(kStream);
    std::size_t at = 0;
    while (at < text.size()) {
      const std::size_t n = std::uniform_int_distribution<std::size_t>(0, 40)(random);
      pieces.push_back(text.substr(at, n));
      at += n;
    }
    ASSERT_EQ(parse(pieces), kExpected) << "round " << round;
  }
}

TEST(SseParser, MixedCrLfAndCrLineEndsAtEverySplitGiveTheSameEvents) {
  const std::vector<std::string> variants = {
      with_line_ends(kStream, [](std::size_t) { return "\r\n"; }),
      with_line_ends(kStream, [](std::size_t) { return "\r"; }),
      with_line_ends(kStream,
                     [](std::size_t i) { return i % 3 == 0   ? "\n"
                                                : i % 3 == 1 ? "\r"
                                                             : "\r\n"; }),
      with_line_ends(kStream,
                     [](std::size_t i) { return i % 3 == 0   ? "\r\n"
                                                : i % 3 == 1 ? "\n"
                                                             : "\r"; }),
  };
  for (std::size_t v = 0; v < variants.size(); ++v) {
    const std::string_view text(variants[v]);
    ASSERT_EQ(parse({text}), kExpected) << "variant " << v;
    for (std::size_t at = 0; at <= text.size(); ++at) {
      ASSERT_EQ(parse({text.substr(0, at), text.substr(at)}), kExpected)
          << "variant " << v << " split at " << at;
    }
  }
}

TEST(SseParser, CrAtTheEndOfAChunkAndLfAtTheStartOfTheNextAreOneLineEnd) {
  // Taken as two line ends, the LF would be a blank line and dispatch "a" alone.
  EXPECT_EQ(parse({"data: a\r", "\ndata: b\r\n\r\n"}), (std::vector<Seen>{{"", "a\nb", "", {}}}));
  // A CR, then a chunk that does not start with LF: the CR alone ended the line.
  EXPECT_EQ(parse({"data: a\r", "data: b\r", "\r"}), (std::vector<Seen>{{"", "a\nb", "", {}}}));
  // An empty chunk between the CR and the LF changes nothing.
  EXPECT_EQ(parse({"data: a\r", "", "\ndata: b\n\n"}), (std::vector<Seen>{{"", "a\nb", "", {}}}));
}

TEST(SseParser, BlankLinesWithoutDataDispatchNothingAndResetTheEventType) {
  EXPECT_EQ(parse({"event: ping\n\ndata: x\n\n"}), (std::vector<Seen>{{"", "x", "", {}}}));
  EXPECT_EQ(parse({"\n\n\r\n\r\r"}), std::vector<Seen>{});
  EXPECT_EQ(parse({"event: a\ndata: 1\n\ndata: 2\n\n"}),
            (std::vector<Seen>{{"a", "1", "", {}}, {"", "2", "", {}}}));
}

TEST(SseParser, CommentsAreIgnoredEvenBetweenDataLines) {
  EXPECT_EQ(parse({":c\ndata: a\n: comment: with colon\ndata: b\n:\n\n"}),
            (std::vector<Seen>{{"", "a\nb", "", {}}}));
}

TEST(SseParser, OnlyOneSpaceAfterTheColonIsStripped) {
  EXPECT_EQ(parse({"data:x\n\ndata: x\n\ndata:  x\n\ndata:\n\ndata: \n\n"}),
            (std::vector<Seen>{{"", "x", "", {}},
                               {"", "x", "", {}},
                               {"", " x", "", {}},
                               {"", "", "", {}},
                               {"", "", "", {}}}));
}

TEST(SseParser, DataKeepsLaterColons) {
  EXPECT_EQ(parse({"data: {\"a\":\"b:c\"}\n\n"}),
            (std::vector<Seen>{{"", "{\"a\":\"b:c\"}", "", {}}}));
}

TEST(SseParser, IdPersistsAcrossEventsAndIgnoresValuesWithNul) {
  using namespace std::string_literals;
  EXPECT_EQ(parse({"id: 5\ndata: a\n\ndata: b\n\n"s + "id: x\0y\ndata: c\n\n"s}),
            (std::vector<Seen>{{"", "a", "5", {}}, {"", "b", "5", {}}, {"", "c", "5", {}}}));
}

TEST(SseParser, ReportsAPartialEvent) {
  struct Case {
    std::string text;
    bool partial;
  };
  const std::vector<Case> cases = {
      {"", false},
      {"data: a\n\n", false},
      {"data: a\n", true},
      {"data: a", true},
      {"data: a\n\ndata: b", true},
      {"event: x\n", true},
      {": keep-alive\n", false},
      {": keep-al", false},
      {"data: a\r", true},
      {"data: a\r\n\r", false},
      {"retry: 5\n", true},
  };
  for (const Case& c : cases) {
    SseParser parser;
    parse({c.text}, parser);
    EXPECT_EQ(parser.has_partial_event(), c.partial) << "'" << c.text << "'";
  }
}

TEST(SseParser, StampsAnEventWithTheTimeOfItsBlankLine) {
  SseParser parser;
  std::vector<TimePoint> stamps;
  const SseParser::EventCallback collect = [&stamps](const SseEvent& e) {
    stamps.push_back(e.completed);
  };
  const TimePoint t1 = from_ns(1'000);
  const TimePoint t2 = from_ns(2'000);
  const TimePoint t3 = from_ns(3'000);
  parser.feed("data: a\n", t1, collect);
  parser.feed("\ndata: b\n", t2, collect);
  parser.feed("\n", t3, collect);
  EXPECT_EQ(stamps, (std::vector<TimePoint>{t2, t3}));
}

TEST(SseParser, ParsesLongLinesSplitIntoManyPieces) {
  const std::string payload(100'000, 'x');
  const std::string text = "data: " + payload + "\r\n\r\n";
  std::vector<std::string_view> pieces;
  for (std::size_t at = 0; at < text.size(); at += 997) {
    pieces.push_back(std::string_view(text).substr(at, 997));
  }
  EXPECT_EQ(parse(pieces), (std::vector<Seen>{{"", payload, "", {}}}));
}

}  // namespace
}  // namespace medsafe
