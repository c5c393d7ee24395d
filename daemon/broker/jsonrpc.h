// JSON-RPC 2.0 as MCP speaks it over a stream: one message per line. Parsing never throws, and
// every failure becomes the error object a client expects (codes from the JSON-RPC spec).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/bounded_json.h"

namespace agentos::broker {

using Json = nlohmann::json;

enum ErrorCode : int {
  kParseError = -32700,
  kInvalidRequest = -32600,
  kMethodNotFound = -32601,
  kInvalidParams = -32602,
  kInternalError = -32603,
  kBusy = -32000,  // over a quota: calls per minute, or calls at once
};

struct Message {
  Json id;  // null for a notification, which gets no answer
  std::string method;
  Json params = Json::object();
  [[nodiscard]] bool notification() const { return id.is_null(); }
};

struct ParseFailure {
  Json id;  // as far as it could be read, else null
  int code = kInvalidRequest;
  std::string message;
  bool over_bound = false;  // refused for its depth or size, not its syntax: a limit the sender hit
};

// One line of input: a request or notification, or the error to answer with.
[[nodiscard]] std::variant<Message, ParseFailure> parse_message(std::string_view line, JsonBounds bounds = {});

// The answer to `initialize`: the protocol version the client asked for where the broker speaks
// it, else the newest it does, and what it offers.
[[nodiscard]] Json initialize_result(const Json& params);

// The lines to send back (with the trailing newline).
[[nodiscard]] std::string result_line(const Json& id, const Json& result);
[[nodiscard]] std::string error_line(const Json& id, int code, const std::string& message);

}  // namespace agentos::broker
