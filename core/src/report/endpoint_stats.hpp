#pragma once
/// Latency and failures per replica of a model with several endpoints (`base_urls`): which
/// replica took how many sends, how many failed there (and were sent on to another), and the
/// latency of the answers each served. Computed from the store's responses (ResponseRow::
/// endpoints) alone, like every other figure.
#include <vector>

#include "report/metrics.hpp"
#include "report/run_data.hpp"

namespace medsafe {

/// One LatencyStats per model × phase × replica, for the models whose answers record replicas
/// (none otherwise): mode "endpoint", `endpoint` the replica's base URL, `requests` every send
/// to it (those that failed there and went on to another replica included), `failed` the sends
/// that failed there, latency over the answers it served. Models in RunInfo order, phases in
/// order of first appearance, replicas sorted.
[[nodiscard]] std::vector<LatencyStats> compute_endpoint_table(const RunData& data);

}  // namespace medsafe
