// The live update's view of a changed policy: each kind of change lands in its own field, and a
// change only a new start can make is never mistaken for a replaceable one.
#include "policy/policy_diff.h"

#include <gtest/gtest.h>

#include "policy/test_util.h"

namespace agentos::policy {
namespace {

using test::parsed;

std::tuple<bool, bool, bool, bool> fields(const PolicyDiff& d) { return {d.files, d.sockets, d.tools, d.sandbox}; }

TEST(PolicyDiff, SameTextIsNoChange) {
  const char* text = "[filesystem]\nread = [\"/usr\"]\n[network]\nnamespace = \"host\"\nconnect = [\"tcp://127.0.0.1:80\"]\n"
                     "[tools]\nallow = [\"kv\"]\n";
  EXPECT_EQ(fields(diff(parsed(text), parsed(text))), std::tuple(false, false, false, false));
}

TEST(PolicyDiff, FileGrantsAloneAreReplaceable) {
  EXPECT_EQ(fields(diff(parsed("[filesystem]\nread = [\"/usr\"]\n"), parsed("[filesystem]\nread = [\"/usr\", \"/srv\"]\n"))),
            std::tuple(true, false, false, false));
  EXPECT_EQ(fields(diff(parsed("[filesystem]\nwrite = [\"/srv\"]\n"), parsed("[filesystem]\nread = [\"/srv\"]\n"))),
            std::tuple(true, false, false, false));
}

TEST(PolicyDiff, SocketGrants) {
  auto net = [](const char* rule) {
    return parsed(std::string("[network]\nnamespace = \"host\"\nconnect = [\"") + rule + "\"]\n");
  };
  EXPECT_EQ(fields(diff(net("tcp://127.0.0.1:80"), net("tcp://127.0.0.1:81"))), std::tuple(false, true, false, false));
}

TEST(PolicyDiff, ToolsAndTheirRates) {
  Policy kv = parsed("[tools]\nallow = [\"kv\"]\n");
  EXPECT_TRUE(diff(parsed(""), kv).tools);  // from none to some
  EXPECT_TRUE(diff(kv, parsed("[tools]\nask = [\"kv\"]\n")).tools);
  EXPECT_TRUE(diff(kv, parsed("[tools]\nallow = [\"kv\"]\ncalls_per_minute = 5\n")).tools);
  EXPECT_FALSE(diff(kv, kv).sandbox);
}

TEST(PolicyDiff, WhatOnlyANewStartChanges) {
  Policy base = parsed("");
  for (const char* rest : {"[limits]\nmemory = \"64M\"\n", "[network]\nnamespace = \"host\"\n",
                           "[filesystem]\nview = \"host\"\n", "env = { FOO = \"1\" }\n"}) {
    PolicyDiff d = diff(base, parsed(rest));
    EXPECT_TRUE(d.sandbox) << rest;
    EXPECT_FALSE(d.tools) << rest;
  }
  Policy other = base;
  other.command = {"/bin/false"};
  EXPECT_TRUE(diff(base, other).sandbox);
}

}  // namespace
}  // namespace agentos::policy
