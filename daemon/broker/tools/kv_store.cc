#include "broker/tools/kv_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "common/bounded_json.h"

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

namespace {

std::string store_id(const Caller& who) { return std::to_string(who.owner) + "/" + who.agent_name; }

// A store an older daemon kept as one JSON document (<name>.json), or nothing.
std::optional<KvLog::Map> legacy_store(int dir, const std::string& name) {
  UniqueFd fd(::openat(dir, (name + ".json").c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  std::string text;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  KvLog::Map m;
  auto parsed = parse_json(text, {kJsonDepth, text.size()});  // an agent's values, written by an older daemon
  Json j = parsed ? std::move(*parsed) : Json(nullptr);
  if (j.is_object())
    for (auto& [k, v] : j.items())
      if (v.is_string()) m.emplace(k, v.get<std::string>());
  return m;
}

}  // namespace

Result<KvLog*> KvStore::load(const Caller& who) {
  std::string id = store_id(who);
  if (auto it = cache_.find(id); it != cache_.end() && !it->second->broken()) return it->second.get();
  cache_.erase(id);
  // Everything from the state directory down is root's; still, no link is followed on the way.
  (void)::mkdir(dir_.c_str(), 0700);
  UniqueFd base(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!base.valid()) return sys_error("open " + dir_);
  std::string owner = std::to_string(who.owner);
  (void)::mkdirat(base.get(), owner.c_str(), 0700);
  UniqueFd dir(::openat(base.get(), owner.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) return sys_error("open " + dir_ + "/" + owner);
  const std::string name = who.agent_name + ".kv";
  Result<std::unique_ptr<KvLog>> log = error("");
  struct stat st {};
  std::optional<KvLog::Map> legacy;
  if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT &&
      (legacy = legacy_store(dir.get(), who.agent_name))) {
    int raw = dir.get();
    log = KvLog::create(std::move(dir), name, std::move(*legacy));
    if (log) ::unlinkat(raw, (who.agent_name + ".json").c_str(), 0);  // imported
  } else {
    log = KvLog::open(std::move(dir), name);
  }
  if (!log) return log.error();
  KvLog* raw = log->get();
  cache_[id] = std::move(*log);
  return raw;
}

ToolResult KvStore::call(const Caller& who, const std::string& tool, const Json& args) {
  auto loaded = load(who);
  if (!loaded) return tool_error("cannot open the store: " + loaded.error().str());
  KvLog& log = **loaded;
  const KvLog::Map& m = log.entries();
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
  auto old = m.find(*key);
  if (tool == "kv.get") {
    return {false, old == m.end() ? Json{{"found", false}} : Json{{"found", true}, {"value", old->second}}};
  }
  Status stored;
  if (tool == "kv.set") {
    const std::string* value = string_arg(args, "value", &why);
    if (!value) return tool_error(why);
    if (value->size() > kMaxValue) return tool_error("a value is at most " + std::to_string(kMaxValue) + " bytes");
    if (old == m.end() && m.size() >= kMaxKeys) return tool_error("the store is full (" + std::to_string(kMaxKeys) + " keys)");
    uint64_t replaced = old == m.end() ? 0 : old->first.size() + old->second.size();
    if (log.data_bytes() - replaced + key->size() + value->size() > kMaxBytes)
      return tool_error("the store is full (" + std::to_string(kMaxBytes >> 20) + " MiB of keys and values)");
    stored = log.set(*key, *value);
  } else if (tool == "kv.delete") {
    if (old == m.end()) return {false, Json{{"deleted", false}}};
    stored = log.erase(*key);
  } else {
    return tool_error("no such kv tool");
  }
  // Written through: what an agent stored survives it, the daemon, and the machine restarting.
  if (!stored) {
    if (log.broken()) cache_.erase(store_id(who));  // opened afresh next time, its torn tail dropped
    return tool_error("cannot store: " + stored.error().str());
  }
  return {false, tool == "kv.set" ? Json{{"stored", true}} : Json{{"deleted", true}}};
}

void KvStore::forget(const Caller& who) { cache_.erase(store_id(who)); }

}  // namespace agentos::broker
