// agentosd: the trusted daemon that runs each agent confined to its policy. This file reads the
// options; server/daemon.h builds the parts and runs them.
#include <CLI/CLI.hpp>

#include "common/bounded_json.h"
#include "common/log.h"
#include "common/version.h"
#include "policy/limit_values.h"
#include "server/daemon.h"

int main(int argc, char** argv) {
  agentos::DaemonOptions o;
  std::string log_max = "64M";
  int partial_timeout_s = 30;
  CLI::App app{"agentosd: runs AI agents confined to their policies"};
  app.add_option("--policy-dir", o.policy_dir, "Directory of agent policies (*.toml)");
  app.add_option("--socket", o.socket, "API socket path (unless systemd passes one)");
  app.add_option("--runtime-dir", o.runtime_dir, "Runtime state (records of running agents)");
  app.add_option("--state-dir", o.state_dir, "Persistent state (logs, dynamic users, agent data)");
  app.add_option("--cgroup", o.cgroup, "cgroup v2 path for agents, relative to the cgroup2 mount");
  app.add_option("--admin-group", o.admin_group, "Group whose members see and control all agents");
  app.add_option("--bpf-dir", o.bpf_dir, "Where BPF programs and maps are pinned (on a bpffs)");
  app.add_flag("--without-landlock", o.without_landlock,
               "Leave Landlock out, so tests can show BPF LSM holding alone (refused without BPF LSM)");
  app.add_option("--gateway", o.gateway,
                 "The egress gateway's binary (default: beside agentosd, else in " AGENTOS_LIBEXECDIR ")");
  app.add_option("--egress-dns", o.egress_dns, "DNS servers the gateway asks, \"ADDR:PORT,...\" (default: /etc/resolv.conf)");
  app.add_option("--egress-ca", o.egress_ca, "PEM file of CAs the gateway trusts for route upstreams, besides the system's");
  app.add_option("--egress-handshake-timeout-ms", o.egress_handshake_ms,
                 "Time an agent's connection to the gateway has to make its request");
  app.add_option("--agent-log-max", log_max,
                 "Output kept per agent: the log holds its last SIZE bytes, older ones are dropped (default 64M)");
  app.add_option(
      "--keep-ended", o.keep_ended,
      "Ended agents per owner whose records and logs are kept (ps -a); the oldest beyond it are forgotten (default 1000)");
  app.add_option("--keep-ended-days", o.keep_ended_days, "Days an ended agent's record and log are kept (default 7)")
      ->check(CLI::Range(1u, 3650u));
  app.add_option("--json-depth", o.broker.json_depth,
                 "How deep agents' JSON may nest (MCP lines, broker.proto arguments; MCP servers' replies 16 more)")
      ->check(CLI::Range(size_t{8}, agentos::kJsonMaxDepth));
  app.add_option("--broker-connections", o.broker.connections, "Broker connections one agent may hold at once")
      ->check(CLI::PositiveNumber);
  app.add_option("--broker-buffer", o.broker.buffered,
                 "Bytes one agent may have buffered in the daemon across its broker connections (e.g. 8MiB)")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(size_t{2} << 20, size_t{1} << 40));  // at least two whole messages
  app.add_option("--broker-partial-timeout", partial_timeout_s,
                 "Seconds a broker connection may hold part of a message before it is closed")
      ->check(CLI::PositiveNumber);
  app.add_option("--api-connections", o.api.connections, "API connections at once, all users together")
      ->check(CLI::PositiveNumber);
  app.add_option("--api-connections-per-uid", o.api.per_uid, "API connections one user (not root or an admin) may hold")
      ->check(CLI::PositiveNumber);
  app.add_option("--api-admin-reserve", o.api.admin_reserve,
                 "Of --api-connections, how many only root and the admin group may take");
  app.set_version_flag("--version", std::string("agentosd ") + agentos::kVersion);
  try {
    app.parse(argc, argv);
    if (o.api.admin_reserve >= o.api.connections)
      throw CLI::ValidationError("--api-admin-reserve", "must be less than --api-connections");
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto log_bytes = agentos::policy::parse_size(log_max);
  if (!log_bytes) return agentos::log::error("--agent-log-max: " + log_bytes.error().str()), 2;
  o.agent_log_max = *log_bytes;
  o.broker.partial_timeout = std::chrono::seconds(partial_timeout_s);

  agentos::Daemon daemon(std::move(o));
  if (auto s = daemon.init(); !s) return agentos::log::error(s.error().str()), 1;
  if (auto s = daemon.run(); !s) return agentos::log::error(s.error().str()), 1;
  return 0;
}
