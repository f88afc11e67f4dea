// Out-of-line destructors and name tables: they give each interface type a single home (vtable,
// type_info) in libmedsafe_core, shared by every plugin.
#include <algorithm>
#include <array>
#include <optional>
#include <string_view>

#include "medsafe/backend.hpp"
#include "medsafe/judge.hpp"
#include "medsafe/log.hpp"
#include "medsafe/plugin.hpp"
#include "medsafe/suite.hpp"

namespace medsafe {

Backend::~Backend() = default;
void Backend::cancel_all() {}
bool Backend::reentrant_submit() const noexcept { return false; }
Suite::~Suite() = default;
std::vector<Category> Suite::categories() const { return {}; }
void Suite::stream(const ItemSink& sink, std::size_t batch) {
  batch = std::max<std::size_t>(batch, 1);
  std::vector<PromptItem> items = load();
  for (std::size_t at = 0; at < items.size(); at += batch) {
    sink(std::span<PromptItem>(items).subspan(at, std::min(batch, items.size() - at)));
  }
}
std::string Suite::domain() const { return "general"; }
Judge::~Judge() = default;
JudgeDescription Judge::describe() const { return {}; }
Log::~Log() = default;
Registrar::~Registrar() = default;
ModelDirectory::~ModelDirectory() = default;
JudgeDirectory::~JudgeDirectory() = default;

namespace {
constexpr std::array<std::string_view, 8> kOutcomeNames = {
    "ok",        "http_error",   "transport_error", "timeout",
    "malformed", "stream_error", "cancelled",       "backend_error"};
}  // namespace

std::string_view to_string(Outcome outcome) noexcept {
  return kOutcomeNames.at(static_cast<std::size_t>(outcome));
}

std::optional<Outcome> outcome_from_string(std::string_view name) {
  for (std::size_t i = 0; i < kOutcomeNames.size(); ++i) {
    if (kOutcomeNames[i] == name) return static_cast<Outcome>(i);
  }
  return std::nullopt;
}

std::string_view to_string(TokenSource source) noexcept {
  switch (source) {
    case TokenSource::none:
      return "none";
    case TokenSource::usage:
      return "usage";
    case TokenSource::events:
      return "events";
    case TokenSource::estimate:
      return "estimate";
  }
  return "none";
}

std::string_view to_string(VerdictStatus status) noexcept {
  switch (status) {
    case VerdictStatus::ok:
      return "ok";
    case VerdictStatus::parse_failure:
      return "parse_failure";
    case VerdictStatus::error:
      return "error";
  }
  return "error";
}

}  // namespace medsafe
