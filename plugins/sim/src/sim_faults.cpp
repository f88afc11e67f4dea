#include "sim_faults.hpp"

#include <charconv>
#include <cmath>

#include "sim_config_checks.hpp"
#include "sim_model.hpp"
#include "sim_random.hpp"

namespace medsafe::sim {
namespace {

// A stream of its own, so that faults never correlate with refusals or jitter.
constexpr std::uint64_t kFaultStream = 4;

constexpr std::array<std::string_view, kFaultKindCount> kNames = {
    "none",  "429",       "500",         "503",      "reset", "reset_mid_stream",
    "stall", "malformed", "error_event", "slow_drip"};

std::string rate_key(FaultKind kind) { return "fault_" + std::string(to_string(kind)) + "_rate"; }

}  // namespace

std::string_view to_string(FaultKind kind) noexcept {
  const auto index = static_cast<std::size_t>(kind);
  return index < kNames.size() ? kNames[index] : "unknown";
}

bool applies_in_process(FaultKind kind) noexcept {
  switch (kind) {
    case FaultKind::reset:
    case FaultKind::reset_mid_stream:
    case FaultKind::stall:
      return false;
    default:
      return true;
  }
}

FaultSettings FaultSettings::from_config(const Config& config) {
  FaultSettings s;
  double sum = 0.0;
  for (std::size_t i = 1; i < kFaultKindCount; ++i) {
    const std::string key = rate_key(static_cast<FaultKind>(i));
    s.rates[i] = unit_number(config, key);
    sum += s.rates[i];
  }
  // A little slack: rates written as decimals rarely add up exactly in binary.
  if (sum > 1.0 + 1e-9) {
    throw config.error(
        rate_key(FaultKind::status_429),
        "and the other fault_*_rate keys add up to " + std::to_string(sum) + ", more than 1");
  }
  s.retry_after_s = non_negative_number(config, "retry_after_s");
  s.fault_after_events = integer_at_least(config, "fault_after_events", 0);
  s.stall_ms = non_negative_number(config, "stall_ms");
  s.drip_ms = non_negative_number(config, "drip_ms");
  return s;
}

bool FaultSettings::enabled() const noexcept {
  for (std::size_t i = 1; i < kFaultKindCount; ++i) {
    if (rates[i] > 0.0) return true;
  }
  return false;
}

FaultKind FaultSettings::draw(std::uint64_t seed, std::string_view request_id,
                              int attempt) const noexcept {
  if (!enabled()) return FaultKind::none;
  const std::uint64_t hash = mix64(fnv1a(kFnv1aBasis, request_id) ^ mix64(seed + 0xFA17ULL));
  const double u = sim::draw(hash, kFaultStream, static_cast<std::uint64_t>(attempt));
  double edge = 0.0;
  for (std::size_t i = 1; i < kFaultKindCount; ++i) {
    edge += rates[i];
    if (u < edge) return static_cast<FaultKind>(i);
  }
  return FaultKind::none;
}

std::string FaultSettings::retry_after_text() const {
  if (retry_after_s == std::floor(retry_after_s)) {
    return std::to_string(static_cast<std::int64_t>(retry_after_s));
  }
  char buf[32];
  const auto result =
      std::to_chars(buf, buf + sizeof buf, retry_after_s, std::chars_format::fixed, 3);
  std::string text(buf, result.ptr);
  while (text.back() == '0') text.pop_back();
  return text;
}

void apply_drip(Answer& answer, std::int64_t drip_ns) {
  auto& offsets = answer.event_offsets_ns;
  if (offsets.empty()) return;
  for (std::size_t i = 1; i < offsets.size(); ++i) {
    offsets[i] = offsets[0] + static_cast<std::int64_t>(i) * drip_ns;
  }
  answer.done_offset_ns = offsets.back();
}

int AttemptCounter::next(std::string_view request_id) {
  const std::lock_guard lock(mutex_);
  return ++attempts_.try_emplace(std::string(request_id), 0).first->second;
}

void AttemptCounter::clear() {
  const std::lock_guard lock(mutex_);
  attempts_.clear();
}

}  // namespace medsafe::sim
