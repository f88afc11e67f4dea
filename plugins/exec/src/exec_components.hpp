#pragma once
/// The `exec` backend and the `exec-judge` judge: a program speaking the exec protocol
/// (docs/exec-protocol.md) answers requests or judges answers.
#include <memory>
#include <string>

#include "exec_session.hpp"
#include "medsafe/backend.hpp"
#include "medsafe/config.hpp"
#include "medsafe/judge.hpp"
#include "medsafe/log.hpp"

namespace medsafe::exec {

/// A backend whose answers come from a program. Each delta line is a token-bearing event,
/// stamped when its line arrived; the answer's usage is used when given (else the events are
/// counted, else the words of the text are an estimate). A program's error line becomes a failed
/// Response with its outcome and message; a crash, a malformed line or a timeout too. Never
/// blocks: the program is fed by the session's I/O thread.
class ExecBackend final : public Backend {
 public:
  /// `config` has been validated against exec.toml; throws a config Error for a program that
  /// cannot be found or bad limits. The program starts with the first request.
  ExecBackend(const Config& config, const std::string& name, Log& log);

  void submit(Request request, ResponseCallback done) override;
  void cancel_all() override;

  [[nodiscard]] SessionStats stats() const { return session_.stats(); }

 private:
  Session session_;
};

/// A judge whose verdicts come from a program (status, score, refused, label, reason, raw,
/// confidence, model_calls as the program says). An error line, a crash, a malformed line or a
/// timeout is a Verdict with status error and the reason.
class ExecJudge final : public Judge {
 public:
  /// `config` has been validated against exec-judge.toml (see ExecBackend); `harm_score` and
  /// `refusal` declare what the program's verdicts carry, and one must be true.
  ExecJudge(const Config& config, const std::string& name, Log& log);

  [[nodiscard]] JudgeTraits traits() const override { return traits_; }
  void evaluate(JudgeInput input, VerdictCallback done) override;

  [[nodiscard]] SessionStats stats() const { return session_.stats(); }

 private:
  JudgeTraits traits_;
  Session session_;
};

}  // namespace medsafe::exec
