#pragma once
/// Turning a backend's Response into the row the store keeps.
#include <string>

#include "engine/store/rows.hpp"
#include "medsafe/backend.hpp"

namespace medsafe {

/// Where a response belongs.
struct ResponseSlot {
  std::string model;
  std::string suite;
  std::string item_id;
  int sample = 0;
  std::string phase;
};

/// The stored form of `response`. `intended_send` overrides the backend's when set (the runner
/// knows the schedule); `attempts` counts every try so far.
[[nodiscard]] ResponseRow to_row(const Response& response, const ResponseSlot& slot, int attempts,
                                 TimePoint intended_send = {});

/// "model/suite/item#sample": a request id stable across resumes and retries.
[[nodiscard]] std::string request_id(const ResponseSlot& slot);

}  // namespace medsafe
