#include "broker/proto_session.h"

#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <charconv>

#include "broker.pb.h"
#include "broker/jsonrpc.h"
#include "common/framing.h"

namespace agentos::broker {
namespace {

namespace pb = agentos::broker::v1;

std::string frame(const pb::BrokerResponse& r) { return encode_frame(r.SerializeAsString()); }

std::string error_frame(uint64_t id, int code, const std::string& message) {
  pb::BrokerResponse r;
  r.set_id(id);
  r.mutable_error()->set_code(code);
  r.mutable_error()->set_message(message);
  return frame(r);
}

std::string call_line(const std::string& id, const std::string& tool, Json args) {
  return Json{{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"}, {"params", {{"name", tool}, {"arguments", std::move(args)}}}}
             .dump(-1, ' ', false, Json::error_handler_t::replace);
}

// The JSON-RPC answer as a response, its id left for the caller.
pb::BrokerResponse response_of(const Json& a) {
  pb::BrokerResponse r;
  auto dump = [](const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); };
  if (a.contains("error")) {
    r.mutable_error()->set_code(a["error"].value("code", static_cast<int>(kInternalError)));
    r.mutable_error()->set_message(a["error"].value("message", ""));
    return r;
  }
  const Json& res = a.contains("result") ? a["result"] : Json::object();
  if (res.contains("tools")) {
    r.mutable_tools();  // set, even when no tool is granted
    for (const auto& t : res["tools"]) {
      pb::ToolInfo* info = r.mutable_tools()->add_tools();
      info->set_name(t.value("name", ""));
      info->set_description(t.value("description", ""));
      info->set_input_schema_json(dump(t.value("inputSchema", Json::object())));
    }
    return r;
  }
  pb::ToolResult* out = r.mutable_result();
  out->set_is_error(res.value("isError", false));
  if (res.contains("structuredContent")) {
    out->set_value_json(dump(res["structuredContent"]));
  } else {  // a refusal: its text
    std::string text = res.contains("content") && !res["content"].empty() ? res["content"][0].value("text", "") : "";
    out->set_value_json(dump(Json{{"error", text}}));
  }
  return r;
}

}  // namespace

ProtoSession::Translated ProtoSession::request(const std::string& payload) {
  pb::BrokerRequest req;
  // protobuf would write each string that is not UTF-8 to stderr, the journal: an agent's to flood.
  google::protobuf::LogSilencer quiet;
  if (!req.ParseFromString(payload)) return {std::nullopt, error_frame(0, kParseError, "not a BrokerRequest")};
  const uint64_t id = req.id();
  const std::string direct = "r" + std::to_string(id);
  switch (req.kind_case()) {
    case pb::BrokerRequest::kListTools:
      return {Json{{"jsonrpc", "2.0"}, {"id", direct}, {"method", "tools/list"}}.dump(), ""};
    case pb::BrokerRequest::kCallTool:
    case pb::BrokerRequest::kDelegate: {
      bool delegate = req.kind_case() == pb::BrokerRequest::kDelegate;
      std::string tool = delegate ? "agent.delegate" : req.call_tool().tool();
      Json args = Json::object();
      if (delegate) {
        args = {{"agent", req.delegate().agent()}, {"task", req.delegate().task()}};
      } else if (!req.call_tool().arguments_json().empty()) {
        // The call line puts the arguments two levels down ("params", "arguments"), and must
        // meet the bound itself.
        auto parsed = parse_json(req.call_tool().arguments_json(), {std::max<size_t>(json_depth_, 3) - 2, kMaxFrame});
        if (!parsed && parsed.error().fault != JsonFault::kNotJson) {
          std::string why = "arguments_json: " + parsed.error().message;
          return {std::nullopt, error_frame(id, kInvalidRequest, why), why};
        }
        if (!parsed || !parsed->is_object())
          return {std::nullopt, error_frame(id, kInvalidParams, "arguments_json must be a JSON object")};
        args = std::move(*parsed);
      }
      if (!(delegate ? req.delegate().detach() : req.call_tool().detach())) return {call_line(direct, tool, std::move(args)), ""};
      if (open_.size() + kept_.size() >= kMaxKept)
        return {std::nullopt, error_frame(id, kBusy, "too many detached calls not yet awaited")};
      uint64_t call = ++next_call_;
      open_[call] = true;
      pb::BrokerResponse started;
      started.set_id(id);
      started.mutable_started()->set_call(call);
      return {call_line("c" + std::to_string(call), tool, std::move(args)), frame(started)};
    }
    case pb::BrokerRequest::kAwait: {
      uint64_t call = req.await().call();
      if (auto k = kept_.find(call); k != kept_.end()) {
        pb::BrokerResponse r;
        r.ParseFromString(k->second);
        r.set_id(id);
        kept_bytes_ -= k->second.size();
        kept_.erase(k);
        return {std::nullopt, frame(r)};
      }
      if (!open_.contains(call) || awaiting_.contains(call))
        return {std::nullopt, error_frame(id, kInvalidParams, "no detached call " + std::to_string(call) + " to await")};
      awaiting_[call] = id;
      return {std::nullopt, ""};
    }
    default:
      return {std::nullopt, error_frame(id, kInvalidRequest, "an empty BrokerRequest")};
  }
}

std::string ProtoSession::answer(const std::string& line) {
  if (line.empty()) return "";
  // The broker's own line: its size is bounded where it was made, its depth by what it carries.
  auto parsed = parse_json(line, {json_depth_ + kJsonEnvelope, line.size()});
  if (!parsed || !parsed->contains("id")) return "";
  const Json& a = *parsed;
  pb::BrokerResponse r = response_of(a);
  std::string tag = a["id"].is_string() ? a["id"].get<std::string>() : "";
  if (tag.size() < 2) {  // the broker could not read an id: say so without one
    r.set_id(0);
    return frame(r);
  }
  uint64_t n = 0;
  std::from_chars(tag.data() + 1, tag.data() + tag.size(), n);
  if (tag[0] == 'r') {
    r.set_id(n);
    return frame(r);
  }
  open_.erase(n);
  if (auto w = awaiting_.find(n); w != awaiting_.end()) {
    r.set_id(w->second);
    awaiting_.erase(w);
    return frame(r);
  }
  std::string kept = r.SerializeAsString();
  kept_bytes_ += kept.size();
  kept_[n] = std::move(kept);
  return "";
}

}  // namespace agentos::broker
