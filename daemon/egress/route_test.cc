#include "egress/route.h"

#include <gtest/gtest.h>

#include "policy/egress_rule.h"

namespace agentos::egress {
namespace {

policy::Egress routes() {
  policy::Egress e;
  for (auto [path, upstream] : {std::pair{"/llm", "https://api.example.com/v1"}, {"/llm/admin", "https://admin.example.com"},
                                {"/root", "http://10.0.0.5:8080"}}) {
    policy::EgressRoute r;
    r.path = path;
    EXPECT_TRUE(policy::parse_upstream(upstream, r));
    e.routes.push_back(r);
  }
  return e;
}

std::string target(const char* request) {
  auto e = routes();
  const policy::EgressRoute* r = route_for(e, request);
  if (!r) return "no route";
  auto t = upstream_target(*r, request);
  return t ? *t : "refused: " + t.error().what;
}

TEST(Route, TheLongestRoutePathTakesTheRequest) {
  for (auto [request, upstream] : {std::pair{"/llm/chat?x=1", "/v1/chat?x=1"}, {"/llm", "/v1"}, {"/llm?q", "/v1?q"},
                                   {"/llm/", "/v1/"}, {"/llm/admin/users", "/users"}, {"/root", "/"},
                                   {"/root/a/b/", "/a/b/"}})
    EXPECT_EQ(target(request), upstream) << request;
  for (const char* elsewhere : {"/llmx/chat", "/LLM/chat", "/./llm/chat", "//llm/chat", "/llm%2fchat"})
    EXPECT_EQ(target(elsewhere), "no route") << elsewhere;
}

TEST(Route, OrdinaryPathsQueriesAndEncodingsPass) {
  EXPECT_EQ(target("/llm/models/gpt-4.1/file.tar.gz"), "/v1/models/gpt-4.1/file.tar.gz");
  EXPECT_EQ(target("/llm/a%20b/%41%7e"), "/v1/a%20b/%41%7e");
  EXPECT_EQ(target("/llm/...x/..../x.."), "/v1/...x/..../x..");  // only "." and ".." are dot segments
  EXPECT_EQ(target("/llm/a?next=../../other&b=%2e%2e%2f"), "/v1/a?next=../../other&b=%2e%2e%2f");  // the query is no path
}

TEST(Route, WhatCouldClimbOutOfTheBasePathIsRefused) {
  for (const char* escape :
       {"/llm/../../other", "/llm/..", "/llm/.", "/llm/a/./b", "/llm/a/../b", "/llm/a/..?x", "/llm/%2e%2e/other",
        "/llm/%2E%2e/other", "/llm/.%2e/other", "/llm/%2e./other", "/llm/%2e", "/llm/a%2fb", "/llm/a%2F..%2Fb",
        "/llm/a%5cb", "/llm/a%5C..", "/llm/a\\..\\b", "/llm/a\\b", "/llm//other", "/llm/a//b", "/llm/..;/other",
        "/llm/.;x/other", "/llm/a%2", "/llm/a%zz", "/llm/%", "/llm/admin/../x", "/root/../etc", "/root/%2e%2e"}) {
    std::string t = target(escape);
    EXPECT_TRUE(t.starts_with("refused: the path after /")) << escape << " became " << t;
  }
  EXPECT_EQ(target("/llm/../../other"),
            "refused: the path after /llm holds a dot segment (\"..\"), which could leave the route's upstream path");
  EXPECT_EQ(target("/llm/a%2Fb"), "refused: the path after /llm holds an encoded '/' (%2F), which could leave the route's upstream path");
  EXPECT_EQ(target("/llm//x"), "refused: the path after /llm holds an empty segment (\"//\"), which could leave the route's upstream path");
}

}  // namespace
}  // namespace agentos::egress
