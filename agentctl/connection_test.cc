#include "agentctl/connection.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agentctl/agent_output.h"
#include "common/framing.h"

namespace agentos::ctl {
namespace {

using agentos::v1::Request;
using agentos::v1::Response;

// A connected client plus the daemon's end, which the test drives by hand. Responses are small
// enough to sit in the socket buffer, so no second thread is needed.
struct Pair {
  Pair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    client = std::make_unique<Connection>(UniqueFd(sv[0]));
    daemon = UniqueFd(sv[1]);
  }
  void reply(const Response& r) {
    std::string bytes;
    ASSERT_TRUE(r.SerializeToString(&bytes));
    ASSERT_TRUE(write_frame(daemon.get(), bytes).ok());
  }
  std::unique_ptr<Connection> client;
  UniqueFd daemon;
};

TEST(Connection, SendsOneRequestFrame) {
  Pair p;
  Request req;
  req.mutable_logs()->set_agent("web");
  req.mutable_logs()->set_follow(true);
  ASSERT_TRUE(p.client->send(req).ok());

  auto frame = read_frame(p.daemon.get());
  ASSERT_TRUE(frame.ok());
  ASSERT_TRUE(frame->has_value());
  Request got;
  ASSERT_TRUE(got.ParseFromString(**frame));
  EXPECT_EQ(got.logs().agent(), "web");
  EXPECT_TRUE(got.logs().follow());
}

TEST(Connection, ErrorResponseBecomesFailureWithDiagnostics) {
  Pair p;
  Response r;
  r.set_final(true);
  r.mutable_error()->set_code(agentos::v1::Error::CODE_INVALID_ARGUMENT);
  r.mutable_error()->set_message("policy rejected");
  r.mutable_error()->add_diagnostics("a.toml:3:1: unknown key");
  p.reply(r);

  auto got = p.client->next();
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().exit_code, kExitFailed);
  EXPECT_EQ(got.error().message, "policy rejected");
  ASSERT_EQ(got.error().diagnostics.size(), 1u);
  EXPECT_EQ(got.error().diagnostics[0], "a.toml:3:1: unknown key");
  EXPECT_TRUE(p.client->finished());
}

TEST(Connection, ARefusalBeforeTheRequestIsTheFailure) {
  Pair p;  // the daemon turns the connection away (too many) before it reads anything
  Response r;
  r.set_final(true);
  r.mutable_error()->set_code(agentos::v1::Error::CODE_RESOURCE_EXHAUSTED);
  r.mutable_error()->set_message("too many connections: uid 1000 holds 64");
  p.reply(r);
  p.daemon.reset();
  Request req;
  req.mutable_status();
  auto sent = p.client->send(req);
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error().message, "too many connections: uid 1000 holds 64");
}

TEST(Connection, CloseBeforeFinalIsAFailure) {
  Pair p;
  p.daemon.reset();
  auto got = p.client->next();
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().message, "daemon closed the connection");
}

TEST(Connection, OversizedFrameIsRefused) {
  Pair p;
  const unsigned char huge[4] = {0xff, 0xff, 0xff, 0x7f};
  ASSERT_EQ(::write(p.daemon.get(), huge, sizeof huge), 4);
  auto got = p.client->next();
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.error().message.find("exceeds the limit"), std::string::npos);
}

TEST(Connection, UnreachableSocketExitsThreeWithPathAndReason) {
  auto conn = Connection::open("/nonexistent/agentctl-test.sock");
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.error().exit_code, kExitUnreachable);
  EXPECT_EQ(conn.error().message,
            "cannot connect to agentosd at /nonexistent/agentctl-test.sock: "
            "No such file or directory");
}

TEST(Connection, OverlongSocketPathIsUnreachableNotTruncated) {
  auto conn = Connection::open("/tmp/" + std::string(200, 'x'));
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.error().exit_code, kExitUnreachable);
  EXPECT_NE(conn.error().message.find("File name too long"), std::string::npos);
}

TEST(AgentOutput, CopiesChunksInOrderAndReturnsTheExit) {
  Pair p;
  Response chunk;
  chunk.mutable_log()->set_data(std::string("hello\0", 6));
  p.reply(chunk);
  chunk.mutable_log()->set_data(" world\n");
  p.reply(chunk);
  Response done;
  done.set_final(true);
  done.mutable_exit()->set_id("a1");
  done.mutable_exit()->set_exit_code(7);
  p.reply(done);

  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  UniqueFd rd(out[0]), wr(out[1]);
  auto exit = copy_agent_output(*p.client, wr.get());
  ASSERT_TRUE(exit.ok());
  ASSERT_TRUE(exit->has_value());
  EXPECT_EQ((*exit)->exit_code(), 7);

  wr.reset();
  char buf[64];
  ssize_t n = ::read(rd.get(), buf, sizeof buf);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), std::string("hello\0 world\n", 13));
}

TEST(AgentOutput, EndsAtFinalWithoutExit) {
  Pair p;
  Response done;
  done.set_final(true);
  p.reply(done);
  auto exit = copy_agent_output(*p.client, -1);
  ASSERT_TRUE(exit.ok());
  EXPECT_FALSE(exit->has_value());
}

}  // namespace
}  // namespace agentos::ctl
