#include "broker/tools/external_tools.h"

#include <cctype>

#include "policy/tool_names.h"

namespace agentos::broker {

void ExternalTools::add_server(const std::string& prefix, McpClient* client, const Json& tools_list,
                               std::vector<std::string>* skipped) {
  Server s;
  s.client = client;
  const Json* list = tools_list.is_object() && tools_list.contains("tools") ? &tools_list["tools"] : nullptr;
  if (list && list->is_array())
    for (const Json& t : *list) {
      if (!t.is_object() || !t.contains("name") || !t["name"].is_string()) continue;
      std::string name = t["name"].get<std::string>();
      std::string ours = name;
      for (char& c : ours) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      ours = prefix + "." + ours;
      if (!policy::check_tool_grant(ours) || s.original.contains(ours) || s.specs.size() >= kMaxTools) {
        skipped->push_back(name.substr(0, 100));
        continue;
      }
      s.original[ours] = name;
      std::string description = t.contains("description") && t["description"].is_string() ? t["description"].get<std::string>() : "";
      Json schema = t.contains("inputSchema") && t["inputSchema"].is_object() ? t["inputSchema"] : Json{{"type", "object"}};
      s.specs.push_back({ours, description.substr(0, 4096), schema});
    }
  servers_[prefix] = std::move(s);
}

void ExternalTools::remove_server(const std::string& prefix) { servers_.erase(prefix); }

std::vector<ToolSpec> ExternalTools::tools() const {
  std::vector<ToolSpec> out;
  for (const auto& [prefix, s] : servers_) out.insert(out.end(), s.specs.begin(), s.specs.end());
  return out;
}

ToolResult ExternalTools::call(const Caller&, const std::string&, const Json&) { return tool_error("answers later"); }

void ExternalTools::call_async(const Caller&, const std::string& tool, const Json& args, Done done) {
  auto s = servers_.find(tool.substr(0, tool.find('.')));
  if (s == servers_.end() || !s->second.original.contains(tool)) return done(tool_error("the server of " + tool + " is not running"));
  s->second.client->request("tools/call", {{"name", s->second.original.at(tool)}, {"arguments", args}}, [done](Result<Json> r) {
    if (!r) return done(tool_error(r.error().str()));
    const Json& res = *r;
    bool failed = res.is_object() && res.contains("isError") && res["isError"].is_boolean() && res["isError"].get<bool>();
    if (res.is_object() && res.contains("structuredContent")) return done({failed, res["structuredContent"]});
    done({failed, Json{{"content", res.is_object() && res.contains("content") ? res["content"] : Json::array()}}});
  });
}

}  // namespace agentos::broker
