#include "broker/kv_store.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "common/atomic_file.h"

namespace agentos::broker {

const std::string* string_arg(const Json& args, const char* name, std::string* why) {
  auto it = args.find(name);
  if (it == args.end() || !it->is_string()) {
    *why = std::string("argument \"") + name + "\" must be a string";
    return nullptr;
  }
  return it->get_ptr<const std::string*>();
}

std::vector<ToolSpec> KvStore::tools() const {
  Json key = {{"type", "string"}, {"maxLength", kMaxKey}};
  return {
      {"kv.get", "Read a value from the agent's persistent memory", {{"type", "object"}, {"properties", {{"key", key}}}, {"required", {"key"}}}},
      {"kv.set", "Store a value in the agent's persistent memory",
       {{"type", "object"}, {"properties", {{"key", key}, {"value", {{"type", "string"}}}}}, {"required", {"key", "value"}}}},
      {"kv.delete", "Forget a key", {{"type", "object"}, {"properties", {{"key", key}}}, {"required", {"key"}}}},
      {"kv.list", "List keys, optionally those starting with a prefix",
       {{"type", "object"}, {"properties", {{"prefix", {{"type", "string"}}}}}}},
  };
}

std::string KvStore::path(const Caller& who) const {
  return dir_ + "/" + std::to_string(who.owner) + "/" + who.agent_name + ".json";
}

KvStore::Map& KvStore::load(const Caller& who) {
  std::string p = path(who);
  auto it = cache_.find(p);
  if (it != cache_.end()) return it->second;
  Map& m = cache_[p];
  std::ifstream in(p);
  std::stringstream text;
  text << in.rdbuf();
  Json j = Json::parse(text.str(), nullptr, false);
  if (j.is_object())
    for (auto& [k, v] : j.items())
      if (v.is_string()) m.emplace(k, v.get<std::string>());
  return m;
}

ToolResult KvStore::call(const Caller& who, const std::string& tool, const Json& args) {
  Map& m = load(who);
  std::string why;
  if (tool == "kv.list") {
    std::string prefix = args.contains("prefix") && args["prefix"].is_string() ? args["prefix"].get<std::string>() : "";
    Json keys = Json::array();
    for (auto it = m.lower_bound(prefix); it != m.end() && it->first.starts_with(prefix); ++it) keys.push_back(it->first);
    return {false, Json{{"keys", keys}}};
  }
  const std::string* key = string_arg(args, "key", &why);
  if (!key) return tool_error(why);
  if (key->empty() || key->size() > kMaxKey) return tool_error("a key is 1.." + std::to_string(kMaxKey) + " bytes");
  if (tool == "kv.get") {
    auto it = m.find(*key);
    return {false, it == m.end() ? Json{{"found", false}} : Json{{"found", true}, {"value", it->second}}};
  }
  if (tool == "kv.set") {
    const std::string* value = string_arg(args, "value", &why);
    if (!value) return tool_error(why);
    if (value->size() > kMaxValue) return tool_error("a value is at most " + std::to_string(kMaxValue) + " bytes");
    if (!m.contains(*key) && m.size() >= kMaxKeys) return tool_error("the store is full (" + std::to_string(kMaxKeys) + " keys)");
    m[*key] = *value;
  } else if (tool == "kv.delete") {
    if (m.erase(*key) == 0) return {false, Json{{"deleted", false}}};
  } else {
    return tool_error("no such kv tool");
  }
  // Written through: what an agent stored survives it, the daemon, and the machine restarting.
  std::string dir = dir_ + "/" + std::to_string(who.owner);
  ::mkdir(dir_.c_str(), 0700);
  ::mkdir(dir.c_str(), 0700);
  Json j(m);
  if (auto s = write_file_atomic(path(who), j.dump(-1, ' ', false, Json::error_handler_t::replace), 0600); !s)
    return tool_error("cannot store: " + s.error().str());
  return {false, tool == "kv.set" ? Json{{"stored", true}} : Json{{"deleted", true}}};
}

void KvStore::forget(const Caller& who) { cache_.erase(path(who)); }

}  // namespace agentos::broker
