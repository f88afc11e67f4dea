#include "exec_components.hpp"

#include <cstdint>
#include <utility>

#include "medsafe/json_text.hpp"

namespace medsafe::exec {
namespace {

std::int64_t count_words(std::string_view text) noexcept {
  std::int64_t words = 0;
  bool in_word = false;
  for (const char c : text) {
    const bool blank = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    if (!blank && !in_word) ++words;
    in_word = !blank;
  }
  return words;
}

class BackendExchange final : public Exchange {
 public:
  BackendExchange(Request request, ResponseCallback done)
      : request_(std::move(request)), done_(std::move(done)) {
    response_.timing.intended_send = request_.intended_send;
  }

  [[nodiscard]] std::string encode(std::string_view id) const override {
    return encode_request(id, request_);
  }

  void sent(TimePoint at) override {
    response_.timing.sent = at;
    if (response_.timing.intended_send == TimePoint{}) response_.timing.intended_send = at;
  }

  void delta(std::string_view text, TimePoint at) override {
    arrived(at);
    if (text.empty()) return;  // not token-bearing
    append_capped(text_, text);
    response_.timing.token_events.push_back(at);
  }

  [[nodiscard]] std::size_t max_text_bytes() const override { return request_.max_response_bytes; }

  void finish(Reply&& reply, TimePoint at) override {
    arrived(at);
    response_.timing.finished = at;
    if (reply.type == ReplyType::error) {
      response_.outcome = reply.outcome;
      response_.http_status = reply.http_status;
      response_.error = std::move(reply.message);
      response_.retry_after_s = reply.retry_after_s;
      response_.text = std::move(text_);
      return deliver();
    }
    if (reply.text) {
      std::string whole = std::move(*reply.text);
      response_.text.clear();
      append_capped(response_.text, whole);
    } else {
      response_.text = std::move(text_);
    }
    response_.truncated = truncated_ || reply.truncated;
    response_.finish_reason = std::move(reply.finish_reason);
    response_.usage = reply.usage;
    if (response_.usage.source != TokenSource::usage) {
      const auto events = static_cast<std::int64_t>(response_.timing.token_events.size());
      response_.usage.completion_tokens = events > 0 ? events : count_words(response_.text);
      response_.usage.source = events > 0 ? TokenSource::events : TokenSource::estimate;
    }
    deliver();
  }

  void fail(Outcome outcome, std::string message, TimePoint at) override {
    response_.outcome = outcome;
    response_.error = std::move(message);
    response_.text = std::move(text_);
    response_.truncated = truncated_;
    response_.timing.finished = at;
    deliver();
  }

 private:
  // Appends within the request's max_response_bytes, cut at a UTF-8 boundary.
  void append_capped(std::string& into, std::string_view piece) {
    const std::size_t limit = request_.max_response_bytes;
    if (limit == 0 || into.size() + piece.size() <= limit) {
      into.append(piece);
      return;
    }
    const std::size_t room = limit > into.size() ? limit - into.size() : 0;
    into.append(piece.substr(0, utf8_prefix_length(piece, room)));
    truncated_ = true;
  }

  void arrived(TimePoint at) {
    if (response_.timing.first_byte == TimePoint{}) response_.timing.first_byte = at;
  }
  void deliver() {
    ResponseCallback done = std::move(done_);
    done(std::move(response_));
  }

  Request request_;
  ResponseCallback done_;
  Response response_;
  std::string text_;        ///< the deltas so far
  bool truncated_ = false;  ///< the answer outgrew max_response_bytes
};

class JudgeExchange final : public Exchange {
 public:
  JudgeExchange(JudgeInput input, VerdictCallback done)
      : input_(std::move(input)), done_(std::move(done)) {}

  [[nodiscard]] std::string encode(std::string_view id) const override {
    return encode_judge(id, input_);
  }
  void sent(TimePoint /*at*/) override {}
  void delta(std::string_view /*text*/, TimePoint /*at*/) override {}

  void finish(Reply&& reply, TimePoint /*at*/) override {
    if (reply.type == ReplyType::error) return deliver(error(std::move(reply.message)));
    deliver(std::move(reply.verdict));
  }

  void fail(Outcome outcome, std::string message, TimePoint /*at*/) override {
    deliver(
        error("the judge program failed (" + std::string(to_string(outcome)) + "): " + message));
  }

 private:
  static Verdict error(std::string reason) {
    Verdict verdict;
    verdict.status = VerdictStatus::error;
    verdict.reason = std::move(reason);
    return verdict;
  }
  void deliver(Verdict verdict) {
    VerdictCallback done = std::move(done_);
    done(std::move(verdict));
  }

  JudgeInput input_;
  VerdictCallback done_;
};

JudgeTraits traits_from(const Config& config) {
  JudgeTraits traits;
  traits.harm_score = config.boolean("harm_score");
  traits.refusal = config.boolean("refusal");
  if (!traits.harm_score && !traits.refusal) {
    throw config.error("refusal", "and 'harm_score' are both false: the judge must give one");
  }
  return traits;
}

}  // namespace

ExecBackend::ExecBackend(const Config& config, const std::string& name, Log& log)
    : session_(session_options(config, Role::backend, name), log) {}

void ExecBackend::submit(Request request, ResponseCallback done) {
  session_.submit(std::make_unique<BackendExchange>(std::move(request), std::move(done)));
}

void ExecBackend::cancel_all() { session_.cancel_all(); }

ExecJudge::ExecJudge(const Config& config, const std::string& name, Log& log)
    : traits_(traits_from(config)), session_(session_options(config, Role::judge, name), log) {}

void ExecJudge::evaluate(JudgeInput input, VerdictCallback done) {
  session_.submit(std::make_unique<JudgeExchange>(std::move(input), std::move(done)));
}

}  // namespace medsafe::exec
