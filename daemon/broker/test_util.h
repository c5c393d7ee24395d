// Helpers shared by the broker's tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "policy/test_util.h"

namespace agentos::broker {

// A fresh directory for each test, removed after it.
class TestDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() / ("broker-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
};

// The [tools] of a policy made of `toml` and a minimal [agent].
inline policy::Tools tools_of(std::string_view toml) {
  auto r = policy::test::parse(policy::test::with_agent(toml));
  EXPECT_TRUE(r.policy) << policy::test::errors_text(r);
  return r.policy ? *r.policy->tools : policy::Tools{};
}

}  // namespace agentos::broker
