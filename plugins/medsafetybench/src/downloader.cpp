#include "downloader.hpp"

#include <curl/curl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>

#include "medsafe/error.hpp"
#include "medsafe/version.hpp"
#include "sha256.hpp"

namespace medsafe::medsafetybench {
namespace {

constexpr long kConnectTimeoutMs = 15'000;
constexpr long kTotalTimeoutMs = 600'000;
constexpr long kLowSpeedBytesPerSecond = 1;
constexpr long kLowSpeedSeconds = 60;
constexpr long kMaxRedirects = 5;

void ensure_curl_initialised() {
  // curl_global_init must run once before any handle exists; core may have run it too, which
  // libcurl counts.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EasyCleanup {
  void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
struct FileClose {
  void operator()(std::FILE* file) const noexcept { std::fclose(file); }
};

std::size_t write_to_file(char* data, std::size_t size, std::size_t count, void* user) noexcept {
  return std::fwrite(data, 1, size * count, static_cast<std::FILE*>(user));
}

// A name no other process or thread uses, in the destination's folder so the rename is atomic.
std::filesystem::path temporary_beside(const std::filesystem::path& dest) {
  static std::atomic<unsigned> counter{0};
  std::filesystem::path temp = dest;
  temp += ".part-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
  return temp;
}

void remove_quietly(const std::filesystem::path& file) noexcept {
  std::error_code ignored;
  std::filesystem::remove(file, ignored);
}

void transfer(const std::string& url, std::FILE* out) {
  ensure_curl_initialised();
  const std::unique_ptr<CURL, EasyCleanup> handle(curl_easy_init());
  if (!handle) throw Error(ErrorKind::io, "cannot download " + url + ": libcurl did not start");
  char error_text[CURL_ERROR_SIZE] = {};
  CURL* h = handle.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &write_to_file);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, kMaxRedirects);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, kTotalTimeoutMs);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, kLowSpeedBytesPerSecond);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, kLowSpeedSeconds);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "medsafe/" MEDSAFE_VERSION);
  const CURLcode code = curl_easy_perform(h);
  if (code != CURLE_OK) {
    const std::string why = error_text[0] != '\0' ? error_text : curl_easy_strerror(code);
    throw Error(ErrorKind::io, "cannot download " + url + ": " + why);
  }
}

}  // namespace

void download_file(const Download& download) {
  std::error_code ec;
  std::filesystem::create_directories(download.dest.parent_path(), ec);
  if (ec) {
    throw Error(ErrorKind::io, download.dest.parent_path().string() +
                                   ": error: cannot create the folder: " + ec.message());
  }
  const std::filesystem::path temp = temporary_beside(download.dest);
  try {
    {
      const std::unique_ptr<std::FILE, FileClose> out(std::fopen(temp.c_str(), "wb"));
      if (!out) {
        throw Error(ErrorKind::io,
                    temp.string() + ": error: cannot write the file: " + std::strerror(errno));
      }
      transfer(download.url, out.get());
      if (std::fflush(out.get()) != 0 || std::ferror(out.get()) != 0) {
        throw Error(ErrorKind::io, temp.string() + ": error: writing the download failed");
      }
    }
    if (!download.expected_sha256.empty()) {
      const std::string actual = sha256_file_hex(temp);
      if (actual != download.expected_sha256) {
        throw located_error(ErrorKind::data, SourceLocation{download.name, 0, 0},
                            "SHA-256 mismatch: expected " + download.expected_sha256 + ", got " +
                                actual + " (downloaded from " + download.url + ")");
      }
    }
    std::filesystem::rename(temp, download.dest, ec);
    if (ec) {
      throw Error(
          ErrorKind::io,
          download.dest.string() + ": error: cannot move the download into place: " + ec.message());
    }
  } catch (...) {
    remove_quietly(temp);
    throw;
  }
}

}  // namespace medsafe::medsafetybench
