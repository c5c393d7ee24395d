#include "common/bounded_json.h"

#include <gtest/gtest.h>

#include <string>

namespace agentos {
namespace {

std::string nested(size_t depth, char open = '[', char close = ']') {
  return std::string(depth, open) + std::string(depth, close);
}

TEST(BoundedJson, DepthIsCountedOutsideStrings) {
  EXPECT_FALSE(nested_deeper_than(nested(64), 64));
  EXPECT_TRUE(nested_deeper_than(nested(65), 64));
  EXPECT_TRUE(nested_deeper_than(R"({"a":[{"b":[1]}]})", 3));
  EXPECT_FALSE(nested_deeper_than(R"({"a":[{"b":[1]}]})", 4));
  // Brackets in strings, escaped quotes and backslashes do not count.
  EXPECT_FALSE(nested_deeper_than(R"(["[[[[", "\"[[[[", "\\", "{{{{"])", 1));
  EXPECT_TRUE(nested_deeper_than(R"(["\\", [[1]]])", 2));
  // Siblings are not depth.
  std::string wide = "[";
  for (int i = 0; i < 10000; ++i) wide += "[],";
  wide += "[]]";
  EXPECT_FALSE(nested_deeper_than(wide, 2));
}

TEST(BoundedJson, RefusesTooDeepTooLargeAndGarbage) {
  auto ok = parse_json(R"({"jsonrpc":"2.0","params":{"arguments":{"a":[1,{"b":null}]}}})");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)["params"]["arguments"]["a"][1]["b"], nullptr);
  EXPECT_TRUE(parse_json(nested(64)).ok());

  // The attack: 100,000 levels in 200 KB, refused without building (or recursing into) a tree.
  auto deep = parse_json(nested(100000));
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.error().fault, JsonFault::kTooDeep);
  EXPECT_EQ(deep.error().message, "JSON nested deeper than 64 levels");
  auto objects = parse_json(std::string(100000, '{'));
  ASSERT_FALSE(objects.ok());
  EXPECT_EQ(objects.error().fault, JsonFault::kTooDeep);

  auto big = parse_json(std::string(100, ' ') + "1", {.depth = 64, .bytes = 100});
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().fault, JsonFault::kTooLarge);

  auto garbage = parse_json("{not json");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().fault, JsonFault::kNotJson);
  EXPECT_EQ(parse_json("").error().fault, JsonFault::kNotJson);
}

TEST(BoundedJson, TheBoundIsASetting) {
  EXPECT_FALSE(parse_json(nested(9), {.depth = 8}).ok());
  EXPECT_TRUE(parse_json(nested(9), {.depth = 9}).ok());
  // A tree at the largest bound a setting may give is copied and dumped without trouble.
  auto j = parse_json(nested(kJsonMaxDepth), {.depth = kJsonMaxDepth});
  ASSERT_TRUE(j.ok());
  nlohmann::json copy = *j;
  EXPECT_EQ(copy.dump(), nested(kJsonMaxDepth));
}

}  // namespace
}  // namespace agentos
