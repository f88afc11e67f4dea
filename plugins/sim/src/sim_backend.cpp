#include "sim_backend.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

namespace medsafe::sim {
namespace {

TimePoint after(TimePoint start, std::int64_t offset_ns) {
  return start + std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(offset_ns));
}

Usage usage_of(const Answer& answer, std::int64_t completion_tokens) {
  return Usage{answer.prompt_tokens, completion_tokens, TokenSource::usage};
}

std::int64_t ms_to_ns(double ms) { return static_cast<std::int64_t>(ms * 1e6); }

// Keeps the first `events` events of an answer; it ends when the last kept one happened.
void cut_after(Answer& answer, std::size_t events) {
  events = std::min(events, answer.event_offsets_ns.size());
  answer.text.resize(events == 0 ? 0 : answer.event_ends[events - 1]);
  answer.event_ends.resize(events);
  answer.event_offsets_ns.resize(events);
  answer.done_offset_ns = events == 0 ? 0 : answer.event_offsets_ns.back();
}

std::string status_error(int status) {
  switch (status) {
    case 429:
      return "HTTP 429: simulated rate limit (sim fault)";
    case 503:
      return "HTTP 503: simulated overload (sim fault)";
    default:
      return "HTTP " + std::to_string(status) + ": simulated server error (sim fault)";
  }
}

}  // namespace

SimBackend::SimBackend(const ComponentContext& context)
    : SimBackend(Settings::from_config(context.config)) {}

SimBackend::SimBackend(Settings settings)
    : model_(std::move(settings)),
      capacity_(static_cast<std::size_t>(model_.settings().capacity)),
      timer_([this] { run(); }) {}

SimBackend::~SimBackend() {
  std::vector<std::unique_ptr<Job>> pending;
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
    pending = take_all_locked();
  }
  wake_.notify_all();
  timer_.join();
  deliver_cancelled(std::move(pending));
}

void SimBackend::submit(Request request, ResponseCallback done) {
  auto job = std::make_unique<Job>();
  job->sent = Clock::now();
  job->intended = request.intended_send == TimePoint{} ? job->sent : request.intended_send;
  job->done = std::move(done);
  job->answer = model_.answer(Query{request.messages, request.item.category, request.seed,
                                    request.max_tokens, request.load.ignore_eos});
  inject_fault(request, *job);
  {
    std::unique_lock lock(mutex_);
    if (stopping_) {
      // Only reachable from a callback running during destruction: nothing will run it later.
      lock.unlock();
      std::vector<std::unique_ptr<Job>> one;
      one.push_back(std::move(job));
      deliver_cancelled(std::move(one));
      return;
    }
    if (!job->holds_slot || capacity_ == 0 || generating_ < capacity_) {
      const TimePoint sent = job->sent;
      start_locked(std::move(job), sent);
    } else {
      waiting_.push_back(std::move(job));
    }
  }
  wake_.notify_one();
}

void SimBackend::cancel_all() {
  std::vector<std::unique_ptr<Job>> pending;
  {
    const std::lock_guard lock(mutex_);
    pending = take_all_locked();
  }
  deliver_cancelled(std::move(pending));
}

void SimBackend::inject_fault(const Request& request, Job& job) {
  const FaultSettings& faults = model_.settings().faults;
  if (!faults.enabled()) return;
  // Requests without an id must not all share one draw.
  const std::string id =
      request.id.empty() ? "#" + std::to_string(anonymous_.fetch_add(1)) : request.id;
  const FaultKind fault = faults.draw(model_.settings().seed, id, attempts_.next(id));
  const auto after_events = static_cast<std::size_t>(faults.fault_after_events);
  Failure& failure = job.failure;
  switch (fault) {
    case FaultKind::status_429:
    case FaultKind::status_500:
    case FaultKind::status_503:
      failure.outcome = Outcome::http_error;
      failure.http_status = fault == FaultKind::status_429   ? 429
                            : fault == FaultKind::status_500 ? 500
                                                             : 503;
      failure.error = status_error(failure.http_status);
      if (fault == FaultKind::status_429) failure.retry_after_s = faults.retry_after_s;
      cut_after(job.answer, 0);
      job.holds_slot = false;
      break;
    case FaultKind::malformed:
      failure.outcome = Outcome::malformed;
      cut_after(job.answer, after_events);
      failure.error = "stream event " + std::to_string(job.answer.event_ends.size() + 1) +
                      ": a simulated event cut in half (sim fault)";
      break;
    case FaultKind::error_event:
      failure.outcome = Outcome::stream_error;
      failure.error = "the server sent an error event: simulated server error (sim fault)";
      cut_after(job.answer, after_events);
      break;
    case FaultKind::slow_drip:
      apply_drip(job.answer, ms_to_ns(faults.drip_ms));
      break;
    default:  // none, and the faults that need a connection
      break;
  }
}

void SimBackend::start_locked(std::unique_ptr<Job> job, TimePoint at) {
  job->start = std::max(at, job->sent);
  const TimePoint finish = after(job->start, job->answer.done_offset_ns);
  if (job->holds_slot) ++generating_;
  heap_.push_back(Due{finish, next_order_++, std::move(job)});
  std::push_heap(heap_.begin(), heap_.end(), Later{});
}

std::vector<std::unique_ptr<SimBackend::Job>> SimBackend::take_all_locked() {
  std::vector<std::unique_ptr<Job>> all;
  all.reserve(heap_.size() + waiting_.size());
  for (Due& due : heap_) all.push_back(std::move(due.job));
  for (auto& job : waiting_) all.push_back(std::move(job));
  heap_.clear();
  waiting_.clear();
  generating_ = 0;
  return all;
}

void SimBackend::run() {
  std::vector<std::unique_ptr<Job>> ready;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (heap_.empty()) {
      wake_.wait(lock);
      continue;
    }
    const TimePoint now = Clock::now();
    // A copy: wait_until reads its deadline after relocking, when submit may have moved the heap.
    const TimePoint next_due = heap_.front().at;
    if (next_due > now) {
      wake_.wait_until(lock, next_due);
      continue;
    }
    while (!heap_.empty() && heap_.front().at <= now) {
      std::pop_heap(heap_.begin(), heap_.end(), Later{});
      const TimePoint freed_at = heap_.back().at;
      const bool held_slot = heap_.back().job->holds_slot;
      ready.push_back(std::move(heap_.back().job));
      heap_.pop_back();
      if (!held_slot) continue;
      --generating_;
      // The freed slot goes to the oldest waiting request at the simulated time it freed.
      if (!waiting_.empty()) {
        std::unique_ptr<Job> next = std::move(waiting_.front());
        waiting_.pop_front();
        start_locked(std::move(next), freed_at);
      }
    }
    lock.unlock();
    for (auto& job : ready) job->done(finished_response(*job));
    ready.clear();
    lock.lock();
  }
}

Response SimBackend::finished_response(const Job& job) {
  const Answer& answer = job.answer;
  Response response;
  response.outcome = Outcome::ok;
  response.text = answer.text;
  response.finish_reason = std::string(answer.finish_reason);
  response.usage = usage_of(answer, answer.completion_tokens);
  Timing& timing = response.timing;
  timing.intended_send = job.intended;
  timing.sent = job.sent;
  timing.first_byte = job.start;
  timing.token_events.reserve(answer.event_offsets_ns.size());
  for (const std::int64_t offset : answer.event_offsets_ns) {
    timing.token_events.push_back(after(job.start, offset));
  }
  timing.finished = after(job.start, answer.done_offset_ns);
  const Failure& failure = job.failure;
  if (failure.outcome != Outcome::ok) {
    response.outcome = failure.outcome;
    response.http_status = failure.http_status;
    response.error = failure.error;
    response.retry_after_s = failure.retry_after_s;
    response.finish_reason.clear();
    response.usage = Usage{};
  }
  return response;
}

Response SimBackend::cancelled_response(const Job& job, TimePoint now) {
  const Answer& answer = job.answer;
  Response response;
  response.outcome = Outcome::cancelled;
  response.error = "cancelled before the simulated answer was complete";
  Timing& timing = response.timing;
  timing.intended_send = job.intended;
  timing.sent = job.sent;
  std::size_t arrived = 0;
  if (job.start != TimePoint{} && job.start <= now) {
    timing.first_byte = job.start;
    while (arrived < answer.event_offsets_ns.size() &&
           after(job.start, answer.event_offsets_ns[arrived]) <= now) {
      timing.token_events.push_back(after(job.start, answer.event_offsets_ns[arrived]));
      ++arrived;
    }
  }
  if (arrived > 0) response.text = std::string(answer.text, 0, answer.event_ends[arrived - 1]);
  timing.finished = now;
  return response;
}

void SimBackend::deliver_cancelled(std::vector<std::unique_ptr<Job>> jobs) {
  const TimePoint now = Clock::now();
  for (auto& job : jobs) job->done(cancelled_response(*job, now));
}

}  // namespace medsafe::sim
