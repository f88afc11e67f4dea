#pragma once
/// The `few-shot` wrapper: another model of the run, asked with k safety demonstrations first.
#include <vector>

#include "medsafe/backend.hpp"
#include "medsafe/config.hpp"
#include "medsafe/demos_format.hpp"

namespace medsafe::wrappers {

/// The demonstrations `config` names (`demos`, `format`, `k`): the file's first k, read with
/// read_demo_file. Throws a located config Error naming the key for a missing file, an unknown
/// format or k out of range, and read_demo_file's data Error (file, line, key) for a bad row.
[[nodiscard]] std::vector<DemoPair> load_demonstrations(const Config& config);

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
