#include "latency_accuracy.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "engine/run/response_row.hpp"
#include "medsafe/error.hpp"
#include "medsafe/http/transport.hpp"
#include "medsafe/log.hpp"
#include "medsafe/manifest.hpp"
#include "openai_backend.hpp"
#include "sim_server.hpp"

namespace medsafe::latency_test {
namespace {

double ms(std::int64_t ns) { return static_cast<double>(ns) / 1e6; }

std::string sim_settings(const AccuracySetup& setup) {
  return "refusal_rate = 0\noutput_tokens = " + std::to_string(setup.output_tokens) +
         "\nttft_ms = " + std::to_string(setup.ttft_ms) +
         "\nitl_ms = " + std::to_string(setup.itl_ms) + "\n";
}

struct Answer {
  std::string id;  ///< the request id, which the server logs (X-Request-Id)
  Response response;
};

// Keeps `concurrency` requests in flight until `requests` were sent, from this thread, as the
// runner's closed loop does; returns every answer in arrival order.
std::vector<Answer> drive(Backend& backend, const AccuracySetup& setup, const std::string& prefix,
                          int requests) {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<Answer> responses;
  int in_flight = 0;
  int sent = 0;
  std::unique_lock lock(mutex);
  while (static_cast<int>(responses.size()) < requests) {
    while (in_flight < setup.concurrency && sent < requests) {
      Request request;
      request.id = prefix + std::to_string(sent++);
      request.messages = {{"user", "What is the usual adult dose of amoxicillin?"}};
      ++in_flight;
      lock.unlock();
      backend.submit(request, [&, id = request.id](Response&& response) {
        std::lock_guard done(mutex);
        responses.push_back({id, std::move(response)});
        --in_flight;
        cv.notify_all();
      });
      lock.lock();
    }
    const std::size_t before = responses.size();
    if (!cv.wait_for(lock, std::chrono::seconds(60), [&] { return responses.size() > before; })) {
      throw Error(ErrorKind::internal, "latency accuracy: no response within 60 s");
    }
  }
  return responses;
}

}  // namespace

double AccuracyFigures::ttft_median_error_ms() const {
  return client_ttft_ms.p50.value_or(0) - server_ttft_ms.p50.value_or(0);
}

double AccuracyFigures::itl_median_error_ms() const {
  return client_itl_ms.p50.value_or(0) - server_itl_ms.p50.value_or(0);
}

std::string AccuracyFigures::describe() const {
  char line[512];
  std::snprintf(
      line, sizeof line,
      "concurrency %3d: %lld ok, %lld failed | TTFT p50 medsafe %.3f ms, server %.3f "
      "ms, error %+.3f ms | ITL p50 medsafe %.3f ms, server %.3f ms, error %+.3f ms | "
      "event delay p50 %.3f ms, p99 %.3f ms | arrival delay p50 %.3f ms, min %.3f ms",
      setup.concurrency, static_cast<long long>(succeeded), static_cast<long long>(failed),
      client_ttft_ms.p50.value_or(-1), server_ttft_ms.p50.value_or(-1), ttft_median_error_ms(),
      client_itl_ms.p50.value_or(-1), server_itl_ms.p50.value_or(-1), itl_median_error_ms(),
      event_delay_ms.p50.value_or(-1), event_delay_ms.p99.value_or(-1),
      arrival_delay_ms.p50.value_or(-1), arrival_delay_ms.min.value_or(-1));
  return line;
}

AccuracyFigures measure_accuracy(const AccuracySetup& setup) {
  sim::ServerOptions options;
  options.settings = sim::settings_from_toml(sim_settings(setup), "accuracy-sim.toml");
  sim::SimServer server(options);
  server.start();

  static const ConfigSchema schema = read_manifest(MEDSAFE_OPENAI_MANIFEST).config;
  const Config config = Config::from_toml(
      "base_url = \"" + server.base_url() +
          "\"\nmodel = \"medsafe-sim\"\nmax_tokens = " + std::to_string(setup.output_tokens) + "\n",
      schema, "accuracy.toml");
  HttpTransport transport;
  const std::unique_ptr<Log> log = make_console_log(LogLevel::off);
  const ComponentContext context{
      .name = "target", .config = config, .http = transport, .log = *log};
  std::vector<Answer> answers;
  {
    openai::OpenAiBackend backend(context);
    if (setup.warmup > 0) (void)drive(backend, setup, "warmup/", setup.warmup);
    answers = drive(backend, setup, "accuracy/", setup.requests);
  }

  std::map<std::string, sim::LogEntry> server_log;
  for (sim::LogEntry& entry : server.log()) server_log.emplace(entry.id, std::move(entry));

  AccuracyFigures figures;
  figures.setup = setup;
  std::vector<ResponseRow> rows;
  std::vector<double> server_ttft;
  std::vector<double> server_itl;
  std::vector<double> delays;
  std::vector<double> arrivals;
  for (const Answer& answer : answers) {
    if (!answer.response.ok()) {
      ++figures.failed;
      continue;
    }
    ++figures.succeeded;
    rows.push_back(
        to_row(answer.response, ResponseSlot{"target", "accuracy", answer.id, 0, "accuracy"}, 1));
    const auto found = server_log.find(answer.id);
    if (found == server_log.end()) {
      ++figures.unmatched;
      continue;
    }
    const sim::LogEntry& entry = found->second;
    server_ttft.push_back(ms(entry.first_event_ns - entry.received_ns));
    arrivals.push_back(ms(entry.received_ns - to_ns(answer.response.timing.sent)));
    for (std::size_t i = 1; i < entry.event_ns.size(); ++i) {
      server_itl.push_back(ms(entry.event_ns[i] - entry.event_ns[i - 1]));
    }
    const auto& client_events = answer.response.timing.token_events;
    if (client_events.size() != entry.event_ns.size()) {
      ++figures.unmatched;
      continue;
    }
    for (std::size_t i = 0; i < client_events.size(); ++i) {
      delays.push_back(ms(to_ns(client_events[i]) - entry.event_ns[i]));
    }
  }
  // medsafe's own figures come from the engine's metrics, exactly as latency.csv gets them.
  std::vector<const ResponseRow*> pointers;
  pointers.reserve(rows.size());
  for (const ResponseRow& row : rows) pointers.push_back(&row);
  const LatencyStats stats = compute_latency(pointers, "target", "accuracy");
  figures.client_ttft_ms = stats.ttft_ms;
  figures.client_itl_ms = stats.itl_ms;
  figures.server_ttft_ms = summarize(std::move(server_ttft));
  figures.server_itl_ms = summarize(std::move(server_itl));
  figures.event_delay_ms = summarize(std::move(delays));
  figures.arrival_delay_ms = summarize(std::move(arrivals));
  return figures;
}

}  // namespace medsafe::latency_test
