"""Grants are objects, not strings (issue 13, attacks 4 to 8): what an agent does to paths it can
write (symlinks, renames, a race against the daemon's check) never widens what it or another agent
reaches, and the daemon acting as root never follows what an agent planted. Each attack is made as
a hostile agent would make it, with its positive control: the same start without the attack works.
"""
import json
import os
import pathlib
import pwd
import shutil
import socket
import subprocess
import textwrap
import threading
import unittest

from harness import AGENTCTL, USERS, Daemon, DaemonTest

OWNER = USERS[0]
SH = "/usr/bin/sh"

# An agent whose task (AGENTOS_TASK, else its argument) is a JSON list of steps; one line per step.
#   ["symlink", [TARGET, LINK]]  moves LINK aside (to LINK.old) and puts a symlink to TARGET there
#   ["read", PATH]               prints the file's text, or "read denied ERRNO"
#   [METHOD, PARAMS]             one MCP request to the broker; prints the answer
STEP_AGENT = textwrap.dedent("""
    import json, os, socket, sys
    task = json.loads(os.environ.get("AGENTOS_TASK") or sys.argv[1])
    s = f = None
    for i, (what, arg) in enumerate(task):
        if what == "symlink":
            target, link = arg
            if os.path.lexists(link): os.rename(link, link + ".old")
            os.symlink(target, link); print("symlinked", flush=True)
        elif what == "read":
            try: print(open(arg).read().strip(), flush=True)
            except OSError as e: print("read denied", e.errno, flush=True)
        else:
            if s is None:
                s = socket.socket(socket.AF_UNIX); s.connect("/run/agentos/broker.sock"); f = s.makefile("rb")
            s.sendall(json.dumps({"jsonrpc": "2.0", "id": i, "method": what, "params": arg}).encode() + b"\\n")
            print(f.readline().decode().strip(), flush=True)
""")


def owned_dir(path, user=OWNER, mode=0o755):
    path.mkdir(parents=True, exist_ok=True)
    pw = pwd.getpwnam(user)
    os.chown(path, pw.pw_uid, pw.pw_gid)
    os.chmod(path, mode)
    return path


def owned_file(path, text, user=OWNER, mode=0o644):
    path.write_text(text)
    pw = pwd.getpwnam(user)
    os.chown(path, pw.pw_uid, pw.pw_gid)
    os.chmod(path, mode)
    return path


class StepAgentTest(DaemonTest):
    """The step agent, and what no policy grants: the owner's own secret, which the owner (and so
    its agents, by uid) could read, were it ever mounted."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.script = cls.write_script(cls.bin / "steps.py", STEP_AGENT)
        cls.secret = owned_dir(cls.tmp.parent / (cls.tmp.name + "-secret"), mode=0o700)
        owned_file(cls.secret / "data", "SECRET")
        cls.addClassCleanup(shutil.rmtree, cls.secret, True)

    def fresh(self, name):
        """A directory the owner (and so its agents) may write, holding sub/data = OK."""
        w = owned_dir(self.tmp / name)
        owned_file(owned_dir(w / "sub") / "data", "OK")
        return w

    def steps_policy(self, name, read=(), write=(), extra=""):
        return self.policy(name, command=["/usr/bin/python3", str(self.script), "[]"], read=[str(self.bin), *read],
                           write=write, exec=["/usr/bin"], extra=extra)


class GrantObjects(StepAgentTest):

    def run_steps(self, pol, steps, user=OWNER):
        r = self.daemon.ctl("run", "--policy", str(pol), "--", "/usr/bin/python3", str(self.script), json.dumps(steps),
                            user=user)
        return r

    def test_a_nested_grant_cannot_be_repointed_by_the_agent(self):
        w = self.fresh("nest")
        pol = self.steps_policy("nest", read=[str(w / "sub")], write=[str(w)])
        # Control: the nested grant works.
        r = self.run_steps(pol, [["read", str(w / "sub/data")]])
        self.assertEqual(r.stdout.splitlines(), ["OK"], r.stderr)
        # While it runs the grant is a mount point it cannot move: the owner's other agent, with
        # only the outer grant, plants the link for the next start.
        attacker = self.steps_policy("nest-attacker", write=[str(w)])
        r = self.run_steps(attacker, [["symlink", [str(self.secret), str(w / "sub")]]])
        self.assertEqual(r.stdout.strip(), "symlinked", r.stderr)
        self.assertTrue((w / "sub").is_symlink())
        r = self.run_steps(pol, [["read", str(w / "sub/data")]])
        self.assertNotEqual(r.returncode, 0)
        self.assertNotIn("SECRET", r.stdout)
        self.assertIn("is a symbolic link to " + str(self.secret), r.stderr)
        self.assertIn("grant its target instead", r.stderr)

    def test_renaming_a_parent_cannot_repoint_a_nested_grant(self):
        w = self.fresh("rename")
        owned_file(owned_dir(w / "a" / "b") / "data", "OK")
        pol = self.steps_policy("rename", read=[str(w / "a" / "b")], write=[str(w)])
        self.assertEqual(self.run_steps(pol, [["read", str(w / "a/b/data")]]).stdout.strip(), "OK")  # control
        # The agent moves the parent away and puts a link to a tree holding b/ in its place.
        evil = owned_dir(self.tmp / "rename-target")
        os.symlink(str(self.secret), evil / "b")
        r = self.run_steps(pol, [["symlink", [str(evil), str(w / "a")]]])
        self.assertEqual(r.stdout.strip(), "symlinked", r.stderr)
        r = self.run_steps(pol, [["read", str(w / "a/b/data")]])
        self.assertNotEqual(r.returncode, 0)
        self.assertNotIn("SECRET", r.stdout)
        self.assertIn("is a symbolic link", r.stderr)

    def test_a_flipped_path_never_mounts_what_the_check_refused(self):
        """One agent swaps a directory and a link to /proc as fast as it can (RENAME_EXCHANGE)
        while another starts with a grant of that path, 60 times: the starts either mount the
        directory or are refused; none shows the host's procfs."""
        w = self.fresh("race")
        os.symlink("/proc", w / "flip")
        flipper = textwrap.dedent(f"""
            import ctypes, os
            libc = ctypes.CDLL(None, use_errno=True)
            a, b, stop = b"{w}/sub", b"{w}/flip", "{w}/stop"
            while not os.path.exists(stop):
                for _ in range(1000):
                    libc.renameat2(-100, a, -100, b, 2)  # RENAME_EXCHANGE
        """)
        fpol = self.policy("flipper", command=["/usr/bin/python3", "-c", flipper], write=[str(w)], exec=["/usr/bin"])
        started = self.daemon.ctl_json("run", "--policy", str(fpol), "--detach", user=OWNER)
        try:
            # Control: the flip really happens, as seen from outside.
            seen = {os.path.islink(w / "sub") for _ in range(20000)}
            self.assertEqual(seen, {True, False})
            vpol = self.policy("victim", command=["/usr/bin/stat", "-f", "-c", "%T", str(w / "sub")],
                               read=[str(w / "sub")], exec=["/usr/bin"])
            mounted, refused = [], []
            for _ in range(60):
                r = self.daemon.ctl("run", "--policy", str(vpol), user=OWNER)
                (mounted if r.returncode == 0 else refused).append(r.stdout.strip() or r.stderr.strip())
            print(f"\nrace: {mounted.count('proc')} of 60 starts showed procfs, {len(mounted)} ran, "
                  f"{len(refused)} were refused", flush=True)
            self.assertNotIn("proc", mounted)
            for why in refused:
                self.assertIn("is a symbolic link to /proc", why)
        finally:
            (w / "stop").touch()
            self.daemon.ctl("stop", started["id"])

    def test_root_never_follows_a_link_in_a_root_owned_agents_state(self):
        state = self.daemon.state / "agents" / "st7"
        victim = pathlib.Path(f"/etc/agentos-test-{os.getpid()}-x")
        self.addCleanup(lambda: shutil.rmtree(victim, ignore_errors=True))
        pol = self.policy("st7", command=[SH, "-c", "true"], write=[str(state), str(state / "sub" / "x")],
                          exec=["/usr/bin"])
        # Control: the daemon makes the directories, the last one the agent's.
        r = self.daemon.ctl("run", "--policy", str(pol))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue((state / "sub" / "x").is_dir())
        # The agent (its dynamic uid owns st7) moves sub away and plants a link to /etc.
        attack = f"mv {state}/sub {state}/old && ln -s /etc {state}/sub"
        self.assertEqual(self.daemon.ctl("run", "--policy", str(pol), "--", SH, "-c", attack).returncode, 0)
        self.assertTrue((state / "sub").is_symlink())
        # Its next start wants sub/x again: the daemon, as root, must not make /etc/x.
        pol.write_text(pol.read_text().replace(str(state / "sub" / "x"), str(state / "sub" / victim.name)))
        r = self.daemon.ctl("run", "--policy", str(pol))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("is not a directory of its own", r.stderr)
        self.assertFalse(victim.exists())


class SharedMounts(StepAgentTest):
    """Where the host's mounts are shared (systemd makes / shared), the clones of the grants must
    not be the host's peers: what a sandbox mounts on them (a nested grant, its resolv.conf) would
    appear on the host. The daemon runs in a mount namespace of its own whose mounts are shared."""

    @classmethod
    def setUpClass(cls):
        original = Daemon.__init__

        def init(self, root, *a, **kw):
            original(self, root, *a, wrap=lambda argv: ["unshare", "--mount", "--propagation", "shared", *argv], **kw)
        Daemon.__init__ = init
        try:
            super().setUpClass()
        finally:
            Daemon.__init__ = original

    def daemon_mounts(self, under):
        out = subprocess.run(["findmnt", "-N", str(self.daemon.proc.pid), "-rn", "-o", "TARGET"], capture_output=True,
                             text=True, check=True).stdout.split()
        return [m for m in out if m == str(under) or m.startswith(str(under) + "/")]

    def test_what_a_sandbox_mounts_stays_in_it(self):
        shared = subprocess.run(["findmnt", "-N", str(self.daemon.proc.pid), "-rn", "-o", "PROPAGATION", "/"],
                                capture_output=True, text=True, check=True).stdout.strip()
        self.assertEqual(shared, "shared")  # the condition under test holds
        w = self.fresh("shared")
        pol = self.steps_policy("shared", read=[str(w)], write=[str(w / "sub")])
        agent = self.daemon.ctl("run", "--detach", "--policy", str(pol), "--", "/usr/bin/python3", "-c",
                                "print('up', flush=True); import time; time.sleep(60)", user=OWNER, check=True).stdout.strip()
        try:
            self.assertEqual(self.first_line(agent), "up\n")
            # Inside, sub is a mount of its own on top of the read grant: outside, nothing is.
            self.assertEqual(self.daemon_mounts(w), [])
        finally:
            self.daemon.ctl("stop", agent)


class DelegationObjects(StepAgentTest):
    """A delegator that controls a path its delegate is granted cannot make the delegate mount
    anything else: narrowing compares the objects reached, not the spellings."""

    def install(self, name, read=(), write=(), tools=(), delegate=()):
        path = self.daemon.policy_dir / f"{name}.toml"
        path.write_text(textwrap.dedent(f"""\
            [agent]
            name = "{name}"
            command = ["/usr/bin/python3", "{self.script}"]
            [filesystem]
            read = {json.dumps(["/usr", str(self.bin), *read])}
            write = {json.dumps(list(write))}
            exec = ["/usr/bin"]
            [tools]
            allow = {json.dumps(list(tools))}
            [delegate]
            allow = {json.dumps(list(delegate))}
            """))
        os.chmod(path, 0o644)

    def delegate_after(self, steps, w):
        task = json.dumps([["read", str(w / "sub" / "data")]])
        steps = steps + [["tools/call", {"name": "agent.delegate", "arguments": {"agent": "dg-t", "task": task}}]]
        self.daemon.ctl("policy", "apply", check=True)
        r = self.daemon.ctl("run", "dg-d", "--", "/usr/bin/python3", str(self.script), json.dumps(steps), user=OWNER)
        answer = json.loads(r.stdout.splitlines()[-1])
        return answer["result"]["structuredContent"]

    def test_a_delegator_cannot_point_its_delegate_elsewhere(self):
        w = owned_dir(self.tmp / "dg")
        owned_file(owned_dir(w / "sub") / "data", "OK")
        self.install("dg-t", read=[str(w / "sub")])
        self.install("dg-d", write=[str(w)], tools=["agent.delegate"], delegate=["dg-t"])
        # Control: the delegate reads what both policies reach.
        done = self.delegate_after([], w)
        self.assertEqual(done.get("output", "").strip(), "OK", done)
        # The attack: the delegator swaps the granted path for a link to what neither grants.
        done = self.delegate_after([["symlink", [str(self.secret), str(w / "sub")]]], w)
        self.assertNotIn("SECRET", json.dumps(done))
        self.assertIn("is a symbolic link to " + str(self.secret), done.get("error", ""), done)


class PolicyFileAuthority(DaemonTest):
    """Only a run the daemon loaded by name may edit its policy file, and only a user who may
    apply policies may have it edited (approve --scope always, revoke)."""

    def write_policy(self):
        path = self.daemon.policy_dir / "pfa.toml"
        path.write_text(textwrap.dedent("""\
            [agent]
            name = "pfa"
            command = ["/usr/bin/python3", "-c", "import socket,json; s=socket.socket(socket.AF_UNIX); s.connect('/run/agentos/broker.sock'); s.sendall(json.dumps({'jsonrpc':'2.0','id':1,'method':'tools/call','params':{'name':'kv.get','arguments':{'key':'k'}}}).encode()+b'\\\\n'); print(s.makefile().readline(), flush=True)"]
            [filesystem]
            read = ["/usr"]
            exec = ["/usr/bin"]
            [tools]
            ask = ["kv.get"]
            consent_timeout = 30
            """))
        os.chmod(path, 0o644)
        self.daemon.ctl("policy", "apply", check=True)
        return path

    def pending_run(self, args, user=OWNER):
        """Starts the agent (waiting for consent) and returns (the waiting call's id, the run's thread result)."""
        result = {}
        with subprocess.Popen([str(AGENTCTL), "--socket", str(self.daemon.socket), "--json", "pending", "-f"],
                              stdout=subprocess.PIPE, text=True) as follow:
            t = threading.Thread(target=lambda: result.setdefault("r", self.daemon.ctl(*args, user=user)))
            t.start()
            waiting = json.loads(follow.stdout.readline())
            follow.terminate()
        return waiting["id"], t, result

    def test_a_client_named_path_is_not_the_daemons_file(self):
        path = self.write_policy()
        before = path.read_text()
        # The owner runs the admin's file by path: a client policy that merely claims that path.
        call, t, result = self.pending_run(["run", "--policy", str(path)])
        r = self.daemon.ctl("approve", call, "--scope", "always", user=OWNER)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("needs root or the admin group", r.stderr)
        r = self.daemon.ctl("approve", call, "--scope", "always")  # root: still not the daemon's file
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("did not come from the policy directory", r.stderr)
        self.assertEqual(self.daemon.ctl("deny", call).returncode, 0)
        t.join()
        self.assertEqual(path.read_text(), before)

    def test_only_who_may_apply_policies_edits_one(self):
        path = self.write_policy()
        before = path.read_text()
        call, t, result = self.pending_run(["run", "pfa"])  # by name: the daemon's own file
        r = self.daemon.ctl("approve", call, "--scope", "always", user=OWNER)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(path.read_text(), before)
        r = self.daemon.ctl("revoke", "pfa", "kv.get", user=OWNER)
        self.assertIn("needs root or the admin group", r.stdout + r.stderr)
        self.assertEqual(path.read_text(), before)
        # Control: root may, and the grant is written.
        self.assertEqual(self.daemon.ctl("approve", call, "--scope", "always").returncode, 0)
        t.join()
        self.assertIn('allow = ["kv.get"]', path.read_text())


class ApiFromInsideAnAgent(DaemonTest):
    """An agent runs as its owner, with the owner's groups; the API socket must not take it for its
    owner. Here the socket is inside a grant, so the agent can reach it at all."""

    def test_requests_from_an_agent_are_refused(self):
        ctl = self.bin / "agentctl"
        shutil.copy2(AGENTCTL, ctl)
        os.chmod(ctl, 0o755)
        pol = self.policy("api-in", command=[str(ctl), "--socket", str(self.daemon.socket), "ps"],
                          read=[str(self.daemon.root)])
        for user in (USERS[0], USERS[2]):  # an ordinary owner, and a member of the admin group
            with self.subTest(user=user):
                # Control: the same request from the same user outside any agent is answered.
                self.assertEqual(self.daemon.ctl("ps", user=user).returncode, 0)
                r = self.daemon.ctl("run", "--policy", str(pol), user=user)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn("requests from inside an agent are refused", r.stdout + r.stderr)
        refused = [e for e in self.daemon.ctl_json("audit") if "API request from inside the agent" in e["operation"]]
        self.assertTrue(refused)


class HostViewUnixSockets(DaemonTest):
    """In the host's view, without BPF LSM, the Unix socket hooks keep an agent from the host's
    sockets: a service's, the owner's own (as ssh-agent's), the daemon's API. Its own broker
    socket stays reachable."""

    CLIENT = textwrap.dedent("""
        import os, socket, sys
        for kind, path in zip(sys.argv[1::2], sys.argv[2::2]):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM if kind == "dgram" else socket.SOCK_STREAM)
            try:
                if kind == "dgram": s.sendto(b"x", path)
                else: s.connect(path)
                print(kind, path, "ok", flush=True)
            except OSError as e:
                print(kind, path, "denied", e.errno, flush=True)
    """)

    def serve(self, path, kind="stream", user=None, mode=0o666):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM if kind == "dgram" else socket.SOCK_STREAM)
        s.bind(str(path))
        if kind != "dgram":
            s.listen(64)
        if user:
            pw = pwd.getpwnam(user)
            os.chown(path, pw.pw_uid, pw.pw_gid)
        os.chmod(path, mode)
        self.addCleanup(s.close)
        return s

    def test_the_hosts_sockets_are_out_of_reach(self):
        if self.daemon.lsm_available():
            self.skipTest("BPF LSM governs unix sockets here (tested in the VM tier)")
        home = owned_dir(self.tmp / "home-t1", mode=0o700)
        service = self.serve(self.tmp / "service.sock")
        agent_sock = self.serve(home / "ssh-agent.sock", user=OWNER, mode=0o600)
        log_sock = self.serve(self.tmp / "log.sock", kind="dgram")
        work = owned_dir(self.tmp / "work-t1")
        os.symlink(home / "ssh-agent.sock", work / "via-link")
        targets = ["stream", str(self.tmp / "service.sock"), "stream", str(home / "ssh-agent.sock"),
                   "dgram", str(self.tmp / "log.sock"), "stream", str(self.daemon.socket),
                   "stream", str(work / "via-link")]
        # Control: the owner reaches every one of them outside.
        r = subprocess.run(["/usr/bin/python3", "-c", self.CLIENT, *targets], capture_output=True, text=True,
                           user=pwd.getpwnam(OWNER).pw_uid, group=pwd.getpwnam(OWNER).pw_gid, timeout=30)
        self.assertEqual([l.split()[-1] for l in r.stdout.splitlines()], ["ok"] * 5, r.stdout + r.stderr)
        pol = self.policy("hostview-unix", command=["/usr/bin/python3", "-c", self.CLIENT, *targets,
                                                    "stream", "/run/agentos/broker.sock"],
                          write=[str(work)], exec=["/usr/bin"], extra='')
        pol.write_text(pol.read_text().replace("[filesystem]\n", '[filesystem]\nview = "host"\n'))
        r = self.daemon.ctl("run", "--policy", str(pol), user=OWNER)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 6, r.stdout + r.stderr)
        for line in lines[:5]:
            self.assertIn("denied 1", line)  # EPERM, from the hook
        self.assertTrue(lines[5].endswith("ok"), lines[5])  # its own broker
        audited = [e["operation"] for e in self.daemon.ctl_json("audit") if "unix socket" in e["operation"]]
        self.assertTrue(any("ssh-agent.sock" in o for o in audited), audited)
        del service, agent_sock, log_sock


if __name__ == "__main__":
    unittest.main()
