// medsafe-sim-server: the simulated OpenAI-compatible server as a program. Prints one
// "listening" line when ready and runs until SIGINT or SIGTERM.
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "medsafe/error.hpp"
#include "sim_server.hpp"

namespace {

// Each connection is a descriptor: lift the soft limit so that hundreds of clients fit.
void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// Written whole under a temporary name and renamed, so a reader never sees a partial port.
void write_port_file(const std::filesystem::path& file, std::uint16_t port) {
  const std::filesystem::path temporary = file.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << port << '\n';
    if (!out) {
      throw medsafe::Error(medsafe::ErrorKind::io,
                           "cannot write the port file " + temporary.string());
    }
  }
  std::filesystem::rename(temporary, file);
}

void print_error(const std::string& message) {
  if (message.find(": error: ") != std::string::npos) {
    std::cerr << message << '\n';
  } else {
    std::cerr << "medsafe-sim-server: error: " << message << '\n';
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"A simulated OpenAI-compatible chat server for medsafe's tests and benchmarks.",
               "medsafe-sim-server"};
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string config_file;
  std::string port_file;
  std::string model = "medsafe-sim";
  std::size_t log_limit = medsafe::sim::ServerOptions{}.log_limit;
  std::string api_key_env;
  app.add_option("--host", host, "Address to listen on (loopback unless you say otherwise)")
      ->capture_default_str();
  app.add_option("--port", port, "Port to listen on; 0 lets the kernel choose")
      ->capture_default_str();
  app.add_option("--config", config_file,
                 "TOML file with the sim backend's keys (see plugins/sim/plugin.toml)");
  app.add_option("--port-file", port_file, "Also write the chosen port to this file");
  app.add_option("--model", model, "Model name listed by /v1/models")->capture_default_str();
  app.add_option("--log-limit", log_limit, "Chat requests /sim/log keeps (then it counts drops)")
      ->capture_default_str();
  app.add_option("--api-key-env", api_key_env,
                 "Require the API key held by this environment variable (Authorization: Bearer "
                 "or x-api-key); others get 401. Never on the command line: ps shows it");
  CLI11_PARSE(app, argc, argv);

  // Blocked before the server thread starts, so that only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  raise_descriptor_limit();

  try {
    medsafe::sim::ServerOptions options;
    options.host = host;
    options.port = port;
    options.model_name = model;
    options.log_limit = log_limit;
    if (!api_key_env.empty()) {
      const char* key = std::getenv(api_key_env.c_str());
      if (key == nullptr || *key == '\0') {
        throw medsafe::Error(medsafe::ErrorKind::usage, "--api-key-env: the environment variable " +
                                                            api_key_env + " is not set or empty");
      }
      options.api_key = key;
    }
    if (!config_file.empty()) options.settings = medsafe::sim::load_settings_file(config_file);
    medsafe::sim::SimServer server(options);
    const std::uint16_t bound = server.start();
    if (!port_file.empty()) write_port_file(port_file, bound);
    std::cout << "medsafe-sim-server listening on " << server.base_url() << std::endl;
    int received = 0;
    sigwait(&stop_signals, &received);
    server.stop();
    return 0;
  } catch (const medsafe::Error& e) {
    print_error(e.what());
    return e.kind() == medsafe::ErrorKind::usage ? 2 : 1;
  } catch (const std::exception& e) {
    print_error(e.what());
    return 1;
  }
}
