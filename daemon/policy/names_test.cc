#include "policy/names.h"

#include <gtest/gtest.h>

#include "policy/quote.h"

namespace agentos::policy {
namespace {

TEST(AgentName, Rules) {
  for (std::string_view ok : {"a", "0", "researcher", "web-fetcher.v2", "a_b", "9lives"}) {
    EXPECT_TRUE(check_agent_name(ok)) << ok;
  }
  EXPECT_TRUE(check_agent_name(std::string(63, 'x')));
  for (std::string_view bad : {"", "A", "aB", "-a", ".a", "_a", "a b", "a/b", "..", "\u00e9"}) {
    EXPECT_FALSE(check_agent_name(bad)) << bad;
  }
  EXPECT_FALSE(check_agent_name(std::string(64, 'x')));
  // A multi-byte character is shown whole.
  EXPECT_NE(check_agent_name("ab\u00e9c").error().what.find("contains \"\u00e9\""),
            std::string::npos);
}

TEST(AgentName, FromPath) {
  EXPECT_EQ(name_from_path("/etc/agentos/policy.d/researcher.toml"), "researcher");
  EXPECT_EQ(name_from_path("coder.toml"), "coder");
  EXPECT_EQ(name_from_path("dir/no-suffix"), "no-suffix");
  EXPECT_EQ(name_from_path("dir/x.toml.toml"), "x.toml");
  EXPECT_EQ(name_from_path("dir/.toml"), "");
  EXPECT_EQ(name_from_path(""), "");
}

TEST(EnvName, Rules) {
  for (std::string_view ok : {"A", "_", "LANG", "lower_case", "X1"}) {
    EXPECT_TRUE(check_env_name(ok)) << ok;
  }
  for (std::string_view bad : {"", "1X", "A-B", "A=B", "A B", "\u00e9", "A.B"}) {
    EXPECT_FALSE(check_env_name(bad)) << bad;
  }
  EXPECT_FALSE(check_env_name(std::string_view("A\0", 2)));
}

TEST(Quoted, EscapesAndCuts) {
  EXPECT_EQ(quote_text("plain"), "\"plain\"");
  EXPECT_EQ(quote_text("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(quote_text("a\nb\tc"), "\"a\\nb\\tc\"");
  EXPECT_EQ(quote_text(std::string_view("\0\x1b\x7f", 3)), "\"\\x00\\x1b\\x7f\"");
  EXPECT_EQ(quote_text("\u00e9"), "\"\u00e9\"");
  EXPECT_EQ(quote_text("\xff\xc3"), "\"\\xff\\xc3\"");
  EXPECT_EQ(quote_text("\xc2\x9b"), "\"\\xc2\\x9b\"");  // C1 CSI
  // Overlong forms, surrogates and code points past U+10FFFF are no UTF-8 (protobuf refuses them).
  EXPECT_EQ(escape_text("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");
  EXPECT_EQ(escape_text("\xed\xa0\x80"), "\\xed\\xa0\\x80");
  EXPECT_EQ(escape_text("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");
  EXPECT_EQ(escape_text("\xe0\xa0\x80\xf0\x90\x80\x80"), "\xe0\xa0\x80\xf0\x90\x80\x80");  // the least of each length
  std::string cut = quote_text(std::string(99, 'a') + "\u00e9\u00e9");
  EXPECT_EQ(cut, "\"" + std::string(99, 'a') + "...\"");
  EXPECT_EQ(escape_text("saw '\n'"), "saw '\\n'");
}

}  // namespace
}  // namespace agentos::policy
