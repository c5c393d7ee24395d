// The broker's pure parts: JSON-RPC messages, http.fetch's reading of responses, grant decisions
// with constraints, and the kv and fs providers' confinement to their agent's own data.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "broker/grants.h"
#include "broker/tools/http_fetch.h"
#include "broker/jsonrpc.h"
#include "broker/tools/kv_store.h"
#include "broker/proto_session.h"
#include "broker/test_util.h"
#include "broker/tools/workspace.h"
#include "broker.pb.h"
#include "common/stderr_capture.h"

namespace agentos::broker {
namespace {

TEST(JsonRpc, MessagesAndFailures) {
  auto m = std::get<Message>(parse_message(R"({"jsonrpc":"2.0","id":7,"method":"tools/list"})"));
  EXPECT_EQ(m.id, 7);
  EXPECT_EQ(m.method, "tools/list");
  EXPECT_FALSE(m.notification());
  EXPECT_TRUE(std::get<Message>(parse_message(R"({"jsonrpc":"2.0","method":"notifications/initialized"})")).notification());
  auto bad = [](std::string_view s) { return std::get<ParseFailure>(parse_message(s)).code; };
  EXPECT_EQ(bad("{not json"), kParseError);
  EXPECT_EQ(bad(R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])"), kInvalidRequest);  // no batches
  EXPECT_EQ(bad(R"({"jsonrpc":"1.0","id":1,"method":"ping"})"), kInvalidRequest);
  EXPECT_EQ(bad(R"({"jsonrpc":2.0,"id":1,"method":"ping"})"), kInvalidRequest);  // no string: threw, uncaught
  EXPECT_EQ(bad(R"({"jsonrpc":{},"id":1,"method":"ping"})"), kInvalidRequest);
  EXPECT_EQ(bad(R"({"jsonrpc":"2.0","id":1,"method":3})"), kInvalidRequest);
  EXPECT_EQ(bad(R"({"jsonrpc":"2.0","id":{},"method":"ping"})"), kInvalidRequest);
  EXPECT_EQ(bad(R"({"jsonrpc":"2.0","id":1,"method":"ping","params":[1]})"), kInvalidParams);
  EXPECT_EQ(result_line(1, Json::object()), "{\"id\":1,\"jsonrpc\":\"2.0\",\"result\":{}}\n");
  // Bytes that are not UTF-8 are replaced, never thrown over.
  EXPECT_NE(result_line(1, std::string("\xff")).find("\xEF\xBF\xBD"), std::string::npos);
}

// protobuf logs a string that is not UTF-8 to stderr (the journal); an agent may send any number.
TEST(ProtoSession, StringsThatAreNotUtf8AreRefusedUnlogged) {
  const std::string payload = "\x08\x01\x1a\x04\x0a\x02\xff\xfe";  // id 1, call_tool { tool: "\xff\xfe" }
  ProtoSession session(kJsonDepth);
  ProtoSession::Translated t;
  EXPECT_EQ(stderr_of([&] { t = session.request(payload); }), "");
  EXPECT_FALSE(t.request);
  EXPECT_FALSE(t.frames.empty());  // the error frame
  // The control: parsed without the silencer, the same bytes are logged.
  EXPECT_NE(stderr_of([&] { (void)v1::BrokerRequest().ParseFromString(payload); }), "");
}

TEST(HttpFetch, ResponsesAndTheirBodies) {
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 32\r\nConnection: close\r\n\r\n";
  // The answer to HEAD has no body, whatever its Content-Length says (as nginx sends it).
  ToolResult r = parse_response(head, true);
  EXPECT_FALSE(r.error) << r.value.dump();
  EXPECT_EQ(r.value["status"], 200);
  EXPECT_EQ(r.value["body"], "");
  EXPECT_EQ(r.value["headers"]["content-length"], "32");
  // To a GET, the same bytes are a body cut short; whole, the body is there.
  EXPECT_TRUE(parse_response(head).error);
  EXPECT_EQ(parse_response(head + std::string(32, 'x')).value["body"], std::string(32, 'x'));
}

TEST(JsonRpc, InitializeAnswersAVersionItSpeaks) {
  EXPECT_EQ(initialize_result({{"protocolVersion", "2025-03-26"}})["protocolVersion"], "2025-03-26");
  EXPECT_EQ(initialize_result({{"protocolVersion", "1999-01-01"}})["protocolVersion"], "2025-06-18");
  EXPECT_EQ(initialize_result({{"protocolVersion", 20250618}})["protocolVersion"], "2025-06-18");  // threw, uncaught
  EXPECT_EQ(initialize_result(Json::object())["protocolVersion"], "2025-06-18");
}

TEST(Grants, AllowAskDenyAndConstraints) {
  auto t = tools_of(R"([tools]
allow = ["kv", "fs.read"]
ask = ["email.send", "fs"]
[tools.constraints]
"email.send" = { to = ["*@example.com"] }
)");
  Json none = Json::object();
  const ArgRules text;
  auto decide = [&](const policy::Tools& tools, const std::set<std::string>& approved, const std::string& tool, const Json& args) {
    return broker::decide(tools, approved, tool, args, text);
  };
  EXPECT_EQ(decide(t, {}, "kv.get", none).verdict, Verdict::kAllow);
  EXPECT_EQ(decide(t, {}, "fs.read", none).verdict, Verdict::kAllow);  // the more specific grant wins
  EXPECT_EQ(decide(t, {}, "fs.write", none).verdict, Verdict::kAsk);
  EXPECT_EQ(decide(t, {"fs.write"}, "fs.write", none).verdict, Verdict::kAllow);  // approved for the run
  EXPECT_EQ(decide(t, {}, "calendar.read", none).verdict, Verdict::kDeny);
  EXPECT_EQ(decide(t, {}, "calendar.read", none).reason, "calendar.read is not granted (tools.allow, tools.ask)");
  EXPECT_EQ(decide(t, {}, "email.send", {{"to", "a@example.com"}}).verdict, Verdict::kAsk);
  EXPECT_EQ(decide(t, {}, "email.send", {{"to", {"a@example.com", "b@example.com"}}}).verdict, Verdict::kAsk);
  Decision d = decide(t, {}, "email.send", {{"to", {"a@example.com", "eve@evil.com"}}});
  EXPECT_EQ(d.verdict, Verdict::kDeny);  // refused before anyone is asked
  EXPECT_NE(d.reason.find("\"eve@evil.com\" matches none of its patterns"), std::string::npos);
  EXPECT_EQ(decide(t, {}, "email.send", {{"to", 5}}).verdict, Verdict::kDeny);
  EXPECT_EQ(broker::decide(std::nullopt, {}, "kv.get", none, text).verdict, Verdict::kDeny);
}

class ProviderTest : public TestDir {
 protected:
  Caller a{"id-a", "alpha", ::getuid(), ::getuid()}, b{"id-b", "beta", ::getuid(), ::getuid()};
};

TEST_F(ProviderTest, KvIsPerAgentAndPersistent) {
  {
    KvStore kv(dir / "kv");
    EXPECT_FALSE(kv.call(a, "kv.set", {{"key", "k"}, {"value", "v"}}).error);
    EXPECT_EQ(kv.call(a, "kv.get", {{"key", "k"}}).value["value"], "v");
    EXPECT_EQ(kv.call(b, "kv.get", {{"key", "k"}}).value["found"], false);  // another agent's memory
    EXPECT_TRUE(kv.call(a, "kv.get", {{"key", 1}}).error);
    EXPECT_TRUE(kv.call(a, "kv.set", {{"key", std::string(300, 'k')}, {"value", "v"}}).error);
  }
  KvStore again(dir / "kv");  // a new daemon
  EXPECT_EQ(again.call(a, "kv.get", {{"key", "k"}}).value["value"], "v");
  EXPECT_EQ(again.call(a, "kv.list", Json::object()).value["keys"], Json::array({"k"}));
  EXPECT_EQ(again.call(a, "kv.delete", {{"key", "k"}}).value["deleted"], true);
}

TEST_F(ProviderTest, WorkspaceHoldsEveryPathBeneathIt) {
  Workspace fs(dir / "ws");
  EXPECT_FALSE(fs.call(a, "fs.write", {{"path", "notes.txt"}, {"content", "hello"}}).error);
  EXPECT_EQ(fs.call(a, "fs.read", {{"path", "notes.txt"}}).value["content"], "hello");
  EXPECT_TRUE(fs.call(b, "fs.read", {{"path", "notes.txt"}}).error);  // not beta's
  std::ofstream(dir / "outside") << "secret";
  for (const char* escape : {"../../../outside", "/etc/passwd", "../beta/x", "x/../../beta/notes.txt"})
    EXPECT_TRUE(fs.call(a, "fs.read", {{"path", escape}}).error) << escape;
  std::filesystem::create_symlink(dir / "outside", dir / "ws" / std::to_string(::getuid()) / "alpha" / "link");
  EXPECT_TRUE(fs.call(a, "fs.read", {{"path", "link"}}).error);  // no symlinks out, or at all
  auto list = fs.call(a, "fs.list", {{"path", "."}}).value["entries"];
  EXPECT_EQ(list.size(), 2u);
}

}  // namespace
}  // namespace agentos::broker
