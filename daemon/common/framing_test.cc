#include "common/framing.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "common/unique_fd.h"

namespace agentos {
namespace {

TEST(FrameDecoder, ReassemblesFramesSplitAnywhere) {
  std::string wire = encode_frame("hello") + encode_frame("") + encode_frame("world!");
  FrameDecoder d;
  std::vector<std::string> got;
  for (char c : wire) {  // one byte at a time: the worst a non-blocking reader can see
    d.feed(&c, 1);
    for (;;) {
      auto f = d.next();
      ASSERT_TRUE(f.ok());
      if (!*f) break;
      got.push_back(**f);
    }
  }
  EXPECT_EQ(got, (std::vector<std::string>{"hello", "", "world!"}));
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(FrameDecoder, RefusesOversizedFrameFromItsHeader) {
  FrameDecoder d;
  const char header[] = {0x01, 0x00, 0x10, 0x00};  // 1 MiB + 1
  d.feed(header, sizeof header);
  auto f = d.next();
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().str().find("exceeds the limit"), std::string::npos);
}

TEST(FrameDecoder, AcceptsFrameAtTheLimit) {
  std::string payload(kMaxFrame, 'x');
  FrameDecoder d;
  std::string wire = encode_frame(payload);
  d.feed(wire.data(), wire.size());
  auto f = d.next();
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(*f);
  EXPECT_EQ((*f)->size(), kMaxFrame);
}

// The length is little-endian on the wire whatever the host's order: bytes, not a host integer.
TEST(FrameBuffer, ReadyOnlyWithAWholeFrameOrABadHeader) {
  std::string buf = std::string("\x03\x00\x00\x00", 4) + "ab";
  EXPECT_FALSE(frame_ready(buf));
  buf += "c";
  EXPECT_TRUE(frame_ready(buf));
  EXPECT_EQ(*take_frame(buf).value(), "abc");
  EXPECT_TRUE(buf.empty());
  std::string oversized("\xff\xff\xff\xff", 4);
  EXPECT_TRUE(frame_ready(oversized));  // ready to be refused, not waited for
  EXPECT_FALSE(take_frame(oversized).ok());
  EXPECT_EQ(oversized.size(), 4u);
}

TEST(BlockingFrames, RoundTripAndCleanEnd) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd a(sv[0]), b(sv[1]);
  ASSERT_TRUE(write_frame(a.get(), "ping").ok());
  a.reset();
  auto f = read_frame(b.get());
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(**f, "ping");
  auto end = read_frame(b.get());
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(*end);  // closed between frames: a clean end, not an error
}

TEST(BlockingFrames, ClosedMidFrameIsAnError) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd a(sv[0]), b(sv[1]);
  std::string partial = encode_frame("truncated").substr(0, 6);
  ASSERT_EQ(::send(a.get(), partial.data(), partial.size(), 0), static_cast<ssize_t>(partial.size()));
  a.reset();
  EXPECT_FALSE(read_frame(b.get()).ok());
}

TEST(BlockingFrames, WriteRefusesOversizedPayload) {
  EXPECT_FALSE(write_frame(-1, std::string(kMaxFrame + 1, 'x')).ok());
}

}  // namespace
}  // namespace agentos
