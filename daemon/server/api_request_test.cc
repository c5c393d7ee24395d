// Reading a connection's request: whole frames only, known kinds only, and nothing logged for
// what a caller sends.
#include "server/api_request.h"

#include <gtest/gtest.h>

#include "common/stderr_capture.h"

namespace agentos {
namespace {

TEST(ApiRequest, WholeFramesOfKnownKinds) {
  v1::Request status;
  status.mutable_status();
  std::string frame = encode_frame(status.SerializeAsString());
  FrameDecoder in;
  in.feed(frame.data(), frame.size() - 1);
  auto partial = next_request(in);
  ASSERT_TRUE(partial);
  EXPECT_FALSE(*partial);
  in.feed(frame.data() + frame.size() - 1, 1);
  auto whole = next_request(in);
  ASSERT_TRUE(whole && *whole);
  EXPECT_EQ((*whole)->kind_case(), v1::Request::kStatus);

  FrameDecoder empty;
  std::string none = encode_frame(v1::Request().SerializeAsString());
  empty.feed(none.data(), none.size());
  auto refused = next_request(empty);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().what, "malformed request");

  FrameDecoder big;
  big.feed("\xff\xff\xff\xff", 4);
  EXPECT_FALSE(next_request(big));
}

// protobuf logs a string that is not UTF-8 to stderr (the journal); a caller may send any number.
TEST(ApiRequest, StringsThatAreNotUtf8AreRefusedUnlogged) {
  const std::string payload = "\x32\x04\x0a\x02\xff\xfe";  // stop { agent: "\xff\xfe" }
  std::string frame = encode_frame(payload);
  FrameDecoder in;
  in.feed(frame.data(), frame.size());
  bool refused = false;
  EXPECT_EQ(stderr_of([&] { refused = !next_request(in); }), "");
  EXPECT_TRUE(refused);
  // The control: parsed without the silencer, the same bytes are logged.
  EXPECT_NE(stderr_of([&] { (void)v1::Request().ParseFromString(payload); }), "");
}

}  // namespace
}  // namespace agentos
