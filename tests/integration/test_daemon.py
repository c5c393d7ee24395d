"""The daemon's API: authorisation by kernel credentials, bad input, restarts, and the CLI's errors."""
import json
import os
import pathlib
import pwd
import re
import signal
import socket
import struct
import subprocess
import unittest

from harness import BUILD, Daemon, DaemonTest, USERS


def frame(payload: bytes) -> bytes:
    return struct.pack("<I", len(payload)) + payload


def raw_exchange(path, data: bytes, close_early=False) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(str(path))
        s.sendall(data)
        if close_early:
            return b""
        s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


class BadInput(DaemonTest):
    def assert_still_serving(self):
        self.assertEqual(self.daemon.ctl("status").returncode, 0)

    def test_oversized_frame(self):
        reply = raw_exchange(self.daemon.socket, struct.pack("<I", 64 << 20) + b"x" * 100)
        self.assertIn(b"exceeds the limit", reply)
        self.assert_still_serving()

    def test_garbage_protobuf(self):
        reply = raw_exchange(self.daemon.socket, frame(b"\xff\xfe\xfd\xfc garbage"))
        self.assertIn(b"malformed request", reply)
        self.assert_still_serving()

    def test_empty_request(self):
        reply = raw_exchange(self.daemon.socket, frame(b""))
        self.assertIn(b"malformed request", reply)
        self.assert_still_serving()

    def test_disconnect_mid_request(self):
        raw_exchange(self.daemon.socket, struct.pack("<I", 100) + b"abc", close_early=True)
        self.assert_still_serving()

    def test_stalled_client_does_not_block_others(self):
        stalled = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(50)]
        try:
            for s in stalled:
                s.connect(str(self.daemon.socket))
                s.sendall(b"\x10")  # one byte of a header, then nothing
            self.assert_still_serving()
        finally:
            for s in stalled:
                s.close()

    def test_malformed_policy_is_rejected_with_position(self):
        bad = self.tmp / "bad.toml"
        bad.write_text('[agent]\ncommand = ["relative/path"]\nbogus = 1\n')
        r = self.daemon.ctl("run", "--policy", str(bad))
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, rf"{bad}:2:\d+: ")
        self.assertRegex(r.stderr, rf"{bad}:3:1: ")
        self.assert_still_serving()

    def test_policy_check_reports_file_line_column(self):
        bad = self.tmp / "bad2.toml"
        bad.write_text('[agent]\ncommand = ["/bin/true"]\n[network]\nconnect = ["tcp://10.0.0.1:70000"]\n')
        r = self.daemon.ctl("policy", "check", str(bad))
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, rf"{bad}:4:\d+: .*port")
        good = self.policy("good")
        self.assertEqual(self.daemon.ctl("policy", "check", str(good)).returncode, 0)

    def test_policy_check_names_a_mistyped_tool(self):
        # A typo in [tools] would drop a consent or a constraint without a word: it is an error.
        bad = self.tmp / "typo.toml"
        bad.write_text('[agent]\ncommand = ["/bin/true"]\n[tools]\nallow = ["kv"]\nask = ["fs.wrte"]\n'
                       '[tools.constraints]\nkv = { kee = ["a*"] }\n')
        r = self.daemon.ctl("policy", "check", str(bad))
        self.assertEqual(r.returncode, 1)
        self.assertIn(f'{bad}:5:8: tools.ask: no platform tool "fs.wrte" (did you mean "fs.write"?)', r.stderr)
        self.assertIn(f'{bad}:7:8: tools.constraints."kv": "kv" has no argument "kee" (did you mean "key"?)', r.stderr)
        bad.write_text('[agent]\ncommand = ["/bin/true"]\n[tools]\nallow = ["kv", "fs.write"]\n')
        self.assertEqual(self.daemon.ctl("policy", "check", str(bad)).returncode, 0)  # control: spelled right

    def test_unreachable_daemon(self):
        d = Daemon(self.tmp / "absent")
        r = d.ctl("status")
        self.assertEqual(r.returncode, 3)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)

    def test_unknown_agent(self):
        r = self.daemon.ctl("stop", "no-such-agent")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no agent", r.stderr)


class Ownership(DaemonTest):
    def start_paused(self, user, name):
        pol = self.policy(name, command=[self.probe, "pause"])
        info = json.loads(self.daemon.ctl("--json", "run", "--detach", "--policy", str(pol), user=user,
                                          check=True).stdout)
        return info["id"]

    def test_users_see_and_control_only_their_agents(self):
        t1, t2, admin = USERS
        agent = self.start_paused(t1, "owned")
        try:
            self.assertIn(agent, [a["id"] for a in self.daemon.ctl_json("ps", user=t1)])
            self.assertNotIn(agent, [a["id"] for a in self.daemon.ctl_json("ps", user=t2)])
            for cmd in (["stop", agent], ["inspect", agent], ["logs", agent], ["stop", "owned"]):
                with self.subTest(cmd=cmd):
                    r = self.daemon.ctl(*cmd, user=t2)
                    self.assertEqual(r.returncode, 1)
                    self.assertIn("belongs to another user", r.stderr)
            # Root and the admin group see everyone's agents.
            self.assertIn(agent, [a["id"] for a in self.daemon.ctl_json("ps")])
            self.assertIn(agent, [a["id"] for a in self.daemon.ctl_json("ps", user=admin)])
            self.assertEqual(self.daemon.ctl("inspect", agent, user=admin).returncode, 0)
        finally:
            self.daemon.ctl("stop", agent, user=t1, check=True)

    def test_agent_runs_as_its_owner(self):
        t1 = USERS[0]
        _, out = self.run_probe("status", user=t1)
        uid = pwd.getpwnam(t1).pw_uid
        self.assertEqual(dict(l.split(":", 1) for l in out.splitlines())["Uid"].split()[0], str(uid))

    def test_only_admins_apply_policies(self):
        pol = self.policy("applied")
        r = self.daemon.ctl("policy", "apply", str(pol), user=USERS[0])
        self.assertEqual(r.returncode, 1)
        self.assertIn("admin", r.stderr)
        self.daemon.ctl("policy", "apply", str(pol), check=True)
        self.assertIn("applied", [p["name"] for p in self.daemon.ctl_json("policy", "list")])
        r = self.daemon.ctl("run", "applied", user=USERS[0])
        self.assertEqual((r.returncode, r.stdout), (0, "applied\n"))

    def test_duplicate_run_refused(self):
        agent = self.start_paused(None, "single")
        try:
            pol = self.policy("single", command=[self.probe, "pause"])
            r = self.daemon.ctl("run", "--detach", "--policy", str(pol))
            self.assertEqual(r.returncode, 1)
            self.assertIn("already running", r.stderr)
        finally:
            self.daemon.ctl("stop", agent, check=True)


class FailedStart(DaemonTest):
    """A start that fails once its cgroup, map entries and log exist takes them back (agent_start.cc)."""

    def cgroups(self):
        mount = "/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"
        return sorted(p.name for p in (pathlib.Path(mount + self.daemon.cgroup) / "agents").iterdir() if p.is_dir())

    def governed(self):
        """How many cgroups the socket and device hooks govern: the entries of their pinned maps."""
        def entries(map_path):
            out = subprocess.run(["bpftool", "-j", "map", "dump", "pinned", f"{self.daemon.bpf_dir}/{map_path}"],
                                 capture_output=True, text=True, check=True).stdout
            return len(json.loads(out))
        return entries("net/agents"), entries("dev/dev_agents")

    def leftovers(self):
        return self.cgroups(), self.governed(), sorted(os.listdir(self.daemon.state / "logs"))

    def on_host_network(self, name, command):
        return self.policy(name, command=command,
                           extra='[network]\nnamespace = "host"\nconnect = ["tcp://127.0.0.1:9"]\n')

    def test_a_failed_start_leaves_no_cgroup_grants_or_log(self):
        before = self.leftovers()
        # The command is missing: the launcher fails at exec, after everything else was made.
        r = self.daemon.ctl("run", "--policy", str(self.on_host_network("broken", [str(self.bin / "missing")])))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("cannot start agent", r.stderr)
        self.assertEqual(self.leftovers(), before)
        # Positive control: the same policy with a command that exists holds them while it runs.
        pol = self.on_host_network("working", [self.probe, "pause"])
        agent = json.loads(self.daemon.ctl("--json", "run", "--detach", "--policy", str(pol), check=True).stdout)["id"]
        try:
            cgroups, governed, _ = self.leftovers()
            self.assertIn(agent, cgroups)
            self.assertEqual(governed, (before[1][0] + 1, before[1][1] + 1))
        finally:
            self.daemon.ctl("stop", agent, check=True)
        self.assertEqual(self.leftovers()[:2], before[:2])  # its end took them back too


    def test_each_start_step_undoes_what_came_before_it(self):
        """AGENTOS_FAIL_START_AT (a test build's) fails the start after the step it names."""
        if "AGENTOS_FAULT_INJECTION:BOOL=ON" not in (BUILD / "CMakeCache.txt").read_text():
            if os.environ.get("CI") == "true":
                self.fail("CI builds agentosd with AGENTOS_FAULT_INJECTION (scripts/test.sh)")
            self.skipTest("agentosd was built without AGENTOS_FAULT_INJECTION")
        pol = self.on_host_network("injected", [self.probe, "pause"])
        before = self.leftovers()
        try:
            # "launch": the agent runs when the start fails; it is killed before its grants go.
            for step in ("admit", "cgroup", "sockets", "devices", "log", "console", "launch"):
                with self.subTest(step=step):
                    self.daemon.stop()
                    self.daemon.env["AGENTOS_FAIL_START_AT"] = step
                    self.daemon.start()
                    r = self.daemon.ctl("run", "--detach", "--policy", str(pol))
                    self.assertEqual(r.returncode, 1, r.stdout)
                    self.assertIn(f'injected failure after the step "{step}"', r.stderr)
                    self.assertEqual(self.leftovers(), before)
        finally:
            self.daemon.stop()
            self.daemon.env.pop("AGENTOS_FAIL_START_AT", None)
            self.daemon.start()


class AuditMode(DaemonTest):
    def test_audit_mode_needs_bpf_lsm(self):
        audited = self.policy("audited")
        audited.write_text(audited.read_text().replace("[agent]\n", '[agent]\nmode = "audit"\n', 1))
        lsm = {l["name"]: l["available"] for l in self.daemon.ctl_json("doctor")}["bpf-lsm"]
        r = self.daemon.ctl("run", "--policy", str(audited))
        if lsm:  # the VM tier covers this case in full
            self.assertEqual((r.returncode, r.stdout), (0, "audited\n"))
        else:
            self.assertEqual(r.returncode, 1)
            self.assertIn("audit mode, which needs BPF LSM", r.stderr)
        # Positive control: the same policy in enforce mode runs here.
        self.assertEqual(self.daemon.ctl("run", "--policy", str(self.policy("enforced"))).returncode, 0)


class Lifecycle(DaemonTest):
    def wait_ready(self, agent):
        self.assertEqual(self.first_line(agent), "ready\n")

    def test_exit_code_and_logs(self):
        r = self.daemon.ctl("run", "--policy", str(self.policy("exits")), "--", self.probe, "read", "/nope")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout.split()[:2], ["denied", "ENOENT"])
        agent = [a for a in self.daemon.ctl_json("ps", "--all") if a["name"] == "exits"][-1]
        self.assertEqual((agent["state"], agent["exit_code"], agent["reason"], agent["ended"]), ("exited", 1, "exited", "exited"))
        self.assertEqual(self.daemon.ctl("logs", agent["id"], check=True).stdout, r.stdout)

    def test_stop_waits_for_exit(self):
        pol = self.policy("stoppable", command=[self.probe, "pause"])
        agent = json.loads(self.daemon.ctl("--json", "run", "--detach", "--policy", str(pol), check=True).stdout)["id"]
        self.wait_ready(agent)
        self.daemon.ctl("stop", agent, check=True)
        info = self.daemon.ctl_json("inspect", agent)
        # SIGTERM reached the agent through its monitor and the sandbox's init.
        self.assertEqual((info["agent"]["state"], info["agent"]["reason"], info["agent"]["ended"], info["agent"]["signal"]),
                         ("exited", "stopped", "stopped", 15))

    def test_descriptor_limits(self):
        # The daemon holds a few descriptors per agent, so it raises its soft limit to the hard
        # one; an agent gets the conventional 1024 back, under the same hard limit.
        def soft_hard(limits):
            return next(l.split()[3:5] for l in limits.splitlines() if l.startswith("Max open files"))
        with open(f"/proc/{self.daemon.proc.pid}/limits") as f:
            soft, hard = soft_hard(f.read())
        self.assertEqual(soft, hard)
        pol = self.policy("limits", command=["/usr/bin/cat", "/proc/self/limits"], exec=["/usr/bin"])
        out = self.daemon.ctl("run", "--policy", str(pol), check=True).stdout
        self.assertEqual(soft_hard(out), [str(min(1024, int(hard))), hard])

    def test_limits_not_in_force_are_shown(self):
        pol = self.policy("limited", extra='[limits]\nmemory = "64M"\npids = 32\n')
        self.daemon.ctl("run", "--policy", str(pol), check=True)
        agent = [a for a in self.daemon.ctl_json("ps", "--all") if a["name"] == "limited"][-1]
        layers = {l["name"]: l for l in self.daemon.ctl_json("inspect", agent["id"])["enforcement"]}
        controllers = open(f"/sys/fs/cgroup/unified{self.daemon.cgroup}/agents/cgroup.subtree_control").read() \
            if os.path.exists("/sys/fs/cgroup/unified") else open(
                f"/sys/fs/cgroup{self.daemon.cgroup}/agents/cgroup.subtree_control").read()
        for limit in ("memory", "pids"):
            self.assertEqual(layers[f"limit {limit}"]["in_force"], limit in controllers.split())

    def test_restart_adopts_running_agents(self):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with self.subTest(signal=sig.name):
                pol = self.policy("survivor", command=[self.probe, "pause"])
                agent = json.loads(self.daemon.ctl("--json", "run", "--detach", "--policy", str(pol),
                                                   check=True).stdout)["id"]
                self.wait_ready(agent)
                init_pid = self.daemon.ctl_json("inspect", agent)["agent"]["pid"]
                self.daemon.stop(sig)
                os.kill(init_pid, 0)  # still running, still confined, without the daemon
                self.daemon.start()
                running = [a for a in self.daemon.ctl_json("ps") if a["name"] == "survivor"]
                self.assertEqual([a["id"] for a in running], [agent])  # neither lost nor doubled
                self.daemon.ctl("stop", agent, check=True)
                self.assertEqual(self.daemon.ctl_json("inspect", agent)["agent"]["state"], "exited")
                with self.assertRaises(ProcessLookupError):
                    os.kill(init_pid, 0)


class AuditTrail(DaemonTest):
    """audit.log is a hash chain that `agentctl audit verify` checks in the file itself."""

    def verify(self, *args, user=None):
        return self.daemon.ctl("audit", "verify", str(self.daemon.state / "audit.log"), *args, user=user)

    def line_of(self, text):
        lines = (self.daemon.state / "audit.log").read_bytes().split(b"\n")
        return next(i for i, line in enumerate(lines) if text in line) + 1

    def anchor(self):
        """The newest AUDIT_SEQ and AUDIT_HASH the daemon logged (the journal, under systemd)."""
        seq, digest = re.findall(r"AUDIT_SEQ=(\d+) AUDIT_HASH=([0-9a-f]{64})", self.daemon.log.read_text())[-1]
        return f"{seq}:{digest}"

    def test_verify_reports_an_edited_line(self):
        self.assertEqual(self.run_probe("hostname", name="edited"), (0, "edited\n"))
        ok = self.verify()
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertRegex(ok.stdout, r"^ok, \d+ records")
        self.assertTrue(self.daemon.ctl_json("audit", "verify", str(self.daemon.state / "audit.log"))["ok"])
        # The file is root's: others cannot read it to verify (nor to rewrite it).
        denied = self.verify(user=USERS[0])
        self.assertEqual(denied.returncode, 1)
        self.assertIn("run as root", denied.stderr)

        path = self.daemon.state / "audit.log"
        line = self.line_of(b'"agent_name":"edited"')
        offset = path.read_bytes().index(b'"agent_name":"edited"')
        with open(path, "r+b") as f:  # in place: the daemon keeps appending to the same file
            f.seek(offset)
            f.write(b'"agent_name":"edi7ed"')
        try:
            broken = self.verify()
            self.assertEqual(broken.returncode, 1)
            self.assertEqual(broken.stderr.split(": ", 1)[0], f"{path}:{line}")
            self.assertIn("does not match its content", broken.stderr)
        finally:
            with open(path, "r+b") as f:
                f.seek(offset)
                f.write(b'"agent_name":"edited"')
        self.assertEqual(self.verify().returncode, 0)

    def test_an_anchor_shows_a_cut_tail(self):
        self.assertEqual(self.run_probe("hostname", name="cut"), (0, "cut\n"))
        anchor = self.anchor()
        self.assertEqual(self.verify("--anchor", anchor).returncode, 0)
        path = self.daemon.state / "audit.log"
        original = path.read_bytes()
        last = original.rstrip(b"\n").rsplit(b"\n", 1)[0] + b"\n"
        try:
            path.write_bytes(last)  # the newest record removed: the chain alone still holds
            self.assertEqual(self.verify().returncode, 0)
            cut = self.verify("--anchor", anchor)
            self.assertEqual(cut.returncode, 1)
            self.assertIn(f"before the anchor's seq {anchor.split(':')[0]}", cut.stderr)
        finally:
            path.write_bytes(original)

    def test_a_crash_mid_line_is_sealed_by_the_next_start(self):
        self.assertEqual(self.run_probe("hostname", name="crashed"), (0, "crashed\n"))
        self.daemon.stop(sig=signal.SIGKILL)
        path = self.daemon.state / "audit.log"
        try:
            with open(path, "ab") as f:
                f.write(b'{"agent_id":"","agent_name":"","decision":"allow","operat')  # what a crash may leave
            torn = self.verify()
            self.assertEqual(torn.returncode, 1)
            self.assertIn("incomplete", torn.stderr)
        finally:
            self.daemon.start()
        ok = self.verify()
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertIn("1 half-written line(s) left by a crash", ok.stdout)
        start = [e for e in self.daemon.ctl_json("audit") if e["decision"] == "start"][-1]
        self.assertIn("a record a crash cut short", start["operation"])
        self.assertIn("did not stop cleanly", start["operation"])
        # A clean stop and start: the chain goes on, and nothing was lost.
        self.daemon.stop()
        self.daemon.start()
        start = [e for e in self.daemon.ctl_json("audit") if e["decision"] == "start"][-1]
        self.assertNotIn("did not stop cleanly", start["operation"])
        self.assertEqual(self.verify().returncode, 0)

if __name__ == "__main__":
    unittest.main()
