// A platform tool: a name, a JSON schema for its arguments, and the provider that carries it out.
// Providers run in the daemon, with the daemon's rights, on behalf of one agent: each confines
// itself to that agent's own data (its kv store, its workspace), whatever the arguments say.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "broker/arguments.h"
#include "broker/jsonrpc.h"

namespace agentos::broker {

struct ToolSpec {
  std::string name;  // "kv.get"
  std::string description;
  Json input_schema;  // JSON Schema of the arguments object
  ArgRules rules;  // paths, URLs and recipients among them, and defaults (arguments.h)
};

// Who a call is for: never taken from the call itself.
struct Caller {
  std::string agent_id;
  std::string agent_name;
  uid_t owner = 0;
  uid_t uid = 0;  // the uid the agent runs as
};

struct ToolResult {
  bool error = false;  // the tool ran and failed (bad key, missing file): the agent sees why
  Json value;  // the result, or {"error": "..."}
};

class Provider {
 public:
  virtual ~Provider() = default;
  [[nodiscard]] virtual std::vector<ToolSpec> tools() const = 0;
  [[nodiscard]] virtual ToolResult call(const Caller& who, const std::string& tool, const Json& args) = 0;
  // Providers that wait on the network answer later, from the event loop; `done` is called once.
  using Done = std::function<void(ToolResult)>;
  virtual void call_async(const Caller& who, const std::string& tool, const Json& args, Done done) {
    done(call(who, tool, args));
  }
  virtual void forget(const Caller&) {}  // the agent ended: drop what is cached for it
};

[[nodiscard]] inline ToolResult tool_error(std::string message) { return {true, Json{{"error", std::move(message)}}}; }

// A required string argument, or nullptr (with *why set).
[[nodiscard]] const std::string* string_arg(const Json& args, const char* name, std::string* why);

}  // namespace agentos::broker
