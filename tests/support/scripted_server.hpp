#pragma once
/// A byte-exact HTTP script player for tests: a TCP server on 127.0.0.1 (ephemeral port) that
/// answers each request it receives with the next scripted response — bytes, pauses and an
/// optional close — so tests can make exact hostile cases (cut streams, stalls, split CRLF).
/// It is not a simulated model server (that is plugins/sim); it only replays what it is told.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace medsafe::test {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// One request as the server received it.
struct ReceivedRequest {
  std::string method;
  std::string target;  ///< "/v1/chat/completions"
  HeaderList headers;  ///< names lower-cased, values as sent
  std::string body;
  std::size_t connection = 0;  ///< 1-based, in the order connections were accepted

  /// The first header named `lower_name`, or null.
  [[nodiscard]] const std::string* header(std::string_view lower_name) const;
};

/// What the server does for one request, step by step, on the request's connection.
class Script {
 public:
  struct Step {
    enum class Kind : std::uint8_t { send, pause, close };
    Kind kind = Kind::send;
    std::string bytes;
    std::chrono::milliseconds delay{0};
  };

  /// Writes `bytes` as they are (one write call).
  Script& send(std::string bytes);
  /// Waits before the next step.
  Script& pause(std::chrono::milliseconds delay);
  /// Closes the connection; nothing after it runs. Without it the connection stays open for
  /// the next request (keep-alive).
  Script& close();

  [[nodiscard]] const std::vector<Step>& steps() const noexcept { return steps_; }

 private:
  std::vector<Step> steps_;
};

/// A complete response with a Content-Length; the connection stays open.
[[nodiscard]] Script http_response(int status, std::string body,
                                   HeaderList headers = {{"Content-Type", "application/json"}});

/// A 200 text/event-stream response in chunked transfer encoding: each piece is one HTTP
/// chunk, each sent after `gap`; then the terminating chunk. The connection stays open.
[[nodiscard]] Script sse_chunked(const std::vector<std::string>& pieces,
                                 std::chrono::milliseconds gap = std::chrono::milliseconds{0});

/// A 200 text/event-stream response without a length, whose body ends when the server closes
/// the connection after the last piece (a normal end for HTTP/1.1).
[[nodiscard]] Script sse_until_close(const std::vector<std::string>& pieces,
                                     std::chrono::milliseconds gap = std::chrono::milliseconds{0});

/// A handler that serves the files under `root`, as a download server does: a GET of
/// "/a/b.csv" answers 200 with root/a/b.csv's bytes; anything else (a missing file, another
/// method, a path with "..") 404. Each response closes its connection.
[[nodiscard]] std::function<Script(const ReceivedRequest&)> serve_files(std::filesystem::path root);

/// The server. Thread per connection; the destructor stops everything (pauses included)
/// and joins every thread.
class ScriptedServer {
 public:
  /// Makes the script for a request when no queued script is left.
  using Handler = std::function<Script(const ReceivedRequest&)>;

  ScriptedServer();
  ~ScriptedServer();
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// "http://127.0.0.1:<port>".
  [[nodiscard]] std::string base_url() const;

  /// The next request (in arrival order) gets this script.
  void enqueue(Script script);
  /// Answers requests once the queue is empty. Default: 500 "no script".
  void set_handler(Handler handler);

  /// Every request received so far, in arrival order.
  [[nodiscard]] std::vector<ReceivedRequest> requests() const;
  /// How many connections were accepted so far.
  [[nodiscard]] std::size_t connections() const;

 private:
  void accept_loop();
  void serve(int fd, std::size_t connection);
  bool play(int fd, const Script& script);
  bool sleep_for(std::chrono::milliseconds delay);
  Script next_script(const ReceivedRequest& request);

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::deque<Script> queue_;
  Handler handler_;
  std::vector<ReceivedRequest> requests_;
  std::size_t connections_ = 0;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

}  // namespace medsafe::test
