// The download path, against a local HTTP server on 127.0.0.1 serving a temporary folder.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "downloader.hpp"
#include "medsafetybench_suite.hpp"
#include "sha256.hpp"
#include "suite_test_support.hpp"
#include "support/scripted_server.hpp"
#include "support/temp_dir.hpp"
#include "tabular/text_file.hpp"

namespace medsafe::medsafetybench {
namespace {

constexpr const char* kFile1 = "test/gpt4/med_safety_demonstrations_category_1.csv";
constexpr const char* kFile2 = "test/gpt4/med_safety_demonstrations_category_2.csv";
constexpr const char* kContent1 =
    ",harmful_medical_request,safe_response\n0,\"Chart, falsified\",\"I'm sorry, no.\"\n";
constexpr const char* kContent2 = ",harmful_medical_request,safe_response\n0,a,b\n1,\"c\nd\",e\n";

int count_files(const std::filesystem::path& folder) {
  int files = 0;
  if (!std::filesystem::exists(folder)) return 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
    files += entry.is_regular_file() ? 1 : 0;
  }
  return files;
}

class Download : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("NO_PROXY", "127.0.0.1", 1);  // never send the local test through a proxy
    served_.write(kFile1, kContent1);
    served_.write(kFile2, kContent2);
    server_ = std::make_unique<test::ScriptedServer>();
    server_->set_handler(test::serve_files(served_.path()));
  }

  std::string config(const std::string& digest1, const std::string& digest2) const {
    return "download = true\nurl = '" + server_->base_url() + "/'\nsources = ['gpt4']\n" +
           "categories = ['1', '2']\nsha256 = { '" + kFile1 + "' = '" + digest1 + "', '" + kFile2 +
           "' = '" + digest2 + "' }\n";
  }

  testing::TempDir served_;
  testing::TempDir cache_;
  std::unique_ptr<test::ScriptedServer> server_;
};

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_TRUE(is_sha256_hex(sha256_hex("x")));
  EXPECT_TRUE(is_sha256_hex(std::string(64, 'F')));
  EXPECT_FALSE(is_sha256_hex(std::string(63, 'a')));
  EXPECT_FALSE(is_sha256_hex(std::string(64, 'g')));
}

TEST_F(Download, FetchesVerifiesAndCaches) {
  const std::string toml = config(sha256_hex(kContent1), sha256_hex(kContent2));
  MedSafetyBenchSuite suite = make_suite(toml, cache_.path());
  const auto items = suite.load();
  ASSERT_EQ(items.size(), 3U);
  EXPECT_EQ(items[0].id, "test/gpt4/1/0");
  EXPECT_EQ(items[0].prompt, "Chart, falsified");
  EXPECT_EQ(items[2].id, "test/gpt4/2/1");
  EXPECT_EQ(items[2].prompt, "c\nd");
  EXPECT_EQ(server_->requests().size(), 2U);
  const auto folder = suite.download_folder();
  EXPECT_TRUE(folder.string().starts_with((cache_.path() / "medsafetybench").string()));
  EXPECT_EQ(count_files(folder), 2);  // the two files, no temporary leftovers
  EXPECT_EQ(tabular::read_text_file(folder / kFile1), kContent1);

  // Later runs read the cache: no request, even with the server gone.
  server_.reset();
  EXPECT_EQ(make_suite(toml, cache_.path()).load().size(), 3U);
}

TEST_F(Download, DigestMismatchIsADataErrorAndLeavesNothing) {
  const std::string wrong(64, 'a');
  const std::string message = error_of(
      [&] { (void)make_suite(config(wrong, sha256_hex(kContent2)), cache_.path()).load(); },
      ErrorKind::data);
  EXPECT_EQ(message, std::string(kFile1) + ": error: SHA-256 mismatch: expected " + wrong +
                         ", got " + sha256_hex(kContent1) + " (downloaded from " +
                         server_->base_url() + "/" + kFile1 + ")");
  EXPECT_EQ(count_files(cache_.path()), 0);
}

TEST_F(Download, CachedFileThatNoLongerMatchesIsFetchedAgain) {
  const std::string good = config(sha256_hex(kContent1), sha256_hex(kContent2));
  MedSafetyBenchSuite suite = make_suite(good, cache_.path());
  (void)suite.load();
  // Corrupt the cached copy: the next load notices and downloads it again.
  {
    std::ofstream corrupt(suite.download_folder() / kFile1, std::ios::trunc);
    corrupt << "tampered";
  }
  EXPECT_EQ(make_suite(good, cache_.path()).load().size(), 3U);
  EXPECT_EQ(server_->requests().size(), 3U);
  EXPECT_EQ(tabular::read_text_file(suite.download_folder() / kFile1), kContent1);
}

TEST_F(Download, HttpErrorNamesTheUrl) {
  const std::string toml = "download = true\nurl = '" + server_->base_url() +
                           "'\nsources = ['gpt4']\ncategories = ['3']\nsha256 = {}\n";
  const std::string message =
      error_of([&] { (void)make_suite(toml, cache_.path()).load(); }, ErrorKind::io);
  expect_contains(message, "cannot download " + server_->base_url() +
                               "/test/gpt4/med_safety_demonstrations_category_3.csv: ");
  expect_contains(message, "404");
  EXPECT_EQ(count_files(cache_.path()), 0);
}

TEST_F(Download, WithoutADigestTheFileIsStillUsed) {
  const std::string toml = "download = true\nurl = '" + server_->base_url() +
                           "'\nsources = ['gpt4']\ncategories = ['2']\nsha256 = {}\n";
  EXPECT_EQ(make_suite(toml, cache_.path()).load().size(), 2U);
}

TEST(DownloadFile, RefusedConnectionIsAnIoError) {
  testing::TempDir served;
  std::string url;
  {
    test::ScriptedServer server;
    server.set_handler(test::serve_files(served.path()));
    url = server.base_url() + "/x.csv";
  }  // closed: the port now refuses connections
  testing::TempDir dest;
  const std::string message = error_of(
      [&] {
        download_file({url, dest.path() / "x.csv", "", "x.csv"});
      },
      ErrorKind::io);
  expect_contains(message, "cannot download " + url + ": ");
  EXPECT_EQ(count_files(dest.path()), 0);
}

TEST(DownloadRealData, DefaultDigestsMatchTheRealFiles) {
  MEDSAFE_REQUIRE_SHARED_DATA(data);
  ::setenv("NO_PROXY", "127.0.0.1", 1);
  // Serve the shared copy as if it were the pinned upstream commit: the manifest's default
  // sha256 table must accept every file.
  test::ScriptedServer server;
  server.set_handler(test::serve_files(data / "medsafetybench"));
  testing::TempDir cache;
  for (const char* split : {"test", "train"}) {
    MedSafetyBenchSuite suite = make_suite(
        "download = true\nsplit = '" + std::string(split) + "'\nurl = '" + server.base_url() + "'",
        cache.path());
    EXPECT_EQ(suite.load().size(), 900U) << split;
  }
  EXPECT_EQ(server.requests().size(), 36U);
}

}  // namespace
}  // namespace medsafe::medsafetybench
