#include "few_shot_backend.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include "medsafe/error.hpp"
#include "medsafe/stable_hash.hpp"

namespace medsafe::wrappers {

std::vector<DemoPair> load_demonstrations(const Config& config) {
  const std::filesystem::path file = config.path("demos");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    throw config.error("demos", "names '" + file.string() + "', which is not a readable file");
  }
  std::optional<DemoFormat> format;
  const std::string named = config.string("format");
  if (named.empty()) {
    format = demo_format_of(file);
    if (!format) {
      throw config.error("demos", "names '" + file.string() +
                                      "', whose name says no format (.openai.jsonl, .jsonl, "
                                      ".alpaca.json, .sharegpt.json): set 'format'");
    }
  } else {
    format = demo_format_named(named);
    if (!format) {
      throw config.error("format",
                         "must be 'openai', 'alpaca', 'sharegpt' or empty, got '" + named + "'");
    }
  }
  std::vector<DemoPair> demos;
  try {
    demos = read_demo_file(file, *format);
  } catch (const Error& e) {
    // The row's own message names the file, line and key; say which setting read the file.
    throw Error(e.kind(), std::string(e.what()) + " (the demonstrations of '" + config.owner() +
                              ".demos', " + config.where("demos").str() + ")");
  }
  const std::int64_t k = config.integer("k");
  if (k < 1 || static_cast<std::size_t>(k) > demos.size()) {
    throw config.error("k", "must be 1 .. " + std::to_string(demos.size()) + " (the " +
                                "demonstrations in '" + file.string() + "'), got " +
                                std::to_string(k));
  }
  const std::string select = config.string("select");
  if (select != "first" && select != "random") {
    throw config.error("select", "must be 'first' or 'random', got '" + select + "'");
  }
  return select_demonstrations(std::move(demos), static_cast<std::size_t>(k), select == "random",
                               static_cast<std::uint64_t>(config.integer("seed")));
}

std::vector<DemoPair> select_demonstrations(std::vector<DemoPair> demos, std::size_t k, bool random,
                                            std::uint64_t seed) {
  k = std::min(k, demos.size());
  if (!random) {
    demos.resize(k);
    return demos;
  }
  // Ranking by a seeded hash of each demonstration's text (not of its position) keeps most of
  // the choice when rows are added to or removed from the file; the file index breaks ties.
  std::vector<std::pair<std::uint64_t, std::size_t>> ranked;
  ranked.reserve(demos.size());
  for (std::size_t i = 0; i < demos.size(); ++i) {
    const std::uint64_t h =
        fnv1a(fnv1a(fnv1a(mix64(seed), demos[i].prompt), "\x1f"), demos[i].answer);
    ranked.emplace_back(mix64(h), i);
  }
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(k), ranked.end());
  std::vector<std::size_t> chosen;
  for (std::size_t r = 0; r < k; ++r) chosen.push_back(ranked[r].second);
  // In file order, so the prompt reads like the file and only the choice depends on the seed.
  std::sort(chosen.begin(), chosen.end());
  std::vector<DemoPair> out;
  out.reserve(k);
  for (const std::size_t i : chosen) out.push_back(std::move(demos[i]));
  return out;
}

Request with_demonstrations(Request request, const std::vector<DemoPair>& demos) {
  std::vector<Message> messages;
  messages.reserve(request.messages.size() + 2 * demos.size());
  auto rest = request.messages.begin();
  if (rest != request.messages.end() && rest->role == "system") messages.push_back(*rest++);
  for (const DemoPair& demo : demos) {
    messages.push_back(Message{"user", demo.prompt});
    messages.push_back(Message{"assistant", demo.answer});
  }
  messages.insert(messages.end(), std::make_move_iterator(rest),
                  std::make_move_iterator(request.messages.end()));
  request.messages = std::move(messages);
  return request;
}

FewShotBackend::FewShotBackend(std::vector<DemoPair> demos, Backend& inner)
    : inner_(inner), demos_(std::move(demos)) {}

void FewShotBackend::submit(Request request, ResponseCallback done) {
  const TimePoint start = Clock::now();
  const TimePoint intended = request.intended_send == TimePoint{} ? start : request.intended_send;
  inner_.submit(with_demonstrations(std::move(request), demos_),
                [done = std::move(done), start, intended](Response&& response) {
                  response.timing.intended_send = intended;
                  response.timing.sent = start;
                  done(std::move(response));
                });
}

}  // namespace medsafe::wrappers
