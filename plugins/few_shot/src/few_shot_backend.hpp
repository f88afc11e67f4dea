#pragma once
/// The `few-shot` wrapper: another model of the run, asked with k safety demonstrations first.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "medsafe/backend.hpp"
#include "medsafe/config.hpp"
#include "medsafe/demos/format.hpp"

namespace medsafe::wrappers {

/// The demonstrations `config` names (`demos`, `format`, `k`, `select`, `seed`): k of the file,
/// read with read_demo_file, chosen by select_demonstrations. Throws a located config Error
/// naming the key for a missing file, an unknown format or selection or k out of range, and
/// read_demo_file's data Error (file, line, key) for a bad row.
[[nodiscard]] std::vector<DemoPair> load_demonstrations(const Config& config);

/// k of `demos` (all when there are fewer): the first k, or with `random` the k whose hash of
/// `seed` and their text is lowest, in file order. The same file, k and seed always choose the
/// same demonstrations.
[[nodiscard]] std::vector<DemoPair> select_demonstrations(std::vector<DemoPair> demos,
                                                          std::size_t k, bool random,
                                                          std::uint64_t seed);

/// `request` with `demos` as user/assistant pairs before its messages (after a system message).
[[nodiscard]] Request with_demonstrations(Request request, const std::vector<DemoPair>& demos);

/// Sends each request to `inner` with the demonstrations before it; the answer is the inner
/// model's, its timing starting when this wrapper got the request.
class FewShotBackend final : public Backend {
 public:
  FewShotBackend(std::vector<DemoPair> demos, Backend& inner);

  void submit(Request request, ResponseCallback done) override;

 private:
  Backend& inner_;
  std::vector<DemoPair> demos_;
};

}  // namespace medsafe::wrappers
