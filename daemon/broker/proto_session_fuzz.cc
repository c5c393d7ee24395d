// libFuzzer entry: what an agent sends on a broker.proto connection after the preface, as frames
// (little-endian u32 length, BrokerRequest). Each request becomes a JSON-RPC line that must read
// as the broker's own MCP message; the broker's answer (a tool list, an echo of the arguments, or
// an error) goes back through answer(), detached calls and awaits included.
#include <cstdint>

#include "broker/jsonrpc.h"
#include "broker/proto_session.h"
#include "common/bounded_json.h"
#include "common/framing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agentos::broker;
  agentos::FrameDecoder in;
  in.feed(reinterpret_cast<const char*>(data), size);
  ProtoSession session(agentos::kJsonDepth);
  for (auto frame = in.next(); frame && *frame; frame = in.next()) {
    ProtoSession::Translated t = session.request(**frame);
    if (!t.request) continue;
    auto parsed = parse_message(*t.request);
    auto* m = std::get_if<Message>(&parsed);
    if (!m || m->notification() || (m->method != "tools/call" && m->method != "tools/list")) __builtin_trap();
    const Json args = m->params.value("arguments", Json::object());
    Json tools = {{"tools", {{{"name", "kv.get"}, {"description", "a value"}, {"inputSchema", {{"type", "object"}}}}}}};
    Json echo = {{"content", Json::array()}, {"structuredContent", args}, {"isError", false}};
    (void)session.answer(m->method == "tools/list" ? result_line(m->id, tools)
                         : args.empty()          ? error_line(m->id, kInvalidParams, "no arguments")
                                                 : result_line(m->id, echo));
  }
  return 0;
}
