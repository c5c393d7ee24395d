// What the owner is shown of a call that waits for consent: every name, small values whole, large
// ones cut with their size and digest, and nothing that can hide or reorder text on a terminal.
#include "broker/consent_view.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace agentos::broker {
namespace {

const ArgRules kFsWrite{{"path", {ArgKind::kPath, std::nullopt}}};

std::vector<ShownArgument> show(const Json& args, const ArgRules& rules = {}) {
  auto shown = show_arguments(args, rules, args.dump().size());
  EXPECT_TRUE(shown) << shown.error().what;
  return shown ? *shown : std::vector<ShownArgument>{};
}

const ShownArgument& by_name(const std::vector<ShownArgument>& v, const std::string& name) {
  auto it = std::find_if(v.begin(), v.end(), [&](const ShownArgument& a) { return a.name == name; });
  EXPECT_NE(it, v.end()) << name;
  return *it;
}

TEST(ConsentView, Sha256) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");  // FIPS 180-2
}

TEST(ConsentView, LargeValuesAreCutWithTheirSizeAndDigestSmallOnesAreWhole) {
  std::string content(100 * 1024, 'x');
  content.replace(50 * 1024, 6, "secret");
  auto shown = show({{"path", "out/report.txt"}, {"content", content}}, kFsWrite);
  ASSERT_EQ(shown.size(), 2u);
  const auto& path = by_name(shown, "path");
  EXPECT_EQ(path.shown, "\"out/report.txt\"");
  EXPECT_FALSE(path.cut);
  const auto& body = by_name(shown, "content");
  EXPECT_TRUE(body.cut);
  EXPECT_EQ(body.size, content.size());
  EXPECT_EQ(body.sha256, sha256_hex(content));
  EXPECT_EQ(body.shown, "\"" + std::string(kShowPrefix, 'x') + "\"");
  // The control: the same text, small, is shown whole.
  auto small = show({{"content", "a short note"}});
  EXPECT_EQ(small[0].shown, "\"a short note\"");
  EXPECT_FALSE(small[0].cut);
}

TEST(ConsentView, PathsUrlsAndRecipientsAreNeverCut) {
  std::string deep;
  while (deep.size() < 3000) deep += "dir/";
  deep += "file";
  auto shown = show({{"path", deep}}, kFsWrite);
  EXPECT_FALSE(shown[0].cut);
  EXPECT_EQ(shown[0].shown, "\"" + deep + "\"");
  auto text = show({{"note", deep}});  // the control: the same length as plain text is cut
  EXPECT_TRUE(text[0].cut);
}

TEST(ConsentView, EveryArgumentNameIsShown) {
  Json args = Json::object();
  for (int i = 0; i < 50; ++i) args["arg" + std::to_string(i)] = std::string(1000, 'v');
  auto shown = show(args);
  ASSERT_EQ(shown.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(by_name(shown, "arg" + std::to_string(i)).cut);
}

TEST(ConsentView, ControlAndInvisibleCharactersAreEscaped) {
  auto shown = show({{"path", "invoice\u202etxt.exe"}, {"note", "\x1b[2Jclean\u200b\u2066x\u2069\x7f\xc2\x9b"},
                     {"we\u202eird", "v"}, {"tag", "a\U000E0041b"}},
                    kFsWrite);
  const auto& path = by_name(shown, "path");
  EXPECT_EQ(path.shown, "\"invoice\\u202etxt.exe\"");
  const auto& note = by_name(shown, "note");
  EXPECT_EQ(note.shown, "\"\\u001b[2Jclean\\u200b\\u2066x\\u2069\\u007f\\u009b\"");
  EXPECT_EQ(by_name(shown, "\"we\\u202eird\"").shown, "\"v\"");  // a name that is not plain: a JSON literal
  EXPECT_EQ(by_name(shown, "tag").shown, "\"a\\udb40\\udc41b\"");
  for (const auto& a : shown)
    for (std::string_view raw : {"\x1b", "\u202e", "\u200b", "\u2066", "\x7f", "\xc2\x9b", "\U000E0041"}) {
      EXPECT_EQ(a.shown.find(raw), std::string::npos) << a.shown;
      EXPECT_EQ(a.name.find(raw), std::string::npos) << a.name;
    }
  // The control: ordinary non-ASCII text is shown as it is.
  EXPECT_EQ(show({{"s", "café 東京"}})[0].shown, "\"café 東京\"");
}

TEST(ConsentView, ACutNeverSplitsACharacter) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "\u00e9";  // two bytes each: 200 falls between two
  auto shown = show({{"t", "x" + text}});
  ASSERT_TRUE(shown[0].cut);
  EXPECT_EQ(shown[0].shown, "\"x" + text.substr(0, 198) + "\"");
}

TEST(ConsentView, NonStringsAreShownAsJson) {
  auto shown = show({{"limit", 5}, {"headers", {{"X-A", "1"}}}, {"big", Json(std::vector<int>(500, 7))}});
  EXPECT_EQ(by_name(shown, "limit").shown, "5");
  EXPECT_EQ(by_name(shown, "headers").shown, "{\"X-A\":\"1\"}");
  const auto& big = by_name(shown, "big");
  EXPECT_TRUE(big.cut);
  EXPECT_EQ(big.size, Json(std::vector<int>(500, 7)).dump().size());
  EXPECT_TRUE(big.shown.starts_with("[7,7,"));
}

TEST(ConsentView, CallsThatCannotBeShownWholeAreRefused) {
  Json many = Json::object();
  for (size_t i = 0; i <= kMaxShownArguments; ++i) many["a" + std::to_string(i)] = 1;
  EXPECT_FALSE(show_arguments(many, {}, many.dump().size()));
  Json long_name{{std::string(300, 'n'), 1}};
  EXPECT_FALSE(show_arguments(long_name, {}, long_name.dump().size()));
  Json huge{{"content", std::string(1 << 20, 'x')}};
  auto refused = show_arguments(huge, {}, huge.dump().size());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().what.find("larger than consent can show whole"), std::string::npos);
  Json fits{{"content", std::string(512 * 1024, 'x')}};  // the control
  EXPECT_TRUE(show_arguments(fits, {}, fits.dump().size()));
}

}  // namespace
}  // namespace agentos::broker
