#include "engine/plugin/assembly.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <iterator>
#include <span>

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

// What a model, a suite and a judge differ in: the kind its plugin provides (which names it in
// messages: "making the backend"), its core keys, its slots, the factory that makes it, where
// it is kept, and the noun a cycle's message calls it by.
template <>
struct Assembly::Kind<ModelSlot> {
  static constexpr ComponentKind kind = ComponentKind::backend;
  static constexpr std::string_view noun = "model";
  static constexpr auto slots = &Assembly::models_;
  static constexpr auto pending = &Assembly::pending_models_;
  static constexpr auto factory = &ComponentFactory::backend;
  static constexpr auto made = &ModelSlot::backend;
  static const ConfigSchema& core() { return model_core_schema(); }
  static std::unique_ptr<Backend> guard(ModelSlot& slot, std::unique_ptr<Backend> backend,
                                        const std::string& name, const Log& log) {
    return std::make_unique<GuardedBackend>(name, std::move(backend), log, slot.max_response_bytes);
  }
};

template <>
struct Assembly::Kind<SuiteSlot> {
  static constexpr ComponentKind kind = ComponentKind::suite;
  static constexpr std::string_view noun = "suite";
  static constexpr auto slots = &Assembly::suites_;
  static constexpr auto pending = &Assembly::pending_suites_;
  static constexpr auto factory = &ComponentFactory::suite;
  static constexpr auto made = &SuiteSlot::suite;
  static const ConfigSchema& core() { return suite_core_schema(); }
  static std::unique_ptr<Suite> guard(SuiteSlot& /*slot*/, std::unique_ptr<Suite> suite,
                                      const std::string& /*name*/, const Log& /*log*/) {
    return suite;  // not wrapped: load_suites() guards its calls
  }
};

template <>
struct Assembly::Kind<JudgeSlot> {
  static constexpr ComponentKind kind = ComponentKind::judge;
  static constexpr std::string_view noun = "judge";
  static constexpr auto slots = &Assembly::judges_;
  static constexpr auto pending = &Assembly::pending_judges_;
  static constexpr auto factory = &ComponentFactory::judge;
  static constexpr auto made = &JudgeSlot::judge;
  static const ConfigSchema& core() { return judge_core_schema(); }
  static std::unique_ptr<Judge> guard(JudgeSlot& slot, std::unique_ptr<Judge> judge,
                                      const std::string& name, const Log& log) {
    slot.traits = guarded_call(name, "traits()", [&] { return judge->traits(); });
    return std::make_unique<GuardedJudge>(name, std::move(judge), log);
  }
};

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

  // Suites only: no backend is made (it may need a key from the environment), no judge.
  // Every configuration is checked first; then models and judges are made on demand: a wrapper
  // backend (guard, system-prompt, few-shot) names its inner model, a guard its judge, a judge
  // its judge model or other judges, and each is made when first named (a depth-first
  // topological order over the run's models and judges), the rest in run-file order.
  const bool all = parts == Parts::all;
  for (ModelSpec& spec : run_.models) {
    if (!all) break;
    ModelSlot& slot = add<ModelSlot>(spec);
    slot.under_test = spec.under_test;
    slot.target = model_target(slot.config, *pending_models_.back().factory->manifest, log_);
    slot.flow = FlowSettings::from_config(spec.core);
    slot.max_response_bytes = max_response_bytes(spec.core);
  }
  for (SuiteSpec& spec : run_.suites) {
    add<SuiteSlot>(spec);
    make<SuiteSlot>(suites_.size() - 1);
  }
  for (JudgeSpec& spec : run_.judges) {
    if (!all) break;
    JudgeSlot& slot = add<JudgeSlot>(spec);
    slot.concurrency = spec.concurrency;
    slot.suites = spec.suites;
  }
  for (std::size_t i = 0; i < models_.size(); ++i) make<ModelSlot>(i);
  for (std::size_t i = 0; i < judges_.size(); ++i) make<JudgeSlot>(i);
  pending_models_.clear();
  pending_suites_.clear();
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

template <typename Slot, typename Spec>
Slot& Assembly::add(Spec& spec) {
  const ComponentFactory& factory =
      catalog_.load(spec.plugin, Kind<Slot>::kind, spec.core.where("plugin"));
  const ConfigSchema& core = Kind<Slot>::core();
  drop_replaced_plugin_keys(spec, factory.manifest->config, core);
  Config config =
      Config::validate(spec.owner(), spec.table, factory.manifest->config, run_.dir, &core);
  // Before the component sees them: an error it throws that quotes one is redacted too.
  add_environment_secrets(log_, config);
  Slot& slot = (this->*Kind<Slot>::slots).emplace_back();
  slot.spec = &spec;
  slot.config = std::move(config);
  (this->*Kind<Slot>::pending).push_back({&factory});
  return slot;
}

template <typename Slot>
void Assembly::make(std::size_t index) {
  using K = Kind<Slot>;
  Slot& slot = (this->*K::slots)[index];
  Pending& pending = (this->*K::pending)[index];
  if (slot.*K::made) return;
  const ComponentSpec& spec = *slot.spec;
  pending.making = true;
  making_.push_back(spec.owner());
  const std::string name = who(spec, *pending.factory->manifest);
  ComponentContext context{.name = spec.name,
                           .config = slot.config,
                           .http = *http_,
                           .log = log_,
                           .cache_dir = cache_dir_,
                           .seed = run_.run.seed};
  // Backends and judges get the run's models and judges: a wrapper backend uses its inner model
  // (a guard its judge, a judge its judge model), which this directory makes first when need be.
  if constexpr (K::kind != ComponentKind::suite) {
    context.models = this;
    context.judges = this;
  }
  const std::string what(to_string(K::kind));
  auto component = guarded_call(name, "making the " + what,
                                [&] { return (pending.factory->*K::factory)(context); });
  if (!component) throw Error(ErrorKind::plugin, name + ": made no " + what);
  slot.*K::made = K::guard(slot, std::move(component), name, log_);
  making_.pop_back();
  pending.making = false;
}

template <typename Slot>
Slot* Assembly::made(std::string_view name, const SourceLocation& where) {
  std::deque<Slot>& slots = this->*Kind<Slot>::slots;
  const std::vector<Pending>& pending = this->*Kind<Slot>::pending;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    Slot& slot = slots[i];
    if (slot.spec->name != name) continue;
    if (slot.*Kind<Slot>::made) return &slot;
    if (i < pending.size() && pending[i].making) {
      throw located_error(ErrorKind::config, where,
                          "the " + std::string(Kind<Slot>::noun) + " '" + std::string(name) +
                              "' is named here while it is being made: a cycle (" +
                              cycle_through(slot.spec->owner()) + ")");
    }
    if (i < pending.size()) {
      make<Slot>(i);
      return &slot;
    }
  }
  return nullptr;
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
    if (slot.loaded) continue;
    slot.items.clear();
    slot.positions.clear();
    stream_suite(slot, [&slot](std::span<PromptItem> batch) {
      slot.items.insert(slot.items.end(), std::make_move_iterator(batch.begin()),
                        std::make_move_iterator(batch.end()));
    });
    slot.item_count = slot.items.size();
    slot.loaded = true;
  }
}

void Assembly::stream_suites(const std::function<void(SuiteSlot&, std::span<PromptItem>)>& sink) {
  for (SuiteSlot& slot : suites_) {
    if (slot.loaded) continue;
    stream_suite(slot, [&slot, &sink](std::span<PromptItem> batch) { sink(slot, batch); });
  }
}

void Assembly::stream_suite(SuiteSlot& slot,
                            const std::function<void(std::span<PromptItem>)>& sink) {
  const std::string name = "suite '" + slot.spec->name + "' (plugin '" + slot.spec->plugin + "')";
  // Through stream(): a suite that makes its items as it goes hands them over batch by batch,
  // moved, so they are never held twice.
  std::size_t streamed = 0;
  guarded_call(name, "stream()", [&] {
    slot.suite->stream(
        [&sink, &streamed](std::span<PromptItem> batch) {
          streamed += batch.size();
          sink(batch);
        },
        kDefaultItemBatch);
  });
  slot.categories = guarded_call(name, "categories()", [&] { return slot.suite->categories(); });
  slot.domain = guarded_call(name, "domain()", [&] { return slot.suite->domain(); });
  if (streamed == 0) {
    throw located_error(ErrorKind::data, slot.spec->where,
                        "suite '" + slot.spec->name + "' has no items");
  }
}

void Assembly::release_items() {
  for (SuiteSlot& s : suites_) {
    std::vector<PromptItem>().swap(s.items);
    std::vector<std::size_t>().swap(s.positions);
    s.loaded = false;
  }
}

void Assembly::use_stored_suites(std::span<const StoredSuite> suites) {
  for (SuiteSlot& slot : suites_) {
    slot.items.clear();
    slot.positions.clear();
    slot.item_count = 0;
    slot.loaded = true;
    for (const StoredSuite& info : suites) {
      if (info.name == slot.spec->name) {
        slot.categories = info.categories;
        slot.domain = info.domain;
      }
    }
  }
}

Backend& Assembly::model(std::string_view name, const SourceLocation& where) {
  if (ModelSlot* slot = made<ModelSlot>(name, where)) return *slot->backend;
  std::string known;
  for (const ModelSlot& m : models_) known += (known.empty() ? "" : ", ") + m.spec->name;
  throw located_error(ErrorKind::config, where,
                      "no model named '" + std::string(name) +
                          "' in this run; its models: " + (known.empty() ? "none" : known) +
                          " (an inner or judge model is a [models.NAME] table, e.g. with "
                          "under_test = false)");
}

Judge& Assembly::judge(std::string_view name, const SourceLocation& where) {
  if (JudgeSlot* slot = made<JudgeSlot>(name, where)) return *slot->judge;
  std::string known;
  for (const JudgeSpec& s : run_.judges) known += (known.empty() ? "" : ", ") + s.name;
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
