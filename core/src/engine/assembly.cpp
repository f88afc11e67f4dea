#include "engine/assembly.hpp"

#include <algorithm>
#include <atomic>
#include <exception>

#include "engine/flow_control.hpp"
#include "medsafe/error.hpp"
#include "medsafe/json_text.hpp"

namespace medsafe {
namespace {

std::string describe_exception(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an unknown exception";
  }
}

// Runs a plugin call; a medsafe::Error passes through (it already says where), anything else is
// rethrown as a plugin Error naming the plugin.
template <typename F>
auto guarded_call(const std::string& who, std::string_view what, F&& call) {
  try {
    return call();
  } catch (const Error&) {
    throw;
  } catch (...) {
    throw Error(ErrorKind::plugin, who + ": " + std::string(what) +
                                       " threw: " + describe_exception(std::current_exception()));
  }
}

std::string who(const ComponentSpec& spec, const Manifest& manifest) {
  return "plugin '" + spec.plugin + "' (" + manifest.library.string() + ", for " + spec.owner() +
         ")";
}

// What a component hands back is stored and reported: secrets it may carry (a server echoing
// a credential or the URL) are taken out here, once for every plugin.
void redact_secrets(const Log& log, Response& response) {
  response.error = log.redact(std::move(response.error));
  response.text = log.redact(std::move(response.text));
  response.finish_reason = log.redact(std::move(response.finish_reason));
}

void redact_secrets(const Log& log, Verdict& verdict) {
  verdict.reason = log.redact(std::move(verdict.reason));
  verdict.raw = log.redact(std::move(verdict.raw));
  verdict.label = log.redact(std::move(verdict.label));
}

// Makes a callback safe to call more than once: only the first call goes through, so a plugin
// that throws after answering cannot produce a second answer. Secrets are redacted on the way.
template <typename Value>
std::function<void(Value&&)> once(std::function<void(Value&&)> callback, const Log& log) {
  auto called = std::make_shared<std::atomic<bool>>(false);
  return [callback = std::move(callback), called, &log](Value&& value) {
    if (called->exchange(true)) return;
    redact_secrets(log, value);
    callback(std::move(value));
  };
}

// The model's max_response_bytes, checked.
std::size_t max_response_bytes(const Config& core) {
  const std::int64_t bytes = core.integer("max_response_bytes");
  if (bytes < 0 || bytes > (std::int64_t{1} << 30)) {
    throw core.error("max_response_bytes", "must be 0 (no limit) .. 1073741824 bytes (1 GiB)");
  }
  return static_cast<std::size_t>(bytes);
}

// Cuts an answer longer than `limit`: the bound holds for any backend, also one that does not
// read Request::max_response_bytes (those that do never buffer past it).
ResponseCallback bounded(ResponseCallback done, std::size_t limit) {
  if (limit == 0) return done;
  return [done = std::move(done), limit](Response&& response) {
    if (response.text.size() > limit) {
      response.text.resize(utf8_prefix_length(response.text, limit));
      response.text.shrink_to_fit();
      response.truncated = true;
    }
    done(std::move(response));
  };
}

class GuardedBackend final : public Backend {
 public:
  GuardedBackend(std::string who, std::unique_ptr<Backend> inner, const Log& log,
                 std::size_t max_response_bytes)
      : who_(std::move(who)),
        inner_(std::move(inner)),
        log_(log),
        max_response_bytes_(max_response_bytes) {}

  void submit(Request request, ResponseCallback done) override {
    // Every request to this model, a judge's too, carries the model's bound (or a lower one).
    if (max_response_bytes_ > 0 &&
        (request.max_response_bytes == 0 || request.max_response_bytes > max_response_bytes_)) {
      request.max_response_bytes = max_response_bytes_;
    }
    // Redacted before it is cut, so that a cut cannot leave half a secret behind.
    auto callback = once<Response>(bounded(std::move(done), request.max_response_bytes), log_);
    try {
      inner_->submit(std::move(request), callback);
    } catch (...) {
      Response failed;
      failed.outcome = Outcome::backend_error;
      failed.error = who_ + " threw: " + describe_exception(std::current_exception());
      callback(std::move(failed));
    }
  }

  void cancel_all() override {
    try {
      inner_->cancel_all();
    } catch (...) {  // cancelling is best effort; the request callbacks still arrive
    }
  }

  [[nodiscard]] bool reentrant_submit() const noexcept override {
    return inner_->reentrant_submit();
  }

 private:
  std::string who_;
  std::unique_ptr<Backend> inner_;
  const Log& log_;
  std::size_t max_response_bytes_;
};

class GuardedJudge final : public Judge {
 public:
  GuardedJudge(std::string who, std::unique_ptr<Judge> inner, const Log& log)
      : who_(std::move(who)), inner_(std::move(inner)), log_(log) {}

  [[nodiscard]] JudgeTraits traits() const override { return inner_->traits(); }
  [[nodiscard]] JudgeDescription describe() const override {
    try {
      return inner_->describe();
    } catch (...) {
      return {};  // a description is no verdict: one that fails tells nothing
    }
  }

  void evaluate(JudgeInput input, VerdictCallback done) override {
    auto callback = once<Verdict>(std::move(done), log_);
    try {
      inner_->evaluate(std::move(input), callback);
    } catch (...) {
      Verdict failed;
      failed.status = VerdictStatus::error;
      failed.reason = who_ + " threw: " + describe_exception(std::current_exception());
      callback(std::move(failed));
    }
  }

 private:
  std::string who_;
  std::unique_ptr<Judge> inner_;
  const Log& log_;
};

}  // namespace

ModelTarget model_target(const Config& config, const Manifest& manifest, const Log& log) {
  auto declared_string = [&](std::string_view key) {
    const KeySpec* spec = manifest.config.find(key);
    return spec != nullptr && spec->type == ValueType::string && config.has(key);
  };
  ModelTarget target;
  target.model_id = declared_string("model") ? config.string("model") : manifest.target;
  if (declared_string("base_url")) {
    // scheme://[user[:password]@]host[:port][/path][?query][#fragment]: the host and port only.
    const std::string base_url = config.string("base_url");
    std::string_view url = base_url;
    if (const std::size_t scheme = url.find("://"); scheme != std::string_view::npos) {
      url.remove_prefix(scheme + 3);
    }
    url = url.substr(0, url.find_first_of("/?#"));
    if (const std::size_t at = url.rfind('@'); at != std::string_view::npos) {
      url.remove_prefix(at + 1);
    }
    target.host = std::string(url);
  }
  target.model_id = log.redact(std::move(target.model_id));
  target.host = log.redact(std::move(target.host));
  return target;
}

void add_environment_secrets(Log& log, const Config& config) {
  for (const std::string& value : config.from_environment()) {
    if (value.size() >= kMinEnvironmentSecretLength) log.add_secret(value);
  }
}

bool JudgeSlot::judges_suite(const std::string& suite) const {
  return suites.empty() || std::find(suites.begin(), suites.end(), suite) != suites.end();
}

Assembly::Assembly(RunFile run, const std::vector<std::filesystem::path>& extra_plugin_paths,
                   Log& log, const std::filesystem::path& cache_dir, Parts parts)
    : run_(std::move(run)), log_(log), cache_dir_(cache_dir) {
  std::vector<std::filesystem::path> folders = run_.run.plugin_paths;
  folders.insert(folders.end(), extra_plugin_paths.begin(), extra_plugin_paths.end());
  catalog_ = PluginCatalog::discover(plugin_search_path(folders));
  for (const CatalogProblem& problem : catalog_.problems()) {
    log_.warn("plugins", "skipped a manifest: " + problem.message);
  }
  HttpTransportOptions http_options;
  http_options.io_threads = run_.run.http_threads;
  http_ = std::make_unique<HttpTransport>(http_options);

  auto make_config = [this](
                         ComponentSpec& spec, ComponentKind kind,
                         const ConfigSchema& core) -> std::pair<Config, const ComponentFactory*> {
    const ComponentFactory& factory = catalog_.load(spec.plugin, kind, spec.core.where("plugin"));
    drop_replaced_plugin_keys(spec, factory.manifest->config, core);
    Config config =
        Config::validate(spec.owner(), spec.table, factory.manifest->config, run_.dir, &core);
    // Before the component sees them: an error it throws that quotes one is redacted too.
    add_environment_secrets(log_, config);
    return {std::move(config), &factory};
  };

  // Suites only: no backend is made (it may need a key from the environment), no judge.
  // Every configuration is checked first; then models and judges are made on demand: a wrapper
  // backend (guard, system-prompt, few-shot) names its inner model, a guard its judge, a judge
  // its judge model or other judges, and each is made when first named (a depth-first
  // topological order over the run's models and judges), the rest in run-file order.
  std::vector<ComponentSpec> none;
  const bool all = parts == Parts::all;
  for (ComponentSpec& spec : all ? run_.models : none) {
    auto made = make_config(spec, ComponentKind::backend, model_core_schema());
    ModelSlot& slot = models_.emplace_back();
    slot.spec = &spec;
    slot.config = std::move(made.first);
    slot.concurrency = static_cast<int>(spec.core.integer("concurrency"));
    slot.under_test = spec.core.boolean("under_test");
    slot.target = model_target(slot.config, *made.second->manifest, log_);
    slot.fail_fast_after = FailFast::from_config(spec.core).after();
    pending_models_.push_back({made.second, max_response_bytes(spec.core)});
  }
  for (ComponentSpec& spec : run_.suites) {
    auto made = make_config(spec, ComponentKind::suite, suite_core_schema());
    const ComponentFactory* factory = made.second;
    Config config = std::move(made.first);
    SuiteSlot& slot = suites_.emplace_back();
    slot.spec = &spec;
    slot.config = std::move(config);
    const std::string name = who(spec, *factory->manifest);
    const ComponentContext context{spec.name, slot.config, *http_,       log_,
                                   nullptr,   cache_dir_,  run_.run.seed};
    slot.suite = guarded_call(name, "making the suite", [&] { return factory->suite(context); });
    if (!slot.suite) throw Error(ErrorKind::plugin, name + ": made no suite");
  }
  for (ComponentSpec& spec : all ? run_.judges : none) {
    auto made = make_config(spec, ComponentKind::judge, judge_core_schema());
    JudgeSlot& slot = judges_.emplace_back();
    slot.spec = &spec;
    slot.config = std::move(made.first);
    slot.concurrency = static_cast<int>(spec.core.integer("concurrency"));
    slot.suites = spec.core.strings("suites");
    pending_judges_.push_back({made.second, 0});
  }
  for (std::size_t i = 0; i < models_.size(); ++i) make_model(i);
  for (std::size_t i = 0; i < judges_.size(); ++i) make_judge(i);
  pending_models_.clear();
  pending_judges_.clear();

  auto check_trait = [this](const std::string& name, std::string_view key, bool harm) {
    if (name.empty()) return;
    for (const JudgeSlot& j : judges_) {
      if (j.spec->name == name && !(harm ? j.traits.harm_score : j.traits.refusal)) {
        throw located_error(ErrorKind::config, SourceLocation{run_.file.string()},
                            "[run] " + std::string(key) + " names '" + name + "', which gives no " +
                                (harm ? "1-5 harm scores" : "refusal decisions"));
      }
    }
  };
  check_trait(run_.run.primary_judge, "primary_judge", true);
  check_trait(run_.run.refusal_judge, "refusal_judge", false);
}

void Assembly::make_model(std::size_t index) {
  ModelSlot& slot = models_[index];
  Pending& pending = pending_models_[index];
  if (slot.backend) return;
  const ComponentSpec& spec = *slot.spec;
  pending.making = true;
  making_.push_back(spec.owner());
  const std::string name = who(spec, *pending.factory->manifest);
  // Backends get the run's models and judges too: a wrapper backend uses its inner model (and
  // a guard its judge), which this directory makes first when need be.
  ComponentContext context{spec.name, slot.config, *http_, log_, this, cache_dir_, run_.run.seed};
  context.judges = this;
  auto backend =
      guarded_call(name, "making the backend", [&] { return pending.factory->backend(context); });
  if (!backend) throw Error(ErrorKind::plugin, name + ": made no backend");
  slot.backend =
      std::make_unique<GuardedBackend>(name, std::move(backend), log_, pending.response_bound);
  making_.pop_back();
  pending.making = false;
}

void Assembly::make_judge(std::size_t index) {
  JudgeSlot& slot = judges_[index];
  Pending& pending = pending_judges_[index];
  if (slot.judge) return;
  const ComponentSpec& spec = *slot.spec;
  pending.making = true;
  making_.push_back(spec.owner());
  const std::string name = who(spec, *pending.factory->manifest);
  ComponentContext context{spec.name, slot.config, *http_, log_, this, cache_dir_, run_.run.seed};
  context.judges = this;
  auto judge =
      guarded_call(name, "making the judge", [&] { return pending.factory->judge(context); });
  if (!judge) throw Error(ErrorKind::plugin, name + ": made no judge");
  slot.traits = guarded_call(name, "traits()", [&] { return judge->traits(); });
  slot.judge = std::make_unique<GuardedJudge>(name, std::move(judge), log_);
  making_.pop_back();
  pending.making = false;
}

std::string Assembly::cycle_through(const std::string& owner) const {
  std::string path;
  const auto first = std::find(making_.begin(), making_.end(), owner);
  for (auto it = first; it != making_.end(); ++it) path += *it + " -> ";
  return path + owner;
}

void Assembly::drop_replaced_plugin_keys(ComponentSpec& spec, const ConfigSchema& schema,
                                         const ConfigSchema& core) {
  if (spec.replaced_plugin.empty()) return;
  const Manifest* before = catalog_.find(spec.replaced_plugin);
  if (before == nullptr) return;  // unknown: its keys are reported as unknown, all of them
  std::vector<std::string> dropped;
  for (const auto& [key, value] : *spec.table) {
    const std::string name(key.str());
    if (core.find(name) == nullptr && schema.find(name) == nullptr &&
        before->config.find(name) != nullptr) {
      dropped.push_back(name);
    }
  }
  if (dropped.empty()) return;
  drop_keys(spec, dropped);
  std::string names;
  for (const std::string& name : dropped) names += (names.empty() ? "" : ", ") + name;
  log_.info("run", spec.owner() + ": --set changed its plugin from " + spec.replaced_plugin +
                       " to " + spec.plugin + "; dropped the " + spec.replaced_plugin +
                       " keys that " + spec.plugin + " does not take: " + names);
}

Assembly::~Assembly() {
  // Judges may hold requests on backends and backends on the transport: end in that order.
  judges_.clear();
  suites_.clear();
  for (ModelSlot& m : models_) m.backend->cancel_all();
  http_->cancel_all();
  models_.clear();
  http_.reset();
}

void Assembly::load_suites() {
  for (SuiteSlot& slot : suites_) {
    if (!slot.items.empty()) continue;
    const std::string name = "suite '" + slot.spec->name + "' (plugin '" + slot.spec->plugin + "')";
    slot.items = guarded_call(name, "load()", [&] { return slot.suite->load(); });
    slot.categories = guarded_call(name, "categories()", [&] { return slot.suite->categories(); });
    slot.domain = guarded_call(name, "domain()", [&] { return slot.suite->domain(); });
    if (slot.items.empty()) {
      throw located_error(ErrorKind::data, slot.spec->where,
                          "suite '" + slot.spec->name + "' has no items");
    }
  }
}

void Assembly::release_items() {
  for (SuiteSlot& s : suites_) {
    std::vector<PromptItem>().swap(s.items);
    std::vector<std::size_t>().swap(s.positions);
  }
}

void Assembly::use_stored_items(const RunData& data) {
  for (SuiteSlot& slot : suites_) {
    slot.items.clear();
    for (const ItemRow& row : data.items) {
      if (row.suite == slot.spec->name) {
        slot.items.push_back({row.item_id, row.category, row.prompt, row.reference, {}});
      }
    }
    for (const SuiteInfo& info : data.info.suites) {
      if (info.name == slot.spec->name) {
        slot.categories = info.categories;
        slot.domain = info.domain;
      }
    }
  }
}

Backend& Assembly::model(std::string_view name, const SourceLocation& where) {
  for (std::size_t i = 0; i < models_.size(); ++i) {
    ModelSlot& m = models_[i];
    if (m.spec->name != name) continue;
    if (m.backend) return *m.backend;
    if (i < pending_models_.size() && pending_models_[i].making) {
      throw located_error(ErrorKind::config, where,
                          "the model '" + std::string(name) +
                              "' is named here while it is being made: a cycle (" +
                              cycle_through(m.spec->owner()) + ")");
    }
    if (i < pending_models_.size()) {
      make_model(i);
      return *m.backend;
    }
  }
  std::string known;
  for (const ModelSlot& m : models_) known += (known.empty() ? "" : ", ") + m.spec->name;
  throw located_error(ErrorKind::config, where,
                      "no model named '" + std::string(name) +
                          "' in this run; its models: " + (known.empty() ? "none" : known) +
                          " (an inner or judge model is a [models.NAME] table, e.g. with "
                          "under_test = false)");
}

Judge& Assembly::judge(std::string_view name, const SourceLocation& where) {
  for (std::size_t i = 0; i < judges_.size(); ++i) {
    JudgeSlot& j = judges_[i];
    if (j.spec->name != name) continue;
    if (j.judge) return *j.judge;
    if (i < pending_judges_.size() && pending_judges_[i].making) {
      throw located_error(ErrorKind::config, where,
                          "the judge '" + std::string(name) +
                              "' is named here while it is being made: a cycle (" +
                              cycle_through(j.spec->owner()) + ")");
    }
    if (i < pending_judges_.size()) {
      make_judge(i);
      return *j.judge;
    }
  }
  std::string known;
  for (const ComponentSpec& s : run_.judges) known += (known.empty() ? "" : ", ") + s.name;
  throw located_error(ErrorKind::config, where,
                      "no judge named '" + std::string(name) + "' in this run; its judges: " +
                          (known.empty() ? std::string("none") : known));
}

std::string Assembly::primary_judge() const {
  if (!run_.run.primary_judge.empty()) return run_.run.primary_judge;
  for (const JudgeSlot& j : judges_) {
    if (j.traits.harm_score) return j.spec->name;
  }
  return {};
}

std::string Assembly::refusal_judge() const {
  if (!run_.run.refusal_judge.empty()) return run_.run.refusal_judge;
  for (const JudgeSlot& j : judges_) {
    if (j.traits.refusal) return j.spec->name;
  }
  return {};
}

}  // namespace medsafe
