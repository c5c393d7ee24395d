// Hostile input: parse_policy returns errors, never crashes or throws, and its messages are safe
// to print. (policy_fuzz.cc is the open-ended version of this, for libFuzzer.)
#include <gtest/gtest.h>

#include <random>

#include "policy/input_limits.h"
#include "policy/policy.h"
#include "policy/test_util.h"

namespace agentos::policy {
namespace {

using test::errors_text;
using test::parse;
using test::kResearcher;

// The contract every input must keep: a policy exactly when there are no errors, errors in file
// order, and messages without raw control characters (they reach terminals and logs).
void expect_contract(const ParseResult& r) {
  ASSERT_EQ(r.policy.has_value(), r.errors.empty());
  for (size_t i = 1; i < r.errors.size(); ++i) {
    const Location& a = r.errors[i - 1].where;
    const Location& b = r.errors[i].where;
    EXPECT_TRUE(a.line < b.line || (a.line == b.line && a.column <= b.column));
  }
  for (const Diagnostic& d : r.errors) {
    for (unsigned char c : d.message) {
      ASSERT_TRUE(c >= 0x20 && c != 0x7f) << "raw control byte in: " << d.str();
    }
  }
}

ParseResult parse_and_check(std::string_view text) {
  ParseResult r = parse(text);
  expect_contract(r);
  return r;
}


TEST(Garbage, RandomBytes) {
  std::mt19937 rng(12345);
  for (int i = 0; i < 2000; ++i) {
    std::string text(rng() % 512, '\0');
    for (char& c : text) c = static_cast<char>(rng());
    EXPECT_FALSE(parse_and_check(text).policy);
  }
}

TEST(Garbage, RandomTomlishTokens) {
  static constexpr std::string_view kTokens[] = {"[",
                                                 "]",
                                                 "[[",
                                                 "]]",
                                                 "{",
                                                 "}",
                                                 "=",
                                                 ",",
                                                 ".",
                                                 "\"",
                                                 "'",
                                                 "\"\"\"",
                                                 "'''",
                                                 "\n",
                                                 " ",
                                                 "#",
                                                 "agent",
                                                 "command",
                                                 "filesystem",
                                                 "read",
                                                 "network",
                                                 "connect",
                                                 "limits",
                                                 "memory",
                                                 "\\",
                                                 "\"/usr\"",
                                                 "\"tcp://1.2.3.4:5\"",
                                                 "1",
                                                 "-1",
                                                 "1e999",
                                                 "0x",
                                                 "true",
                                                 "1979-05-27",
                                                 "\xff",
                                                 "\xc3",
                                                 "\u00e9",
                                                 std::string_view("\0", 1)};
  std::mt19937 rng(777);
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    size_t n = rng() % 64;
    for (size_t k = 0; k < n; ++k) text += kTokens[rng() % std::size(kTokens)];
    parse_and_check(text);
  }
}

TEST(Garbage, MutationsOfAValidPolicy) {
  ASSERT_TRUE(parse(kResearcher).policy) << errors_text(parse(kResearcher));
  std::mt19937 rng(4242);
  for (int i = 0; i < 3000; ++i) {
    std::string text(kResearcher);
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % (text.size() + 1);
      switch (rng() % 3) {
        case 0:
          if (at < text.size()) text[at] = static_cast<char>(rng());
          break;
        case 1: text.insert(at, 1, static_cast<char>(rng())); break;
        case 2:
          if (at < text.size()) text.erase(at, 1 + rng() % 8);
          break;
      }
    }
    parse_and_check(text);
  }
}

TEST(Garbage, DeepNestingIsAnErrorNotAStackOverflow) {
  std::string arrays = "x = " + std::string(100000, '[');
  EXPECT_FALSE(parse_and_check(arrays).policy);
  std::string tables = "x = ";
  for (int i = 0; i < 50000; ++i) tables += "{a=";
  EXPECT_FALSE(parse_and_check(tables).policy);

  // Dotted keys are the depth toml++ does not bound itself.
  std::string header = "[";
  for (int i = 0; i < 300000; ++i) header += "a.";
  header += "a]\n";
  ParseResult r = parse_and_check(header);
  ASSERT_EQ(r.errors.size(), 1u) << errors_text(r);
  EXPECT_EQ(r.errors[0].where.line, 1u);
  // '[' is the first counted character and the k-th dot sits at column 2k+1, so the 1025th
  // counted character is the 1024th dot, at column 2049.
  EXPECT_EQ(r.errors[0].where.column, 2049u);
  EXPECT_NE(r.errors[0].message.find("more than 1024"), std::string::npos);

  std::string dotted;
  for (int i = 0; i < 300000; ++i) dotted += "a.";
  dotted += "a = 1\n";
  EXPECT_FALSE(parse_and_check(dotted).policy);
}

TEST(Garbage, StructureCountIgnoresStringsAndComments) {
  // Brackets and dots inside strings and comments, 2000 of each, in every string form.
  std::string text(kResearcher);
  text.replace(text.find("cpu"), 0, "# " + std::string(2000, '[') + "\n");
  std::string many = "[agent.env]\n";
  many += "A = \"" + std::string(2000, '.') + "\"\n";
  many += "B = '" + std::string(2000, '{') + "'\n";
  many += "C = \"\"\"\n" + std::string(2000, '[') + "\\\"\"\" \"\"\"\"\n";
  many += "D = '''" + std::string(2000, '.') + "'' '''''\n";
  many += "E = \"\\\"" + std::string(2000, '.') + "\"\n";
  std::string both = text.substr(0, text.find("[filesystem]"));
  both.replace(both.find("env = { LANG = \"C.UTF-8\" }\n"), 27, "");
  both += many + text.substr(text.find("[filesystem]"));
  ParseResult r = parse_and_check(both);
  ASSERT_TRUE(r.policy) << errors_text(r);
  EXPECT_EQ(r.policy->env.at("A"), std::string(2000, '.'));
  EXPECT_EQ(r.policy->env.at("C"), std::string(2000, '[') + "\"\"\" \"");
  EXPECT_EQ(r.policy->env.at("D"), std::string(2000, '.') + "'' ''");
}

TEST(Garbage, BytesThatAreNotText) {
  EXPECT_FALSE(parse_and_check(std::string_view("[agent]\0\n", 9)).policy);
  EXPECT_FALSE(parse_and_check("[agent]\ncommand = [\"/bin/\xc3\x28\"]\n").policy);
  EXPECT_FALSE(parse_and_check("\xef\xbb\xbf\xfe\xff").policy);
  // Quoted keys may hold anything TOML can escape; the messages escape it back.
  ParseResult r = parse_and_check(
      "[agent]\ncommand = [\"/bin/true\"]\n\"\\u001b[2J\\u0007\" = 1\nenv = { \"\\u0000\" = \"x\" "
      "}\n");
  ASSERT_EQ(r.errors.size(), 2u) << errors_text(r);
  EXPECT_NE(r.errors[0].message.find("\\x1b[2J\\x07"), std::string::npos) << r.errors[0].message;
}

TEST(Garbage, HugeValues) {
  std::string long_path = "[agent]\ncommand = [\"/bin/true\"]\n[filesystem]\nread = [\"/" +
                          std::string(500000, 'a') + "\"]\n";
  ParseResult r = parse_and_check(long_path);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_LT(r.errors[0].message.size(), 300u) << "messages cut long values";
  EXPECT_FALSE(parse_and_check("[limits]\nmemory = 1e400\n").policy);
  EXPECT_FALSE(parse_and_check("[limits]\npids = 0xffffffffffffffffff\n").policy);
}

}  // namespace
}  // namespace agentos::policy
