// The one URL parser: parts as libcurl reads them, and what each caller must be told.
#include "common/url.h"

#include <gtest/gtest.h>

namespace agentos {
namespace {

TEST(Url, PartsAsWritten) {
  auto u = parse_url("HTTPS://Api.Example.com:8443/v1/../chat?x=1#top");
  ASSERT_TRUE(u) << u.error().str();
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "Api.Example.com");
  EXPECT_EQ(u->port, "8443");
  EXPECT_EQ(u->path, "/v1/../chat");  // a policy judges dot segments itself
  EXPECT_EQ(u->query, "x=1");
  EXPECT_EQ(u->fragment, "top");
  EXPECT_FALSE(u->user_info);
}

TEST(Url, DotSegmentsRemovedAsCurlSends) {
  auto u = parse_url("https://h/a/b/../c/./d", DotSegments::kRemoved);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->path, "/a/c/d");
}

TEST(Url, WhatCallersRefuse) {
  auto creds = parse_url("https://u:p@h/");
  ASSERT_TRUE(creds);
  EXPECT_TRUE(creds->user_info);
  auto zone = parse_url("http://[fe80::1%25eth0]/");
  ASSERT_TRUE(zone);
  EXPECT_TRUE(zone->zone_id);
  EXPECT_EQ(zone->host, "[fe80::1]");
  auto bare = parse_url("https://h");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->path, "/");
  EXPECT_FALSE(bare->port);
  EXPECT_TRUE(parse_url("imap://mail.example.com:993"));  // any scheme: callers choose
}

TEST(Url, NotUrls) {
  EXPECT_EQ(parse_url("https:///x").error().str(), "has no host");
  for (const char* bad : {"", "example.com/x", "https://h:99999/", "https://h/a b"})
    EXPECT_FALSE(parse_url(bad)) << bad;
  EXPECT_FALSE(parse_url(std::string_view("https://h/\0x", 12)));
}

}  // namespace
}  // namespace agentos
