"""Agents on the host's network: the cgroup-BPF socket hooks allow exactly the policy's grants.

These agents share the host's network namespace, so the namespace no longer isolates them: every
denial here is the kernel hooks' alone. Each has its positive control: the same action outside the
sandbox, or with the grant.
"""
import json
import os
import select
import signal
import socket
import subprocess
import unittest

from harness import AGENTCTL, Daemon, DaemonTest, USERS, follow_audit


def listener(family, host):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((host, 0))
    s.listen(64)
    return s


class HostNetwork(DaemonTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sockets = [listener(socket.AF_INET, "127.0.0.1") for _ in range(2)]
        cls.sockets += [listener(socket.AF_INET6, "::1") for _ in range(2)]
        cls.a, cls.b, cls.c, cls.d = (str(s.getsockname()[1]) for s in cls.sockets)
        with socket.socket() as s:  # a free port for bind grants
            s.bind(("127.0.0.1", 0))
            cls.bind_port = str(s.getsockname()[1])

    @classmethod
    def tearDownClass(cls):
        for s in cls.sockets:
            s.close()
        super().tearDownClass()

    def network(self):
        return (f'[network]\nnamespace = "host"\n'
                f'connect = ["tcp://127.0.0.1:{self.a}", "tcp://[::1]:{self.c}", "udp://127.0.0.1:{self.a}"]\n'
                f'bind = ["udp://127.0.0.1:{self.bind_port}"]\n')

    def host_probe(self, *args, name="hostnet"):
        pol = self.policy(name, extra=self.network())
        r = self.daemon.ctl("run", "--policy", str(pol), "--", self.probe, *args)
        return r.returncode, r.stdout

    def assert_denied(self, result):
        code, out = result
        self.assertEqual((code, out.split()[:2]), (1, ["denied", "EPERM"]))

    def test_sees_the_host_network(self):
        _, out = self.host_probe("ifaces")
        self.assertEqual(sorted(out.split()), sorted(i[1] for i in socket.if_nameindex()))

    def test_tcp_connect_only_to_grants(self):
        for host, granted, other in (("127.0.0.1", self.a, self.b), ("::1", self.c, self.d)):
            with self.subTest(host=host):
                self.assertEqual(self.run_outside("net", "tcp", host, other), (0, "ok\n"))
                self.assertEqual(self.host_probe("net", "tcp", host, granted), (0, "ok\n"))
                self.assert_denied(self.host_probe("net", "tcp", host, other))

    def test_ipv4_mapped_ipv6_gets_the_ipv4_verdict(self):
        self.assertEqual(self.host_probe("net", "tcp", "::ffff:127.0.0.1", self.a), (0, "ok\n"))
        self.assertEqual(self.run_outside("net", "tcp", "::ffff:127.0.0.1", self.b), (0, "ok\n"))
        self.assert_denied(self.host_probe("net", "tcp", "::ffff:127.0.0.1", self.b))

    def test_unconnected_udp_sends_are_checked(self):
        self.assertEqual(self.host_probe("net", "udp", "127.0.0.1", self.a), (0, "ok\n"))
        self.assertEqual(self.run_outside("net", "udp", "127.0.0.1", self.b), (0, "ok\n"))
        self.assert_denied(self.host_probe("net", "udp", "127.0.0.1", self.b))
        self.assert_denied(self.host_probe("net", "udp", "::1", self.a))  # granted for IPv4 only

    def test_every_udp_send_path_is_checked(self):
        for how in ("sendmsg", "sendmmsg"):
            with self.subTest(how=how):
                self.assertEqual(self.host_probe("net", how, "127.0.0.1", self.a), (0, "ok\n"))
                self.assertEqual(self.run_outside("net", how, "127.0.0.1", self.b), (0, "ok\n"))
                self.assert_denied(self.host_probe("net", how, "127.0.0.1", self.b))

    def test_listen_needs_a_bound_granted_port(self):
        self.assertEqual(self.run_outside("net", "listen", "127.0.0.1", "0"), (0, "ok\n"))
        self.assert_denied(self.host_probe("net", "listen", "127.0.0.1", "0"))

    def test_odd_addresses_cannot_slip_through(self):
        """An IPv4 address through an IPv6 socket gets the IPv4 verdict; a cut-short address and a
        dissolved association fail in the kernel before any grant could matter."""
        for how in ("udp6-to4", "udp6-connect4"):
            with self.subTest(how=how):
                self.assertEqual(self.host_probe("net", how, "127.0.0.1", self.a), (0, "ok\n"))
                self.assertEqual(self.run_outside("net", how, "127.0.0.1", self.b), (0, "ok\n"))
                self.assert_denied(self.host_probe("net", how, "127.0.0.1", self.b))
        code, out = self.host_probe("net", "tcp-short", "127.0.0.1", self.a)
        self.assertEqual((code, out.split()[:2]), (1, ["denied", "EINVAL"]))
        code, out = self.host_probe("net", "udp-unspec", "127.0.0.1", self.a)
        self.assertEqual((code, out.split()[:2]), (1, ["denied", "EDESTADDRREQ"]))

    def test_tcp_fast_open_is_checked(self):
        self.assertEqual(self.host_probe("net", "tfo", "127.0.0.1", self.a), (0, "ok\n"))
        self.assertEqual(self.run_outside("net", "tfo", "127.0.0.1", self.b), (0, "ok\n"))
        self.assert_denied(self.host_probe("net", "tfo", "127.0.0.1", self.b))

    def test_bind_only_to_grants(self):
        with socket.socket(type=socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            other = str(s.getsockname()[1])
        self.assertEqual(self.host_probe("net", "bind-udp", "127.0.0.1", self.bind_port), (0, "ok\n"))
        self.assertEqual(self.run_outside("net", "bind-udp", "127.0.0.1", other), (0, "ok\n"))
        self.assert_denied(self.host_probe("net", "bind-udp", "127.0.0.1", other))
        self.assert_denied(self.host_probe("net", "bind", "127.0.0.1", self.bind_port))  # granted for UDP only

    def test_tcp_bind_grants_are_refused_without_the_lsm(self):
        """The cgroup hooks never see the port of a socket that listens unbound, so under the
        fallback host-network agents may not listen, and a policy granting TCP binds is refused."""
        if self.daemon.lsm_available():
            self.skipTest("BPF LSM governs here: listen() is checked (the VM tier tests it)")
        pol = self.policy("tcp-bind", extra=self.network().replace(f'bind = ["udp://', f'bind = ["tcp://'))
        r = self.daemon.ctl("run", "--policy", str(pol), "--", self.probe, "net", "bind-listen", "127.0.0.1",
                            self.bind_port)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("needs BPF LSM to check listen()", r.stderr)
        self.assertEqual(self.run_outside("net", "bind-listen", "127.0.0.1", self.bind_port), (0, "ok\n"))

    def test_socket_families(self):
        for kind in ("unix", "route"):
            with self.subTest(kind=kind):
                self.assertEqual(self.host_probe("socket", kind), (0, "ok\n"))
        # A uevent netlink socket needs no privilege: the seccomp filter alone refuses it, for
        # every agent.
        self.assertEqual(self.run_outside("socket", "uevent", user=USERS[0]), (0, "ok\n"))
        self.assert_denied(self.host_probe("socket", "uevent"))
        self.assert_denied(self.run_probe("socket", "uevent"))
        for kind in ("raw", "packet"):
            with self.subTest(kind=kind):
                self.assertEqual(self.run_outside("socket", kind), (0, "ok\n"))
                self.assert_denied(self.host_probe("socket", kind))

    def test_denials_are_audited(self):
        self.assert_denied(self.host_probe("net", "tcp", "127.0.0.1", self.b, name="audited"))
        events = self.daemon.ctl_json("audit", "--agent", "audited")
        self.assertIn({"operation": f"connect tcp 127.0.0.1:{self.b}", "layer": "cgroup-bpf", "decision": "deny",
                       "owner_uid": 0, "agent_name": "audited"},
                      [{k: e[k] for k in ("operation", "layer", "decision", "owner_uid", "agent_name")} for e in events])
        log = self.daemon.log.read_text()  # and the daemon's log (the journal under systemd)
        self.assertIn(f"agent audited: deny connect tcp 127.0.0.1:{self.b}", log)
        self.assertIn("LAYER=cgroup-bpf", log)

    def test_users_see_only_their_agents_denials(self):
        t1, t2 = USERS[0], USERS[1]
        pol = self.policy("t1-denied", extra=self.network())
        r = self.daemon.ctl("run", "--policy", str(pol), "--", self.probe, "net", "tcp", "127.0.0.1", self.b, user=t1)
        self.assertEqual(r.stdout.split()[:2], ["denied", "EPERM"])
        ops = lambda user: [e["agent_name"] for e in self.daemon.ctl_json("audit", user=user) if e["decision"] == "deny"]
        self.assertIn("t1-denied", ops(t1))
        self.assertIn("t1-denied", ops(None))  # root
        self.assertNotIn("t1-denied", ops(t2))

    def test_a_flood_is_aggregated_and_counted(self):
        # Every refusal is accounted for: the first of its kind in full, the others as the repeats
        # of the aggregates written as their windows close, and any the kernel's ring buffer could
        # not hold as lost.
        attempts = 3000
        r = self.daemon.ctl("run", "--policy", str(self.policy("flood", extra=self.network())), "--",
                            self.probe, "flood", "tcp", "127.0.0.1", self.b, str(attempts))
        self.assertEqual(r.stdout, f"refused {attempts}\n")
        seen = {"full": 0, "repeats": 0, "lost": 0}
        def count(e):
            repeats = e.get("repeats", 0)
            if e["agent_name"] == "flood" and e["decision"] == "deny":
                seen["repeats" if repeats else "full"] += repeats or 1
            elif e["decision"] == "dropped" and e["agent_name"] == "":
                seen["lost"] += e["dropped"]
            return sum(seen.values()) >= attempts
        follow_audit(self.daemon, count, seen=seen)
        self.assertEqual(sum(seen.values()), attempts)
        self.assertGreater(seen["repeats"], 0)  # aggregated, not recorded one by one
        self.assertLess(seen["full"], 10)  # one a window

    def test_policy_apply_replaces_grants_of_a_running_agent(self):
        triggers = self.tmp / "live"
        triggers.mkdir(exist_ok=True)
        def policy_granting(port):
            pol = self.policy("live", read=[str(triggers)], extra=(
                f'[network]\nnamespace = "host"\nconnect = ["tcp://127.0.0.1:{port}"]\n'))
            return self.daemon.ctl_json("policy", "apply", str(pol))
        policy_granting(self.a)
        agent = json.loads(self.daemon.ctl("--json", "run", "--detach", "live", "--", self.probe, "connect-each",
                                           str(triggers), "127.0.0.1", self.b, check=True).stdout)["id"]
        follow = subprocess.Popen([str(AGENTCTL), "--socket", str(self.daemon.socket), "logs", "-f", agent],
                                  stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(follow.stdout.readline(), "ready\n")
            def attempt(n):
                (triggers / str(n)).touch()
                return follow.stdout.readline().split()[:2]
            self.assertEqual(attempt(1), ["denied", "EPERM"])
            reply = policy_granting(self.b)  # grant B instead of A, with the agent running
            self.assertIn({"agent_id": agent, "agent_name": "live", "part": "network", "outcome": "in-force", "detail": "",
                           "text": f"agent live ({agent}): network grants replaced"}, reply["changes"])
            self.assertEqual(attempt(2), ["ok"])
            policy_granting(self.a)  # and revoke it again
            self.assertEqual(attempt(3), ["denied", "EPERM"])
        finally:
            follow.kill()
            follow.wait()
            self.daemon.ctl("stop", agent)

    def test_revoking_a_grant_leaves_established_connections_open(self):
        triggers = self.tmp / "hold"
        triggers.mkdir(exist_ok=True)
        go = triggers / "go"
        go.unlink(missing_ok=True)
        def apply(connect):
            pol = self.policy("holder", read=[str(triggers)], extra=(
                f'[network]\nnamespace = "host"\nconnect = {json.dumps(connect)}\n'))
            return self.daemon.ctl_json("policy", "apply", str(pol))
        apply([f"tcp://127.0.0.1:{self.a}"])
        agent = json.loads(self.daemon.ctl("--json", "run", "--detach", "holder", "--", self.probe, "hold",
                                           str(go), "127.0.0.1", self.a, check=True).stdout)["id"]
        with subprocess.Popen([str(AGENTCTL), "--socket", str(self.daemon.socket), "logs", "-f", agent],
                              stdout=subprocess.PIPE, text=True) as follow:
            self.assertEqual(follow.stdout.readline(), "ok\n")  # connected while granted
            self.assertEqual(follow.stdout.readline(), "ready\n")
            apply([])  # revoked
            go.touch()
            self.assertEqual(follow.stdout.readline(), "ok\n")  # the open connection still sends
            follow.wait()
        # A new connection is refused, as the revocation says.
        r = self.daemon.ctl("run", "holder", "--", self.probe, "net", "tcp", "127.0.0.1", self.a)
        self.assert_denied((r.returncode, r.stdout))

    def test_refused_where_the_hooks_cannot_load(self):
        root = self.tmp / "nohooks"
        root.mkdir()
        plain = self.tmp / "not-a-bpffs"  # pinning maps needs a bpffs: the hooks cannot load
        d = Daemon(root, bpf_dir=plain)
        d.start()
        try:
            pol = self.policy("needs-hooks", extra=self.network())
            r = d.ctl("run", "--policy", str(pol))
            self.assertEqual(r.returncode, 1)
            self.assertIn("cgroup-BPF socket hooks", r.stderr)
            # The same daemon still runs agents that keep their own network namespace.
            self.assertEqual(d.ctl("run", "--policy", str(self.policy("own-netns"))).returncode, 0)
        finally:
            d.stop()
            d.cleanup()
        self.assertEqual(self.host_probe("net", "tcp", "127.0.0.1", self.a), (0, "ok\n"))

    def test_agents_stay_confined_when_the_daemon_is_killed(self):
        trigger_dir = self.tmp / "trigger"
        trigger_dir.mkdir(exist_ok=True)
        go = trigger_dir / "go"
        go.unlink(missing_ok=True)
        agents = {}
        for port in (self.a, self.b):
            pol = self.policy(f"waiter-{port}", extra=self.network(), read=[str(trigger_dir)])
            r = self.daemon.ctl("--json", "run", "--detach", "--policy", str(pol), "--", self.probe,
                                "after", str(go), "tcp", "127.0.0.1", port, check=True)
            agent = json.loads(r.stdout)
            agents[port] = (agent["id"], agent["pid"])
        logs = self.daemon.state / "logs"
        for agent_id, _ in agents.values():
            self.assertEqual(self.first_line(agent_id), "ready\n")
        self.daemon.stop(sig=signal.SIGKILL)
        try:
            pidfds = [os.pidfd_open(pid) for _, pid in agents.values()]
            go.touch()
            for fd in pidfds:  # the agents' exit, with no daemon around
                self.assertTrue(select.select([fd], [], [], 30)[0])
                os.close(fd)
            out = {port: (logs / f"{agent_id}.log").read_text() for port, (agent_id, _) in agents.items()}
            self.assertEqual(out[self.a], "ready\nok\n")
            self.assertEqual(out[self.b].split()[:3], ["ready", "denied", "EPERM"])
        finally:
            self.daemon.start()


class DenialFlood(DaemonTest):
    """A daemon of its own: the flood's lost and dropped counts must not reach another test's
    audit view."""

    def test_a_denial_flood_does_not_stall_the_daemon(self):
        # An agent making denials as fast as it can (each a kernel event for the daemon) while
        # the API keeps being served: the daemon reads the events a batch per turn of its loop.
        with socket.socket() as s:  # a port nothing listens on; the policy grants no connect
            s.bind(("127.0.0.1", 0))
            port = str(s.getsockname()[1])
        storm = self.policy("storm", extra='[network]\nnamespace = "host"\n')
        agent = json.loads(self.daemon.ctl("--json", "run", "--detach", "--policy", str(storm), "--", self.probe,
                                           "flood", "tcp", "127.0.0.1", port, "2000000000", check=True).stdout)["id"]
        try:
            for _ in range(20):
                self.daemon.ctl("status", check=True)  # agentctl's own 60 s timeout fails the test
            other = self.policy("bystander")
            self.assertEqual([p["name"] for p in self.daemon.ctl_json("policy", "apply", str(other))["loaded"]
                              if p["name"] == "bystander"], ["bystander"])
            # The flood ran throughout: the agent is still at it, and its denials reached the trail.
            self.assertEqual(self.daemon.ctl_json("inspect", agent)["agent"]["state"], "running")
            self.assertTrue(any(e["agent_id"] == agent and e["decision"] == "deny"
                                for e in self.daemon.ctl_json("audit", "--agent", agent)))
        finally:
            self.daemon.ctl("stop", agent)


if __name__ == "__main__":
    unittest.main()
