#include "common/version.h"
#include "broker/jsonrpc.h"

namespace agentos::broker {
namespace {

std::string dump(const Json& j) {
  // A tool may return bytes that are not UTF-8: replaced, never thrown over.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace

std::variant<Message, ParseFailure> parse_message(std::string_view line, JsonBounds bounds) {
  auto parsed = parse_json(line, bounds);
  if (!parsed) {
    const JsonError& e = parsed.error();
    if (e.fault == JsonFault::kNotJson) return ParseFailure{nullptr, kParseError, e.message};
    return ParseFailure{nullptr, kInvalidRequest, e.message, true};
  }
  Json& j = *parsed;
  if (!j.is_object()) return ParseFailure{nullptr, kInvalidRequest, "a message is one JSON object (no batches)"};
  Json id = j.contains("id") ? j["id"] : Json(nullptr);
  if (!id.is_null() && !id.is_string() && !id.is_number_integer())
    return ParseFailure{nullptr, kInvalidRequest, "id must be a string or an integer"};
  // Compared as JSON: value("jsonrpc", "") would throw, uncaught, on a member that is no string.
  if (auto v = j.find("jsonrpc"); v == j.end() || *v != "2.0")
    return ParseFailure{id, kInvalidRequest, "jsonrpc must be \"2.0\""};
  auto method = j.find("method");
  if (method == j.end() || !method->is_string()) return ParseFailure{id, kInvalidRequest, "method must be a string"};
  Message m{id, method->get<std::string>(), Json::object()};
  if (auto p = j.find("params"); p != j.end()) {
    if (!p->is_object()) return ParseFailure{id, kInvalidParams, "params must be an object"};
    m.params = std::move(*p);
  }
  return m;
}

Json initialize_result(const Json& params) {
  static constexpr const char* kVersions[] = {"2025-06-18", "2025-03-26", "2024-11-05"};
  const char* version = kVersions[0];
  if (auto asked = params.find("protocolVersion"); asked != params.end())
    for (const char* v : kVersions)
      if (*asked == v) version = v;
  return {{"protocolVersion", version},
          {"capabilities", {{"tools", {{"listChanged", false}}}}},
          {"serverInfo", {{"name", "agentos"}, {"version", kVersion}}},
          {"instructions", "Platform tools of agentos. Calls outside your grants are refused; some wait for your owner's consent."}};
}

std::string result_line(const Json& id, const Json& result) {
  return dump(Json{{"jsonrpc", "2.0"}, {"id", id}, {"result", result}});
}

std::string error_line(const Json& id, int code, const std::string& message) {
  return dump(Json{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}});
}

}  // namespace agentos::broker
