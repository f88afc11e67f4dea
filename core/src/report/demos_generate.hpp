#pragma once
/// `medsafe demos generate`: a teacher model of a run file answers the prompts that have no
/// reference answer, the run's judges score each answer, and only answers every chosen judge
/// approves (a rubric score of 1, or a refusal) become demonstrations. It is a run of its own in
/// the output folder: the same store, runner, flow control and lock as `medsafe run`, so a killed
/// generation loses at most what was in flight and a rerun asks only what is missing.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/plugin/assembly.hpp"
#include "engine/plugin/run_file.hpp"
#include "engine/store/store.hpp"
#include "report/demos_export.hpp"

namespace medsafe {

/// Who writes and who approves, as recorded in the store's meta "demos_generate".
struct GenerateSetup {
  std::string teacher;              ///< a model of the run file
  std::vector<std::string> judges;  ///< judges of the run file; all must approve an answer
};

/// Checks the setup against a run file before anything is made: a teacher or judge that the run
/// file lacks is a usage Error listing what it has. `judges` empty: every judge of the run file.
[[nodiscard]] GenerateSetup check_generate_setup(const RunFile& run, const std::string& teacher,
                                                 const std::vector<std::string>& judges);

/// What prepare_generation found in the suites.
struct GenerationPlan {
  std::size_t prompts = 0;     ///< items without a reference answer: the teacher answers them
  std::size_t referenced = 0;  ///< items with one, left out (`demos export` takes them as they are)
};

/// Makes the teacher the only model under test and leaves out the items that already have a
/// reference answer. Throws a config Error when a judge gives neither 1-5 scores nor refusal
/// decisions, or judges none of the suites, and a data Error when no prompt is left.
GenerationPlan prepare_generation(Assembly& assembly, const GenerateSetup& setup);

/// Refuses (usage Error) a folder whose store was generated with another teacher: its answers
/// would mix two teachers. A folder that is no generation folder (a `medsafe run` directory) is
/// refused too. A new folder passes.
void check_generation_folder(Store& store, const GenerateSetup& setup);
/// Records the setup in the store's meta.
void record_generation(Store& store, const GenerateSetup& setup);

/// How the answers of a generation folder stand.
struct GeneratedCounts {
  std::int64_t prompts = 0;         ///< prompts of the suites
  std::int64_t answered = 0;        ///< prompts with at least one ok answer
  std::int64_t failed = 0;          ///< answers that failed (counted per answer)
  std::int64_t approved = 0;        ///< prompts with an answer every judge approved
  std::int64_t rejected = 0;        ///< ok answers some judge did not approve
  std::int64_t unjudged = 0;        ///< ok answers still missing a verdict
  std::int64_t judge_failures = 0;  ///< verdicts that are a parse failure or an error
};

/// The approved demonstrations of a generation folder (one per prompt: its lowest approved
/// sample), each with its provenance: the teacher and the judges with their configuration
/// fingerprints and verdicts, the prompt's and answer's hashes, when it was answered.
[[nodiscard]] DemoSource generated_demonstrations(Store& store, GeneratedCounts* counts = nullptr);

}  // namespace medsafe
