#pragma once
/// A fast path for decoding chat-completions JSON: a validating single-pass scanner that reads
/// only the fields medsafe needs and skips the rest without building a document. It handles the
/// well-formed common case only; for anything else (an error object, a wrong type, invalid JSON,
/// duplicate keys) it gives up and the caller uses the full parser, which names the fault.
#include <cstddef>
#include <optional>
#include <string_view>

#include "medsafe/http/wire_text.hpp"
#include "openai_protocol.hpp"

namespace medsafe::openai::detail {

/// The decoded chunk (`stream`: choices[].delta) or body (choices[].message), or nullopt when
/// the full parser must decide. When it returns a value, it equals what the full parser gives.
[[nodiscard]] std::optional<Decoded> fast_decode(std::string_view text, bool stream);

/// The full (nlohmann) decoder the fast path falls back to; exposed for differential tests.
[[nodiscard]] Decoded full_decode(std::string_view text, bool stream);

}  // namespace medsafe::openai::detail
