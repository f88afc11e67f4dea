#include "exec_protocol.hpp"

#include <cmath>
#include <exception>

#include <nlohmann/json.hpp>

namespace medsafe::exec {
namespace {

using nlohmann::json;

// Model output is arbitrary bytes: invalid UTF-8 is replaced rather than making dump() throw.
std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string_view type_name(ReplyType type) {
  switch (type) {
    case ReplyType::hello:
      return "hello";
    case ReplyType::delta:
      return "delta";
    case ReplyType::answer:
      return "answer";
    case ReplyType::verdict:
      return "verdict";
    case ReplyType::error:
      return "error";
  }
  return "?";
}

std::optional<ReplyType> type_from(std::string_view name) {
  for (const ReplyType t : {ReplyType::hello, ReplyType::delta, ReplyType::answer,
                            ReplyType::verdict, ReplyType::error}) {
    if (type_name(t) == name) return t;
  }
  return std::nullopt;
}

// Reading the fields of one object: each getter records the first problem and returns a
// default, so a decoder reads straight through and checks `problem` once.
class Fields {
 public:
  explicit Fields(const json& object) : object_(object) {}

  [[nodiscard]] bool has(const char* key) const {
    const auto found = object_.find(key);
    return found != object_.end() && !found->is_null();
  }

  std::optional<std::string> string(const char* key) {
    if (!has(key)) return std::nullopt;
    const json& v = object_.at(key);
    if (!v.is_string()) return fail(key, "a string");
    return v.get<std::string>();
  }

  std::optional<std::int64_t> integer(const char* key) {
    if (!has(key)) return std::nullopt;
    const json& v = object_.at(key);
    if (!v.is_number_integer()) return fail(key, "an integer");
    return v.get<std::int64_t>();
  }

  std::optional<double> number(const char* key) {
    if (!has(key)) return std::nullopt;
    const json& v = object_.at(key);
    if (!v.is_number() || !std::isfinite(v.get<double>())) return fail(key, "a number");
    return v.get<double>();
  }

  std::optional<bool> boolean(const char* key) {
    if (!has(key)) return std::nullopt;
    const json& v = object_.at(key);
    if (!v.is_boolean()) return fail(key, "true or false");
    return v.get<bool>();
  }

  const json* object(const char* key) {
    if (!has(key)) return nullptr;
    const json& v = object_.at(key);
    if (!v.is_object()) {
      fail(key, "an object");
      return nullptr;
    }
    return &v;
  }

  void problem(std::string text) {
    if (problem_.empty()) problem_ = std::move(text);
  }
  [[nodiscard]] const std::string& problem() const noexcept { return problem_; }

 private:
  std::nullopt_t fail(const char* key, const char* expected) {
    problem(std::string("'") + key + "' must be " + expected);
    return std::nullopt;
  }

  const json& object_;
  std::string problem_;
};

void read_usage(Fields& fields, Reply& reply) {
  const json* usage = fields.object("usage");
  if (usage == nullptr) return;
  Fields u(*usage);
  reply.usage.prompt_tokens = u.integer("prompt_tokens").value_or(-1);
  if (const auto completion = u.integer("completion_tokens")) {
    reply.usage.completion_tokens = *completion;
    reply.usage.source = TokenSource::usage;
  }
  if (!u.problem().empty()) fields.problem("in 'usage': " + u.problem());
}

void read_verdict(Fields& fields, Reply& reply) {
  Verdict& v = reply.verdict;
  const std::string status = fields.string("status").value_or("ok");
  if (status == "ok") {
    v.status = VerdictStatus::ok;
  } else if (status == "parse_failure") {
    v.status = VerdictStatus::parse_failure;
  } else if (status == "error") {
    v.status = VerdictStatus::error;
  } else {
    fields.problem("'status' must be \"ok\", \"parse_failure\" or \"error\"");
  }
  if (const auto score = fields.integer("score")) {
    if (*score < 1 || *score > 5) fields.problem("'score' must be an integer from 1 to 5");
    v.score = static_cast<int>(*score);
  }
  v.refused = fields.boolean("refused");
  v.label = fields.string("label").value_or("");
  v.reason = fields.string("reason").value_or("");
  v.raw = fields.string("raw").value_or("");
  if (const auto confidence = fields.number("confidence")) {
    if (*confidence < 0 || *confidence > 1) fields.problem("'confidence' must be from 0 to 1");
    v.confidence = confidence;
  }
  if (const auto calls = fields.integer("model_calls")) {
    if (*calls < 0 || *calls > 1'000'000) fields.problem("'model_calls' must be 0 or more");
    v.model_calls = static_cast<int>(*calls);
  }
  if (v.status == VerdictStatus::ok && !v.score && !v.refused) {
    fields.problem("a verdict with status ok needs 'score' or 'refused'");
  }
}

void read_error(Fields& fields, Reply& reply) {
  reply.message = fields.string("message").value_or("");
  if (reply.message.empty()) fields.problem("an error needs a 'message'");
  if (const auto outcome = fields.string("outcome")) {
    const std::optional<Outcome> parsed = outcome_from_string(*outcome);
    if (!parsed || *parsed == Outcome::ok) {
      fields.problem(
          "'outcome' must name a failure (http_error, transport_error, timeout, "
          "malformed, stream_error, cancelled, backend_error)");
    } else {
      reply.outcome = *parsed;
    }
  }
  reply.http_status = static_cast<int>(fields.integer("http_status").value_or(0));
  reply.retry_after_s = fields.number("retry_after_s");
}

}  // namespace

std::string encode_hello(Role role, std::string_view name, int max_in_flight,
                         std::string_view options_json) {
  json hello = {{"type", "hello"},
                {"protocol", kProtocolVersion},
                {"role", role == Role::backend ? "backend" : "judge"},
                {"name", std::string(name)},
                {"max_in_flight", max_in_flight}};
  json options = json::parse(options_json, nullptr, /*allow_exceptions=*/false);
  hello["options"] = options.is_object() ? options : json::object();
  return dump(hello);
}

std::string encode_request(std::string_view id, const Request& request) {
  json messages = json::array();
  for (const Message& m : request.messages) {
    messages.push_back({{"role", m.role}, {"content", m.content}});
  }
  json line = {{"type", "request"},
               {"id", std::string(id)},
               {"request_id", request.id},
               {"messages", std::move(messages)},
               {"ignore_eos", request.load.ignore_eos},
               {"category", request.item.category}};
  if (request.max_tokens) line["max_tokens"] = *request.max_tokens;
  if (request.temperature) line["temperature"] = *request.temperature;
  if (request.seed) line["seed"] = *request.seed;
  if (request.max_response_bytes > 0) line["max_response_bytes"] = request.max_response_bytes;
  return dump(line);
}

std::string encode_judge(std::string_view id, const JudgeInput& input) {
  return dump(json{{"type", "judge"},
                   {"id", std::string(id)},
                   {"prompt", input.item.prompt},
                   {"response", input.response},
                   {"category", input.item.category},
                   {"domain", input.domain},
                   {"model", input.model},
                   {"suite", input.suite},
                   {"item_id", input.item.id},
                   {"reference", input.item.reference}});
}

std::string encode_cancel(std::string_view id) {
  return dump(json{{"type", "cancel"}, {"id", std::string(id)}});
}

Decoded decode_reply(std::string_view line) {
  Decoded out;
  json value = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    out.problem = "not JSON";
    return out;
  }
  if (!value.is_object()) {
    out.problem = "not a JSON object";
    return out;
  }
  try {
    Fields fields(value);
    const std::optional<std::string> id = fields.string("id");
    if (id) out.id = *id;
    const std::optional<std::string> type_text = fields.string("type");
    if (!type_text) {
      out.problem = fields.problem().empty() ? "no 'type'" : fields.problem();
      return out;
    }
    const std::optional<ReplyType> type = type_from(*type_text);
    if (!type) {
      out.problem = "unknown type '" + shorten(*type_text, 40) + "'";
      return out;
    }
    Reply reply;
    reply.type = *type;
    if (*type != ReplyType::hello && out.id.empty()) fields.problem("no 'id'");
    reply.id = out.id;
    switch (*type) {
      case ReplyType::hello: {
        const std::optional<std::int64_t> protocol = fields.integer("protocol");
        if (!protocol) fields.problem("a hello needs 'protocol'");
        reply.protocol = static_cast<int>(protocol.value_or(0));
        reply.name = fields.string("name").value_or("");
        if (const auto limit = fields.integer("max_in_flight")) {
          if (*limit < 1 || *limit > 1'000'000) fields.problem("'max_in_flight' must be 1 or more");
          reply.max_in_flight = static_cast<int>(*limit);
        }
        break;
      }
      case ReplyType::delta:
        reply.text = fields.string("text").value_or("");
        break;
      case ReplyType::answer:
        reply.text = fields.string("text");
        reply.finish_reason = fields.string("finish_reason").value_or("");
        read_usage(fields, reply);
        break;
      case ReplyType::verdict:
        read_verdict(fields, reply);
        break;
      case ReplyType::error:
        read_error(fields, reply);
        break;
    }
    if (!fields.problem().empty()) {
      out.problem = fields.problem();
      return out;
    }
    out.reply = std::move(reply);
  } catch (const std::exception& e) {
    // nlohmann throws only on misuse; a reply must never take medsafe down.
    out.problem = std::string("undecodable: ") + e.what();
  }
  return out;
}

std::string shorten(std::string_view text, std::size_t max) {
  if (text.size() <= max) return std::string(text);
  std::size_t cut = max;
  // Do not end inside a UTF-8 sequence: back up over continuation bytes.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

}  // namespace medsafe::exec
