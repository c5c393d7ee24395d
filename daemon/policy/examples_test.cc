// The policy files shipped with the project parse, and parse_policy_file reads files safely.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "policy/policy.h"
#include "policy/test_util.h"

namespace agentos::policy {
namespace {

namespace fs = std::filesystem;
using test::errors_text;

// Tests run from the project root (ctest's WORKING_DIRECTORY).
std::vector<std::string> toml_files(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file() && e.path().extension() == ".toml") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ShippedPolicies, EveryFileParses) {
  ASSERT_TRUE(fs::is_directory("policy/examples"))
      << "run from the project root; cwd is " << fs::current_path();
  std::vector<std::string> files = toml_files("policy");
  std::vector<std::string> examples = toml_files("policy/examples");
  EXPECT_GE(examples.size(), 3u);
  files.insert(files.end(), examples.begin(), examples.end());
  for (const std::string& f : files) {
    ParseResult r = parse_policy_file(f);
    EXPECT_TRUE(r.policy) << f << ":\n" << errors_text(r);
    if (r.policy) {
      EXPECT_EQ(r.policy->source_path, f);
      EXPECT_FALSE(r.policy->source_text.empty());
    }
  }
}

TEST(ShippedPolicies, ExampleNamesAreDistinct) {
  std::vector<Policy> policies;
  for (const std::string& f : toml_files("policy/examples")) {
    if (ParseResult r = parse_policy_file(f); r.policy) policies.push_back(*r.policy);
  }
  for (const Diagnostic& d : find_duplicate_names(policies)) ADD_FAILURE() << d.str();
}

TEST(ShippedPolicies, ResearcherExampleIsTheDocumentedOne) {
  ParseResult r = parse_policy_file("policy/examples/researcher.toml");
  ASSERT_TRUE(r.policy) << errors_text(r);
  EXPECT_EQ(r.policy->name, "researcher");
  EXPECT_EQ(r.policy->workdir, "/opt/agents/researcher");
  EXPECT_EQ(r.policy->connect.size(), 3u);
  EXPECT_EQ(r.policy->limits.memory_bytes, 512ull << 20);
}

class PolicyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/policy_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::string dir_;
};

TEST_F(PolicyFile, ReadsNameAndTextFromTheFile) {
  std::string text = "[agent]\ncommand = [\"/usr/bin/true\"]\n";
  std::string path = write("fetcher.toml", text);
  ParseResult r = parse_policy_file(path);
  ASSERT_TRUE(r.policy) << errors_text(r);
  EXPECT_EQ(r.policy->name, "fetcher");
  EXPECT_EQ(r.policy->source_path, path);
  EXPECT_EQ(r.policy->source_text, text);
}

// A reload reuses the parse of a file whose text did not change, and reparses one that did.
TEST_F(PolicyFile, ReusesThePreviousParseOnlyForTheSameText) {
  std::string path = write("same.toml", "[agent]\ncommand = [\"/usr/bin/true\"]\n");
  ParseResult first = parse_policy_file(path);
  ASSERT_TRUE(first.policy) << errors_text(first);
  Policy marked = *first.policy;
  marked.workdir = "/marked";  // no parse of this text yields it: tells reuse from a reparse
  ParseResult again = parse_policy_file(path, &marked);
  ASSERT_TRUE(again.policy);
  EXPECT_EQ(again.policy->workdir, "/marked");

  write("same.toml", "[agent]\ncommand = [\"/usr/bin/false\"]\n");
  ParseResult changed = parse_policy_file(path, &marked);
  ASSERT_TRUE(changed.policy) << errors_text(changed);
  EXPECT_NE(changed.policy->workdir, "/marked");
  EXPECT_EQ(changed.policy->command[0], "/usr/bin/false");

  marked.source_path = dir_ + "/other.toml";  // same text, another file: parsed afresh
  write("same.toml", first.policy->source_text);
  EXPECT_NE(parse_policy_file(path, &marked).policy->workdir, "/marked");
}

TEST_F(PolicyFile, ErrorsNameTheFile) {
  std::string path = write("bad.toml", "[agent]\ncommand = [\"rel\"]\n");
  ParseResult r = parse_policy_file(path);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].str().rfind(path + ":2:12: agent.command[0]", 0), 0u) << r.errors[0].str();
}

TEST_F(PolicyFile, MissingFileIsALineZeroError) {
  ParseResult r = parse_policy_file(dir_ + "/absent.toml");
  ASSERT_FALSE(r.policy);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].where.line, 0u);
  EXPECT_EQ(r.errors[0].str(), dir_ + "/absent.toml: cannot open: No such file or directory");
}

TEST_F(PolicyFile, DirectoryAndFifoAreRefusedWithoutBlocking) {
  ParseResult d = parse_policy_file(dir_);
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].message, "not a regular file");
  std::string fifo = dir_ + "/pipe.toml";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  ParseResult f = parse_policy_file(fifo);
  ASSERT_EQ(f.errors.size(), 1u);
  EXPECT_EQ(f.errors[0].message, "not a regular file");
}

TEST_F(PolicyFile, LargerThanOneMebibyteIsRefused) {
  std::string header = "[agent]\ncommand = [\"/usr/bin/true\"]\n#";
  std::string exact = header + std::string((1 << 20) - header.size() - 1, 'x') + "\n";
  ASSERT_EQ(exact.size(), 1u << 20);
  EXPECT_TRUE(parse_policy_file(write("exact.toml", exact)).policy);
  ParseResult big = parse_policy_file(write("big.toml", exact + "\n"));
  ASSERT_EQ(big.errors.size(), 1u);
  EXPECT_EQ(big.errors[0].message, "policy is larger than 1 MiB");
}

}  // namespace
}  // namespace agentos::policy
