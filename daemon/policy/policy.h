// The in-memory form of one agent policy (docs/policy.md is the schema's documentation).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentos::policy {

// A position in a policy file, 1-based as editors count.
struct Location {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
};

struct Diagnostic {
  Location where;
  std::string message;
  // "file:line:column: message", or "file: message" when line is 0
  [[nodiscard]] std::string str() const;
};

enum class Proto : uint8_t { kTcp, kUdp };

// "tcp://10.1.2.0/24:5432", "udp://127.0.0.53:53", "tcp://[2001:db8::1]:443"
struct NetRule {
  Proto proto = Proto::kTcp;
  int family = 0;  // AF_INET or AF_INET6
  std::array<uint8_t, 16> addr{};  // network byte order; first 4 bytes for AF_INET
  uint8_t prefix_len = 0;  // 0..32 or 0..128; host bits are zero
  uint16_t port = 0;  // 1..65535
  std::string text;  // as written, for messages
};

// One [egress] allow entry: "api.openai.com:443", "*.wikipedia.org:443" (subdomains only),
// "10.20.0.0/16:5432", "[2001:db8::/32]:443".
struct EgressGrant {
  std::string name;  // lower case, without "*."; empty for an address range
  bool subdomains = false;  // "*.name": any name ending in ".name", never name itself
  std::optional<NetRule> range;  // an address range (proto unused); set instead of name
  uint16_t port = 0;
  std::string text;  // as written, for messages
};

// One [[egress.route]]: requests to http://<gateway><path>/... go to the upstream, with headers
// the gateway adds (their {secret:NAME} filled in by the daemon, never seen by the agent).
struct EgressRoute {
  std::string path;  // "/openai": starts with '/', no trailing '/', no "." or ".." segments
  bool tls = true;  // https (else http)
  std::string host;  // upstream name or address
  uint16_t port = 443;
  std::string base_path;  // the upstream URL's path, prefixed to what follows `path` ("" or "/v1")
  std::vector<std::pair<std::string, std::string>> headers;  // name, value with {secret:NAME}
  std::vector<std::string> secrets;  // every secret the headers name
  Location where;  // of the route's table, for messages
};

struct Egress {
  std::vector<EgressGrant> allow;
  std::vector<EgressRoute> routes;
  uint32_t max_connections = 64;  // open through the gateway at once
  std::optional<uint64_t> bandwidth;  // bytes per second, each direction
};

// [tools]: the platform tools an agent may call through the broker. A grant names a tool
// ("kv.get") or a family ("kv": every kv.* tool); `ask` grants wait for the owner's consent.
struct ToolConstraint {
  std::string argument;  // the argument it narrows, e.g. "to"
  std::vector<std::string> patterns;  // globs ('*', '?') every value of the argument must match
};

// [tools.calendar], [tools.email]: the user's own accounts the calendar and email tools reach,
// with the password as one of the owner's secrets (never in the policy, never in the agent).
struct CalendarAccount {
  std::string url;  // http(s):// URL of a CalDAV calendar collection
  std::string user;
  std::string secret;  // the password's name among the owner's secrets
};

struct MailAccount {
  std::string imap;  // imap:// (STARTTLS when offered) or imaps://
  std::string smtp;  // smtp:// or smtps://
  std::string user;
  std::string secret;
  std::string from;  // the sender of every message email.send sends
};

struct Tools {
  std::vector<std::string> allow;
  std::vector<std::string> ask;
  std::map<std::string, std::vector<ToolConstraint>> constraints;  // by grant name
  uint32_t calls_per_minute = 600;
  uint32_t concurrent = 8;
  uint32_t consent_timeout_s = 120;  // an unanswered `ask` is denied after this
  Location allow_at;  // where `allow` is (or [tools] itself), for writing "always" answers back
  // Where each grant is written: names under a [serve] prefix are checked only when that server
  // lists its tools, and a name it does not offer is reported at its line.
  std::map<std::string, Location> where;
  std::optional<CalendarAccount> calendar;
  std::optional<MailAccount> email;
};

// [delegate]: the agents this one may hand tasks to, through the broker.
struct Delegate {
  std::vector<std::string> allow;  // agent names
  uint32_t max_depth = 4;  // of the whole chain
  uint32_t deadline_s = 600;
};

// [serve]: the agent is an MCP server (stdio) whose tools the broker offers to other agents as
// platform tools, PREFIX.<tool>. Only policies in the daemon's policy directory are started so.
struct Serve {
  std::string prefix;  // a tool family of its own; default: the agent's name
  Location where;
};

struct Limits {
  std::optional<uint64_t> memory_bytes;  // "512M", "2G", "1048576"
  std::optional<uint32_t> cpu_percent;  // "50%" of one CPU; "150%" is one and a half
  std::optional<uint32_t> pids;  // default kDefaultPids: every agent is bounded
  std::optional<uint64_t> tmp_bytes;  // its private /tmp; default kDefaultTmpBytes
  std::optional<uint64_t> shm_bytes;  // its /dev/shm; default kDefaultShmBytes
};

struct Policy {
  std::string name;
  std::vector<std::string> command;  // command[0] is absolute
  std::string workdir;  // absolute, or empty for "/"
  std::map<std::string, std::string> env;
  // "enforce" (default), or "audit": the kernel's BPF layers log what they would refuse and allow
  // it, so a user can learn what an agent needs. Seccomp and the namespaces still hold.
  bool audit_mode = false;

  // "private" (default): the agent's root holds only its grants. "host": it sees the host's
  // filesystem, and Landlock alone allows only the grants (for debugging policies, and to show
  // that layer holding on its own).
  bool host_filesystem = false;
  // Absolute, normalized paths. A grant covers the path and everything beneath it.
  std::vector<std::string> read;
  std::vector<std::string> write;  // implies read
  std::vector<std::string> exec;  // implies read
  // [devices] allow: character devices under /dev (a glob in the last component, e.g.
  // "/dev/dri/renderD*"), shown in the sandbox's /dev and opened read-write, as the owner may.
  std::vector<std::string> devices;

  // "private" (default): the agent's own netns with loopback only. "host": the host's network,
  // where the kernel's socket hooks allow only the connect/bind grants below.
  bool host_network = false;
  std::vector<NetRule> connect;
  std::vector<NetRule> bind;

  // [egress]: the gateway is the agent's only way off the machine (private network only).
  std::optional<Egress> egress;
  std::optional<Tools> tools;  // without it, the broker answers but every call is refused
  std::optional<Delegate> delegate;
  std::optional<Serve> serve;

  Limits limits;

  std::string source_path;  // file it came from (as the sender claimed, for a policy a client sent)
  bool from_policy_dir = false;  // loaded by the daemon from its policy directory (PolicyStore)
  std::string source_text;  // the file as written, kept for inspect and restarts
  Location name_location;  // where the name was set (or 1:1 when defaulted), for duplicates
};

struct ParseResult {
  std::optional<Policy> policy;  // set only when `errors` is empty
  std::vector<Diagnostic> errors;
};

// Parses and validates one policy. `path` is used in diagnostics and, without [agent].name,
// to derive the name (file name without ".toml"). Never throws.
[[nodiscard]] ParseResult parse_policy(std::string_view text, std::string_view path);

// Reads and parses a file. An unreadable file gives a diagnostic with line 0, which str()
// prints as "file: message". If `previous` came from the same path and text, it is returned
// as is: parsing depends on nothing else, and a reload need not reparse every file.
[[nodiscard]] ParseResult parse_policy_file(const std::string& path, const Policy* previous = nullptr);

// One diagnostic for every policy whose name repeats an earlier one's (pointing at the later).
[[nodiscard]] std::vector<Diagnostic> find_duplicate_names(const std::vector<Policy>& policies);

}  // namespace agentos::policy
