// The kv store on disk: a kv.set writes one record however large the store is (counted in bytes
// the process writes, /proc/self/io), a torn last record is dropped rather than fatal, compaction
// keeps every live key, and the store's size is bounded.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "broker/tools/kv_log.h"
#include "broker/tools/kv_store.h"
#include "broker/test_util.h"

namespace agentos::broker {
namespace {

// Bytes this process has passed to write(2) and its kin so far.
uint64_t bytes_written() {
  std::ifstream io("/proc/self/io");
  for (std::string k; io >> k;) {
    uint64_t v = 0;
    io >> v;
    if (k == "wchar:") return v;
  }
  ADD_FAILURE() << "no wchar in /proc/self/io";
  return 0;
}

class KvTest : public TestDir {
 protected:
  std::filesystem::path file() const { return dir / std::to_string(::getuid()) / "alpha.kv"; }
  ToolResult set(KvStore& kv, const std::string& key, const std::string& value) {
    return kv.call(a, "kv.set", {{"key", key}, {"value", value}});
  }
  uint64_t cost_of_set(KvStore& kv, const std::string& key) {
    uint64_t before = bytes_written();
    EXPECT_FALSE(set(kv, key, "small").error);
    return bytes_written() - before;
  }
  Caller a{"id-a", "alpha", ::getuid(), ::getuid()};
};

TEST_F(KvTest, ASetCostsOneRecordWhateverTheStoreHolds) {
  KvStore kv(dir);
  // The store exists, empty, and this process's one-time costs (a lazily opened stream, a
  // sanitizer's first report) are paid before anything is measured.
  (void)cost_of_set(kv, "warm");
  uint64_t empty = cost_of_set(kv, "key-a");
  for (int i = 0; i < 128; ++i) ASSERT_FALSE(set(kv, "big" + std::to_string(i), std::string(KvStore::kMaxValue, 'v')).error);
  ASSERT_GT(std::filesystem::file_size(file()), 8u << 20);
  uint64_t full = cost_of_set(kv, "key-b");
  EXPECT_LT(full, 64u) << "a kv.set in an 8 MiB store wrote " << full << " bytes";
  EXPECT_EQ(full, empty);  // the same record, beside 8 MiB as beside nothing
}

TEST_F(KvTest, OverwritesCostABoundedMultipleOfWhatTheyWrite) {
  KvStore kv(dir);
  for (int i = 10; i < 42; ++i) ASSERT_FALSE(set(kv, "live" + std::to_string(i), std::string(4096, 'l')).error);
  std::string value(1024, 'o');
  uint64_t before = bytes_written();
  const int n = 1000;
  for (int i = 0; i < n; ++i) ASSERT_FALSE(set(kv, "hot", value).error);
  uint64_t per_set = (bytes_written() - before) / n;
  // A record is 1038 bytes; compaction (rewriting the 128 KiB of live data each time garbage
  // outweighs it) adds at most as much again.
  EXPECT_LT(per_set, 3 * 1038u);
  uint64_t live = 32 * (11 + 6 + 4096) + 1038;
  EXPECT_LE(std::filesystem::file_size(file()), 2 * live + 12);
}

TEST_F(KvTest, ATornLastRecordIsDropped) {
  {
    KvStore kv(dir);
    ASSERT_FALSE(set(kv, "a", "1").error);
    ASSERT_FALSE(set(kv, "b", "2").error);
  }
  auto whole = std::filesystem::file_size(file());
  {
    KvStore kv(dir);
    ASSERT_FALSE(set(kv, "c", std::string(1000, '3')).error);
  }
  std::filesystem::resize_file(file(), whole + 500);  // the machine died halfway through c's record
  KvStore kv(dir);
  EXPECT_EQ(kv.call(a, "kv.get", {{"key", "b"}}).value["value"], "2");
  EXPECT_EQ(kv.call(a, "kv.get", {{"key", "c"}}).value["found"], false);
  EXPECT_EQ(std::filesystem::file_size(file()), whole);  // cut off, so that what follows is read
  ASSERT_FALSE(set(kv, "d", "4").error);
  KvStore again(dir);
  EXPECT_EQ(again.call(a, "kv.list", Json::object()).value["keys"], Json::array({"a", "b", "d"}));
}

TEST_F(KvTest, ARecordFailingItsChecksumEndsTheLog) {
  {
    KvStore kv(dir);
    ASSERT_FALSE(set(kv, "a", "1").error);
    ASSERT_FALSE(set(kv, "b", "2").error);
  }
  {
    std::fstream f(file(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-1, std::ios::end);
    f.put('X');  // b's value, no longer what its CRC says
  }
  KvStore kv(dir);
  EXPECT_EQ(kv.call(a, "kv.list", Json::object()).value["keys"], Json::array({"a"}));
}

TEST_F(KvTest, CompactionKeepsEveryLiveKey) {
  std::map<std::string, std::string> expect;
  {
    KvStore kv(dir);
    for (int round = 0; round < 4; ++round)
      for (int i = 0; i < 200; ++i) {
        std::string key = "k" + std::to_string(i), value = std::to_string(round) + std::string(200, 'x');
        if ((i + round) % 7 == 0) {
          (void)kv.call(a, "kv.delete", {{"key", key}});
          expect.erase(key);
        } else {
          ASSERT_FALSE(set(kv, key, value).error);
          expect[key] = value;
        }
      }
  }
  uint64_t live = 0;
  for (auto& [k, v] : expect) live += 11 + k.size() + v.size();
  // 800 records were written, over twice the live ones: only compaction keeps the file this small.
  EXPECT_LE(std::filesystem::file_size(file()), 2 * live + 12);
  EXPECT_FALSE(std::filesystem::exists(file().string() + ".compact"));
  KvStore kv(dir);
  Json keys = kv.call(a, "kv.list", Json::object()).value["keys"];
  ASSERT_EQ(keys.size(), expect.size());
  for (auto& [k, v] : expect) EXPECT_EQ(kv.call(a, "kv.get", {{"key", k}}).value["value"], v) << k;
}

TEST_F(KvTest, TheStoreIsBounded) {
  KvStore kv(dir);
  std::string value(KvStore::kMaxValue, 'v');
  size_t fits = KvStore::kMaxBytes / (value.size() + 8);
  for (size_t i = 0; i < fits; ++i) ASSERT_FALSE(set(kv, "key" + std::to_string(1000 + i), value).error) << i;
  ToolResult full = set(kv, "one-more", value);
  EXPECT_TRUE(full.error);
  EXPECT_NE(full.value["error"].get<std::string>().find("MiB of keys and values"), std::string::npos);
  EXPECT_FALSE(set(kv, "key1000", "smaller").error);  // replacing within the bound is fine
}

TEST_F(KvTest, AStoreFromAnOlderDaemonIsImported) {
  std::filesystem::create_directories(dir / std::to_string(::getuid()));
  std::ofstream(dir / std::to_string(::getuid()) / "alpha.json") << R"({"k":"v","n":"1"})";
  KvStore kv(dir);
  EXPECT_EQ(kv.call(a, "kv.get", {{"key", "k"}}).value["value"], "v");
  EXPECT_FALSE(std::filesystem::exists(dir / std::to_string(::getuid()) / "alpha.json"));
  KvStore again(dir);
  EXPECT_EQ(again.call(a, "kv.list", Json::object()).value["keys"], Json::array({"k", "n"}));
}

TEST_F(KvTest, NoLinkIsFollowed) {
  std::filesystem::create_directories(dir / std::to_string(::getuid()));
  std::filesystem::path target = dir / "elsewhere";
  std::ofstream(target) << "untouched";
  std::filesystem::create_symlink(target, file());
  KvStore kv(dir);
  EXPECT_TRUE(set(kv, "k", "v").error);
  std::stringstream text;
  text << std::ifstream(target).rdbuf();
  EXPECT_EQ(text.str(), "untouched");
  std::filesystem::remove(file());  // the control: without the link, the same call stores
  EXPECT_FALSE(set(kv, "k", "v").error);
}

}  // namespace
}  // namespace agentos::broker
