#include "policy/limit_values.h"

#include <gtest/gtest.h>

namespace agentos::policy {
namespace {

TEST(ParseMemory, SizesAre1024Based) {
  EXPECT_EQ(*parse_memory("4M"), 4ull << 20);
  EXPECT_EQ(*parse_memory("4096K"), 4ull << 20);
  EXPECT_EQ(*parse_memory("512M"), 512ull << 20);
  EXPECT_EQ(*parse_memory("2G"), 2ull << 30);
  EXPECT_EQ(*parse_memory("1T"), 1ull << 40);
  EXPECT_EQ(*parse_memory("4194304"), 4194304u);
  EXPECT_EQ(*parse_memory("8388607T"), 8388607ull << 40);
  EXPECT_EQ(*parse_memory("9223372036854775807"), 9223372036854775807ull);
}

TEST(ParseMemory, RefusesMalformedTinyAndHuge) {
  for (std::string_view bad :
       {"", "M", "512m", "512MB", "512 M", " 512M", "1.5G", "-1G", "+1G", "0x10M", "1e9", "12MM"}) {
    Result<uint64_t> r = parse_memory(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().what.find("is not a size"), std::string::npos) << r.error().what;
  }
  EXPECT_NE(parse_memory("0").error().what.find("must be positive"), std::string::npos);
  EXPECT_NE(parse_memory("4095K").error().what.find("below the minimum of 4M"), std::string::npos);
  for (std::string_view huge : {"9223372036854775808", "18446744073709551616", "8388608T",
                                "99999999999999999999999999T", "9007199254740992K"}) {
    Result<uint64_t> r = parse_memory(huge);
    ASSERT_FALSE(r) << huge;
    EXPECT_NE(r.error().what.find("too large"), std::string::npos) << r.error().what;
  }
}

TEST(CheckMemoryBytes, Range) {
  EXPECT_FALSE(check_memory_bytes(0));
  EXPECT_FALSE(check_memory_bytes(-1));
  EXPECT_FALSE(check_memory_bytes(INT64_MIN));
  EXPECT_FALSE(check_memory_bytes((4 << 20) - 1));
  EXPECT_EQ(*check_memory_bytes(4 << 20), 4u << 20);
  EXPECT_EQ(*check_memory_bytes(INT64_MAX), static_cast<uint64_t>(INT64_MAX));
}

TEST(ParseCpu, PercentOfOneCpu) {
  EXPECT_EQ(*parse_cpu("1%"), 1u);
  EXPECT_EQ(*parse_cpu("50%"), 50u);
  EXPECT_EQ(*parse_cpu("150%"), 150u);
  EXPECT_EQ(*parse_cpu("100000%"), 100000u);
  for (std::string_view bad :
       {"", "%", "50", "0%", "100001%", "-5%", "5 %", "1.5%", "50%%", "99999999999999999999999%"}) {
    EXPECT_FALSE(parse_cpu(bad)) << bad;
  }
}

TEST(CheckPids, Range) {
  EXPECT_EQ(*check_pids(1), 1u);
  EXPECT_EQ(*check_pids(4194304), 4194304u);
  EXPECT_FALSE(check_pids(0));
  EXPECT_FALSE(check_pids(-1));
  EXPECT_FALSE(check_pids(4194305));
  EXPECT_FALSE(check_pids(INT64_MAX));
  EXPECT_FALSE(check_pids(INT64_MIN));
}

}  // namespace
}  // namespace agentos::policy
