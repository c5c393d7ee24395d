"""The broker: platform tools over MCP at /run/agentos/broker.sock, used by real agents (small
Python programs in real sandboxes), with grants, consent, quotas, spoofing attempts and bad input."""
import json
import os
import pathlib
import socket
import subprocess
import sys
import textwrap
import threading

from harness import AGENTCTL, USERS, DaemonTest, follow_audit

OWNER = USERS[0]

# An MCP client, run inside agents: each argument is one JSON-RPC request (method and params) to
# send in order; it prints one line per answer. "bridge" as the first argument goes through the
# agentos-mcp stdio bridge instead of the socket.
CLIENT = textwrap.dedent("""
    import json, socket, subprocess, sys
    args = sys.argv[1:]
    if args and args[0] == "bridge":
        p = subprocess.Popen(["/run/agentos/agentos-mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        send, recv = (lambda b: (p.stdin.write(b), p.stdin.flush())), p.stdout.readline
        args = args[1:]
    else:
        s = socket.socket(socket.AF_UNIX)
        s.connect("/run/agentos/broker.sock")
        f = s.makefile("rb")
        send, recv = s.sendall, f.readline
    for i, a in enumerate(args):
        method, params = a.split(" ", 1) if " " in a else (a, "{}")
        send(json.dumps({"jsonrpc": "2.0", "id": i + 1, "method": method, "params": json.loads(params)}).encode() + b"\\n")
        print(recv().decode().strip(), flush=True)
""")


def call(name, **arguments):
    return "tools/call " + json.dumps({"name": name, "arguments": arguments})


class BrokerTest(DaemonTest):
    def agent_policy(self, name, tools="", extra="", write=()):
        return self.policy(name, command=["/usr/bin/true"], write=write, exec=["/usr/bin"], extra=tools + extra)

    def mcp(self, pol, *requests, user=OWNER):
        """Runs the client in an agent; returns its answers as parsed JSON."""
        r = self.daemon.ctl("run", "--policy", str(pol), "--", "/usr/bin/python3", "-c", CLIENT, *requests, user=user)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return [json.loads(line) for line in r.stdout.splitlines()]

    def broker_audit(self, user=OWNER):
        return [e for e in self.daemon.ctl_json("audit", user=user) if e["layer"] == "broker"]


class Tools(BrokerTest):
    TOOLS = '[tools]\nallow = ["kv", "fs.read", "fs.list"]\nask = ["fs.write"]\n'

    def test_mcp_client_lists_and_calls_granted_tools(self):
        pol = self.agent_policy("mcp-basic", self.TOOLS)
        init, listed, stored, got = self.mcp(
            pol, 'initialize {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}',
            "tools/list", call("kv.set", key="k", value="v"), call("kv.get", key="k"))
        self.assertEqual(init["result"]["protocolVersion"], "2025-06-18")
        self.assertEqual(init["result"]["serverInfo"]["name"], "agentos")
        names = sorted(t["name"] for t in listed["result"]["tools"])
        self.assertEqual(names, ["fs.list", "fs.read", "fs.write", "kv.delete", "kv.get", "kv.list", "kv.set"])
        self.assertFalse(stored["result"]["isError"])
        self.assertEqual(got["result"]["structuredContent"], {"found": True, "value": "v"})
        # The memory is the agent's own, across runs.
        (again,) = self.mcp(pol, call("kv.get", key="k"))
        self.assertEqual(again["result"]["structuredContent"]["value"], "v")
        allowed = [e for e in self.broker_audit() if e["decision"] == "allow"]
        self.assertTrue(any(e["operation"].startswith("tool kv.set (arguments ") for e in allowed), allowed)

    def test_the_stdio_bridge_speaks_for_clients_that_start_servers(self):
        pol = self.agent_policy("mcp-bridge", self.TOOLS)
        init, listed = self.mcp(pol, "bridge", 'initialize {"protocolVersion": "2024-11-05"}', "tools/list")
        self.assertEqual(init["result"]["protocolVersion"], "2024-11-05")
        self.assertIn("kv.get", [t["name"] for t in listed["result"]["tools"]])

    def test_ungranted_calls_are_refused_and_audited(self):
        pol = self.agent_policy("mcp-narrow", '[tools]\nallow = ["kv.get"]\n')
        (refused,) = self.mcp(pol, call("kv.set", key="k", value="v"))
        self.assertTrue(refused["result"]["isError"])
        self.assertIn("refused: kv.set is not granted", refused["result"]["content"][0]["text"])
        self.assertTrue(any(e["decision"] == "deny" and "kv.set is not granted" in e["operation"] for e in self.broker_audit()))
        # The control: granted, the same call runs.
        (ok,) = self.mcp(self.agent_policy("mcp-wide", '[tools]\nallow = ["kv"]\n'), call("kv.set", key="k", value="v"))
        self.assertFalse(ok["result"]["isError"])
        # Without [tools] at all, nothing is granted.
        (none,) = self.mcp(self.agent_policy("mcp-none"), call("kv.get", key="k"))
        self.assertTrue(none["result"]["isError"])

    def test_constraints_narrow_arguments(self):
        pol = self.agent_policy("mcp-narrowed", '[tools]\nallow = ["kv"]\n[tools.constraints]\nkv = { key = ["notes/*"] }\n')
        ok, bad = self.mcp(pol, call("kv.set", key="notes/a", value="x"), call("kv.set", key="secrets/a", value="x"))
        self.assertFalse(ok["result"]["isError"])
        self.assertIn("matches none of its patterns", bad["result"]["content"][0]["text"])

    def workspace(self, name, *dirs):
        """The agent's workspace as the fs tools make it, with `dirs` in it (there is no mkdir tool)."""
        import pwd
        uid = pwd.getpwnam(OWNER).pw_uid
        root = self.daemon.state / "workspaces" / str(uid) / name
        for d in ("", *dirs):
            (root / d).mkdir(parents=True, exist_ok=True)
            os.chown(root / d, uid, uid)
        return root

    def test_path_constraints_see_the_path_the_tool_opens(self):
        pol = self.agent_policy("narrow-fs", '[tools]\nallow = ["fs"]\n[tools.constraints]\nfs = { path = ["out/*"] }\n')
        ws = self.workspace("narrow-fs", "out")
        ok, dotdot, dot, listed, absent, read = self.mcp(
            pol, call("fs.write", path="out/ok", content="fine"), call("fs.write", path="out/../x", content="escaped"),
            call("fs.write", path="out/./../y", content="escaped"), call("fs.list"), call("fs.write", content="no path"),
            call("fs.read", path="out/ok"))
        self.assertFalse(ok["result"]["isError"], ok)  # the control
        self.assertEqual(read["result"]["structuredContent"]["content"], "fine")
        self.assertEqual((ws / "out" / "ok").read_text(), "fine")
        for refused in (dotdot, dot, listed, absent):
            self.assertTrue(refused["result"]["isError"], refused)
            self.assertTrue(refused["result"]["content"][0]["text"].startswith("agentos: refused: "), refused)
        self.assertIn("must not hold . or .. segments", dotdot["result"]["content"][0]["text"])
        self.assertIn('argument "path" = "." matches none of its patterns', listed["result"]["content"][0]["text"])
        self.assertIn("must be given", absent["result"]["content"][0]["text"])
        self.assertEqual(sorted(p.name for p in ws.iterdir()), ["out"])  # x and y were never written
        self.assertEqual(sorted(p.name for p in (ws / "out").iterdir()), ["ok"])

    def test_workspace_confines_paths(self):
        pol = self.agent_policy("mcp-fs", '[tools]\nallow = ["fs"]\n')
        wrote, read, escape, absolute = self.mcp(
            pol, call("fs.write", path="notes.txt", content="hello"), call("fs.read", path="notes.txt"),
            call("fs.read", path="../../../../etc/shadow"), call("fs.read", path="/etc/shadow"))
        self.assertFalse(wrote["result"]["isError"])
        self.assertEqual(read["result"]["structuredContent"]["content"], "hello")
        self.assertTrue(escape["result"]["isError"])
        self.assertTrue(absolute["result"]["isError"])

    def test_quotas(self):
        pol = self.agent_policy("mcp-quota", '[tools]\nallow = ["kv"]\ncalls_per_minute = 3\n')
        answers = self.mcp(pol, *[call("kv.get", key="k")] * 5)
        self.assertEqual([("error" in a) for a in answers], [False, False, False, True, True])
        self.assertIn("calls a minute", answers[3]["error"]["message"])
        self.assertTrue(any("over the limit of 3 calls a minute" in e["operation"] for e in self.broker_audit()))


class Consent(BrokerTest):
    """`ask` grants: the call waits until the owner answers with agentctl."""

    def start_asking(self, name, tools, request):
        pol = self.agent_policy(name, tools)
        result = {}
        t = threading.Thread(target=lambda: result.setdefault("answers", self.mcp(pol, request)))
        with subprocess.Popen([str(AGENTCTL), "--socket", str(self.daemon.socket), "--json", "pending", "-f"],
                              stdout=subprocess.PIPE, text=True, user=self.owner_uid()) as follow:
            t.start()
            waiting = json.loads(follow.stdout.readline())  # the call itself says when it waits
            follow.terminate()
        return waiting, t, result

    def owner_uid(self):
        import pwd
        return pwd.getpwnam(OWNER).pw_uid

    def test_approve_once_and_deny(self):
        waiting, t, result = self.start_asking("ask-1", '[tools]\nask = ["kv.set"]\n', call("kv.set", key="a", value="1"))
        self.assertEqual((waiting["tool"], waiting["agent_name"]), ("kv.set", "ask-1"))
        self.assertEqual(waiting["arguments"], {"key": "a", "value": "1"})
        other = self.daemon.ctl("approve", waiting["id"], user=USERS[1])  # another user may not answer
        self.assertEqual(other.returncode, 1)
        self.assertEqual(self.daemon.ctl("approve", waiting["id"], user=OWNER).returncode, 0)
        t.join()
        self.assertFalse(result["answers"][0]["result"]["isError"])
        waiting, t, result = self.start_asking("ask-2", '[tools]\nask = ["kv.set"]\n', call("kv.set", key="b", value="2"))
        self.assertEqual(self.daemon.ctl("deny", waiting["id"], user=OWNER).returncode, 0)
        t.join()
        self.assertIn("refused by the agent's owner", result["answers"][0]["result"]["content"][0]["text"])
        ops = [e["operation"] for e in self.broker_audit()]
        self.assertTrue(any("approved by uid" in o for o in ops), ops)
        self.assertTrue(any("denied by uid" in o for o in ops), ops)

    def shown(self, call_id):
        """`agentctl pending` as the owner reads it: the call's lines, argument name -> line."""
        out = self.daemon.ctl("pending", user=OWNER, check=True).stdout
        head, *rest = out.split(call_id + "  ", 1)[1].split("\n")
        lines = {}
        for line in rest:
            if not line.startswith("  "):
                break
            name, value = line[2:].split(" = ", 1)
            lines[name.strip()] = value
        return head, lines, out

    def test_consent_shows_every_argument_and_runs_exactly_those(self):
        """A short path beside a 100 KiB content: the path whole, the content cut with its size and
        digest; approved, the tool writes exactly what --json held."""
        import hashlib
        content = "A" * (100 * 1024 - 11) + "hidden tail"
        waiting, t, result = self.start_asking("ask-big", '[tools]\nask = ["fs.write"]\n',
                                               call("fs.write", path="report.txt", content=content))
        self.assertEqual(waiting["arguments"], {"path": "report.txt", "content": content})  # --json: whole
        head, lines, out = self.shown(waiting["id"])
        self.assertIn("asks to call fs.write with 2 arguments", head)
        self.assertEqual(lines["path"], '"report.txt"')
        digest = hashlib.sha256(content.encode()).hexdigest()
        self.assertEqual(lines["content"], '"' + "A" * 200 + f'" ... [cut: {len(content)} bytes in all, sha256 {digest}]')
        self.assertNotIn("hidden tail", out)
        self.assertEqual(self.daemon.ctl("approve", waiting["id"], user=OWNER).returncode, 0)
        t.join()
        self.assertFalse(result["answers"][0]["result"]["isError"], result)
        import pwd
        written = self.daemon.state / "workspaces" / str(pwd.getpwnam(OWNER).pw_uid) / "ask-big" / "report.txt"
        self.assertEqual(hashlib.sha256(written.read_bytes()).hexdigest(), digest)

    def test_consent_shows_every_argument_name(self):
        extra = {f"extra{i:02}": f"{i}" * 300 for i in range(48)}
        waiting, t, _ = self.start_asking("ask-many", '[tools]\nask = ["kv.set"]\n',
                                          call("kv.set", key="k", value="v", **extra))
        _, lines, _ = self.shown(waiting["id"])
        self.assertEqual(sorted(lines), sorted(["key", "value", *extra]))
        self.assertEqual(len(waiting["shown"]), 50)
        self.assertEqual(self.daemon.ctl("deny", waiting["id"], user=OWNER).returncode, 0)
        t.join()

    def test_consent_escapes_what_would_hide_or_reorder_text(self):
        key, value = "notes/invoice\u202etxt.exe", "\x1b[2J\x1b[Hall clear\u200b"
        waiting, t, _ = self.start_asking("ask-bidi", '[tools]\nask = ["kv.set"]\n', call("kv.set", key=key, value=value))
        self.assertEqual(waiting["arguments"], {"key": key, "value": value})  # --json: as they are
        _, lines, out = self.shown(waiting["id"])
        self.assertEqual(lines["key"], '"notes/invoice\\u202etxt.exe"')
        self.assertEqual(lines["value"], '"\\u001b[2J\\u001b[Hall clear\\u200b"')
        as_json = self.daemon.ctl("--json", "pending", user=OWNER, check=True).stdout
        self.assertEqual(json.loads(as_json)[0]["arguments"], {"key": key, "value": value})
        for raw in ("\x1b", "\u202e", "\u200b"):
            self.assertNotIn(raw, out)
            self.assertNotIn(raw, as_json)  # --json escapes them too, as JSON does: \u202e
        self.assertEqual(self.daemon.ctl("deny", waiting["id"], user=OWNER).returncode, 0)
        t.join()

    def test_unanswered_calls_are_denied_after_the_timeout(self):
        pol = self.agent_policy("ask-timeout", '[tools]\nask = ["kv.set"]\nconsent_timeout = 1\n')
        (answer,) = self.mcp(pol, call("kv.set", key="c", value="3"))
        self.assertIn("no answer within 1 s", answer["result"]["content"][0]["text"])

    def test_always_is_written_into_the_policy_keeping_its_comments(self):
        path = self.daemon.policy_dir / "ask-always.toml"
        path.write_text(textwrap.dedent(f"""\
            # the user's own words
            [agent]
            name = "ask-always"
            command = ["/usr/bin/python3", "-c", {json.dumps(CLIENT)}, {json.dumps(call("kv.set", key="d", value="4"))}]
            [filesystem]
            read = ["/usr"]
            exec = ["/usr/bin"]
            [tools]
            allow = ["kv.get"]  # reading is fine
            ask = ["kv.set"]    # writing asks
            """))
        os.chmod(path, 0o644)
        self.daemon.ctl("policy", "apply", check=True)
        result = {}
        with subprocess.Popen([str(AGENTCTL), "--socket", str(self.daemon.socket), "--json", "pending", "-f"],
                              stdout=subprocess.PIPE, text=True) as follow:
            t = threading.Thread(target=lambda: result.setdefault("r", self.daemon.ctl("run", "ask-always")))
            t.start()
            waiting = json.loads(follow.stdout.readline())
            follow.terminate()
        self.assertEqual(self.daemon.ctl("approve", waiting["id"], "--scope", "always").returncode, 0)
        t.join()
        self.assertIn('"isError":false', result["r"].stdout)
        text = path.read_text()
        self.assertIn("# the user's own words", text)
        self.assertIn('allow = ["kv.get", "kv.set"]  # reading is fine', text)
        self.assertIn("ask = []    # writing asks", text)
        # Now granted: the next run does not ask.
        r = self.daemon.ctl("run", "ask-always")
        self.assertIn('"isError":false', r.stdout)


class Spoofing(BrokerTest):
    def test_identity_comes_from_the_connection(self):
        # A message field naming another agent changes nothing: the tool acts for the caller.
        a = self.agent_policy("spoof-a", '[tools]\nallow = ["kv"]\n')
        self.mcp(a, call("kv.set", key="mine", value="a"))
        b = self.agent_policy("spoof-b", '[tools]\nallow = ["kv"]\n')
        (got,) = self.mcp(b, "tools/call " + json.dumps({"name": "kv.get", "arguments": {"key": "mine"},
                                                        "agent": "spoof-a", "_meta": {"agent_id": "spoof-a"}}))
        self.assertEqual(got["result"]["structuredContent"], {"found": False})

    def test_only_its_own_broker_and_no_admin_socket(self):
        script = textwrap.dedent(f"""
            import os, socket
            print(sorted(os.listdir("/run/agentos")))
            for path in ("{self.daemon.socket}", "/run/agentos/agentosd.sock"):
                s = socket.socket(socket.AF_UNIX)
                try:
                    s.connect(path)
                    print("reached", path)
                except OSError as e:
                    print("refused", path, e.errno)
        """)
        pol = self.agent_policy("spoof-sockets")
        r = self.daemon.ctl("run", "--policy", str(pol), "--", "/usr/bin/python3", "-c", script, user=OWNER)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "['agentos-mcp', 'broker.sock']")
        self.assertTrue(all(l.startswith("refused") for l in lines[1:]), r.stdout)

    def test_a_connection_passed_outside_the_agent_is_useless(self):
        """The agent hands its broker connection to a process outside it (over a socket it was
        granted); that process's messages are refused and the connection closed."""
        share = self.tmp / "share"
        share.mkdir(exist_ok=True)
        os.chmod(share, 0o777)
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(share / "pass.sock"))
        os.chmod(share / "pass.sock", 0o777)
        listener.listen(1)
        script = textwrap.dedent(f"""
            import array, socket
            b = socket.socket(socket.AF_UNIX)
            b.connect("/run/agentos/broker.sock")
            out = socket.socket(socket.AF_UNIX)
            out.connect("{share}/pass.sock")
            socket.send_fds(out, [b"x"], [b.fileno()])
            out.recv(1)  # until the test is done with it
        """)
        pol = self.agent_policy("spoof-pass", '[tools]\nallow = ["kv"]\n', write=[str(share)])
        t = threading.Thread(target=lambda: self.daemon.ctl("run", "--policy", str(pol), "--", "/usr/bin/python3", "-c",
                                                             script, user=OWNER))
        t.start()
        conn, _ = listener.accept()
        _, fds, _, _ = socket.recv_fds(conn, 1, 1)
        stolen = socket.socket(fileno=fds[0])
        stolen.sendall(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                   "params": {"name": "kv.get", "arguments": {"key": "k"}}}).encode() + b"\n")
        self.assertEqual(stolen.recv(4096), b"")  # closed, unanswered
        conn.close()
        t.join()
        self.assertTrue(any("outside the agent, over its connection" in e["operation"] for e in self.broker_audit()))


class BadInput(BrokerTest):
    def raw(self, pol, script):
        r = self.daemon.ctl("run", "--policy", str(pol), "--", "/usr/bin/python3", "-c", script, user=OWNER)
        return r.stdout

    def test_malformed_oversized_and_unknown(self):
        script = textwrap.dedent("""
            import json, socket
            s = socket.socket(socket.AF_UNIX); s.connect("/run/agentos/broker.sock"); f = s.makefile("rb")
            for line in (b"{not json\\n", b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]\\n',
                         b'{"jsonrpc":"2.0","id":2,"method":"nope"}\\n', b'{"jsonrpc":"2.0","id":3,"method":"ping"}\\n'):
                s.sendall(line)
                print(json.loads(f.readline()).get("error", {}).get("code", "ok"))
            try:
                s.sendall(b"x" * (2 << 20))  # a message larger than the broker takes
            except BrokenPipeError:
                pass  # it stopped reading once it had more than it takes
            print(json.loads(f.readline())["error"]["message"])
            try:
                rest = f.readline()
            except ConnectionResetError:  # closed with our bytes unread: a Unix socket then says so
                rest = b""
            print(repr(rest))  # and the connection is closed
        """)
        out = self.raw(self.agent_policy("bad-input", '[tools]\nallow = ["kv"]\n'), script).splitlines()
        self.assertEqual(out[:4], ["-32700", "-32600", "-32601", "ok"])
        self.assertIn("larger than", out[4])
        self.assertEqual(out[5], "b''")

    def test_a_client_that_never_reads_does_not_stop_the_others(self):
        hog = textwrap.dedent("""
            import json, socket, sys
            s = socket.socket(socket.AF_UNIX); s.connect("/run/agentos/broker.sock")
            req = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode() + b"\\n"
            s.setblocking(False)
            sent = 0
            try:
                for _ in range(200000):
                    sent += s.send(req)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                pass
            print("ready", flush=True)
            sys.stdin.read()
        """)
        hog_pol = self.agent_policy("hog", '[tools]\nallow = ["kv"]\n')
        agent = self.daemon.ctl("run", "--policy", str(hog_pol), "--detach", "--", "/usr/bin/python3", "-c", hog,
                                user=OWNER, check=True).stdout.strip()
        try:
            self.assertEqual(self.first_line(agent), "ready\n")
            (ok,) = self.mcp(self.agent_policy("polite", '[tools]\nallow = ["kv"]\n'), "ping")
            self.assertEqual(ok["result"], {})
        finally:
            self.daemon.ctl("stop", agent, user=OWNER)

    def test_many_agents_at_once_lose_and_duplicate_nothing(self):
        many = textwrap.dedent("""
            import json, socket, sys
            n = int(sys.argv[1])
            s = socket.socket(socket.AF_UNIX); s.connect("/run/agentos/broker.sock"); f = s.makefile("rb")
            for i in range(n):
                s.sendall(json.dumps({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                                      "params": {"name": "kv.get", "arguments": {"key": "k%d" % i}}}).encode() + b"\\n")
            ids = [json.loads(f.readline())["id"] for _ in range(n)]
            print(sorted(ids) == list(range(n)), len(ids))
        """)
        results = {}
        pols = [self.agent_policy(f"many{i}", '[tools]\nallow = ["kv"]\ncalls_per_minute = 100000\n') for i in range(4)]
        def run(i):
            results[i] = self.daemon.ctl("run", "--policy", str(pols[i]), "--", "/usr/bin/python3", "-c", many, "500",
                                         user=OWNER).stdout
        threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual([results[i] for i in range(4)], ["True 500\n"] * 4)

    def test_a_flooding_agent_does_not_starve_another(self):
        """One agent keeps hundreds of calls in flight without pause; another, beside it, makes its
        calls one by one and gets every answer while the flood goes on. The flood's own count of
        answers during that time is the measure of sharing (printed)."""
        flood = textwrap.dedent("""
            import json, socket, sys, threading
            s = socket.socket(socket.AF_UNIX); s.connect("/run/agentos/broker.sock")
            req = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                              "params": {"name": "kv.get", "arguments": {"key": "k"}}}).encode() + b"\\n"
            got = [0]
            stop = threading.Event()
            def reader():
                f = s.makefile("rb")
                while f.readline():
                    got[0] += 1
            threading.Thread(target=reader, daemon=True).start()
            def writer():
                while not stop.is_set():
                    s.sendall(req * 256)
            threading.Thread(target=writer, daemon=True).start()
            while got[0] < 1000:  # flooding for real before it says so
                threading.Event().wait(0.01)
            start = got[0]
            def report(*_):
                print("flood answers since it began:", got[0] - start, flush=True)
                sys.exit(0)
            import signal
            signal.signal(signal.SIGTERM, report)
            print("flooding", flush=True)
            while True:
                signal.pause()
        """)
        pol = self.agent_policy("flooder", '[tools]\nallow = ["kv"]\ncalls_per_minute = 1000000000\nconcurrent = 1024\n')
        agent = self.daemon.ctl("run", "--policy", str(pol), "--detach", "--", "/usr/bin/python3", "-c", flood,
                                user=OWNER, check=True).stdout.strip()
        try:
            self.assertEqual(self.first_line(agent), "flooding\n")
            polite = self.agent_policy("beside-flood", '[tools]\nallow = ["kv"]\n')
            answers = self.mcp(polite, *[call("kv.get", key=f"p{i}") for i in range(20)])
            self.assertEqual([a["id"] for a in answers], list(range(1, 21)))
            self.assertTrue(all(a["result"]["structuredContent"] == {"found": False} for a in answers), answers[:2])
            states = [a["state"] for a in self.daemon.ctl_json("ps", user=OWNER) if a["id"] == agent]
            self.assertEqual(states, ["running"])  # the flood was still on when the last answer came
        finally:
            self.daemon.ctl("stop", agent, user=OWNER)
        log = self.daemon.ctl("logs", "--follow", agent, user=OWNER).stdout  # ends once the agent exited
        measure = [l for l in log.splitlines() if l.startswith("flood answers")]
        print(f"\nfairness: 20 calls beside a flood; {measure}", file=sys.stderr)


if __name__ == "__main__":
    import unittest
    unittest.main()


# A general agent for the delegation tests: its task (AGENTOS_TASK, else its argument) is a JSON
# list of steps: ["write", PATH] tries to write a file; [METHOD, PARAMS] is an MCP request. It
# prints one line per step.
DELEGATE_AGENT = textwrap.dedent("""
    import json, os, socket, sys
    task = json.loads(os.environ.get("AGENTOS_TASK") or sys.argv[1])
    s = socket.socket(socket.AF_UNIX); s.connect("/run/agentos/broker.sock"); f = s.makefile("rb")
    for i, (what, arg) in enumerate(task):
        if what == "hang":  # a delegate that never finishes on its own
            import signal; signal.pause()
        if what == "write":
            try:
                open(arg, "w").write("x"); print("write ok", flush=True)
            except OSError as e:
                print("write denied", e.errno, flush=True)
            continue
        s.sendall(json.dumps({"jsonrpc": "2.0", "id": i, "method": what, "params": arg}).encode() + b"\\n")
        print(f.readline().decode().strip(), flush=True)
""")


class Delegation(BrokerTest):
    """A -> B -> C through the broker: each delegate runs under its own policy narrowed to its
    delegator's, cycles and chains too deep are refused, and the chain shares one trace."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.script = cls.write_script(cls.tmp / "agent.py", DELEGATE_AGENT)
        cls.shared = cls.tmp / "shared"
        cls.shared.mkdir()
        os.chmod(cls.shared, 0o777)

    def install(self, name, tools, delegate, write=(), depth=4, deadline=600):
        path = self.daemon.policy_dir / f"{name}.toml"
        path.write_text(textwrap.dedent(f"""\
            [agent]
            name = "{name}"
            command = ["/usr/bin/python3", "{self.script}"]
            [filesystem]
            read = ["/usr", "{self.tmp}"]
            write = {json.dumps(list(write))}
            exec = ["/usr/bin"]
            [tools]
            allow = {json.dumps(tools)}
            [delegate]
            allow = {json.dumps(delegate)}
            max_depth = {depth}
            deadline = {deadline}
            """))
        os.chmod(path, 0o644)

    def start(self, name, task):
        self.daemon.ctl("policy", "apply", check=True)
        r = self.daemon.ctl("run", name, "--", "/usr/bin/python3", str(self.script), json.dumps(task), user=OWNER)
        return [json.loads(l) if l.startswith("{") else l for l in r.stdout.splitlines()]

    @staticmethod
    def delegate(agent, task):
        return ["tools/call", {"name": "agent.delegate", "arguments": {"agent": agent, "task": json.dumps(task)}}]

    def test_a_chain_narrows_at_each_step(self):
        target = str(self.shared / "by-c")
        c_task = [["write", target], ["tools/call", {"name": "fs.write", "arguments": {"path": "n", "content": "x"}}],
                  ["tools/call", {"name": "kv.get", "arguments": {"key": "k"}}]]
        self.install("dl-a", ["agent.delegate", "kv"], ["dl-b"])
        self.install("dl-b", ["agent.delegate", "kv", "fs"], ["dl-c"], write=[str(self.shared)])
        self.install("dl-c", ["kv", "fs"], [], write=[str(self.shared)])
        # The control: C on its own writes there and may use fs.write.
        alone = self.start("dl-c", c_task)
        self.assertEqual(alone[0], "write ok")
        self.assertFalse(alone[1]["result"]["isError"])
        os.unlink(target)
        (answer,) = self.start("dl-a", [self.delegate("dl-b", [self.delegate("dl-c", c_task)])])
        b = answer["result"]["structuredContent"]
        self.assertEqual(b["exit_code"], 0, b)
        (b_answer,) = [json.loads(l) for l in b["output"].splitlines()]
        c = b_answer["result"]["structuredContent"]
        c_lines = c["output"].splitlines()
        self.assertTrue(c_lines[0].startswith("write denied"), c_lines)  # A writes nowhere: neither does C
        self.assertIn("fs.write is not granted", json.loads(c_lines[1])["result"]["content"][0]["text"])
        self.assertFalse(json.loads(c_lines[2])["result"]["isError"])  # kv: all three grant it
        self.assertFalse(os.path.exists(target))
        self.assertEqual(b["trace"], c["trace"])
        traces = {e["trace"] for e in self.daemon.ctl_json("audit") if e["agent_name"] in ("dl-a", "dl-b", "dl-c")
                  and e["layer"] == "broker" and "agent.delegate" in e["operation"]}
        self.assertEqual(traces, {b["trace"]})

    def test_cycles_and_depth_are_refused(self):
        self.install("cy-a", ["agent.delegate"], ["cy-b"])
        self.install("cy-b", ["agent.delegate"], ["cy-a", "cy-c"], depth=2)
        self.install("cy-c", ["agent.delegate"], ["cy-a"])
        (answer,) = self.start("cy-a", [self.delegate("cy-b", [self.delegate("cy-a", [])])])
        (inner,) = [json.loads(l) for l in answer["result"]["structuredContent"]["output"].splitlines()]
        self.assertIn("would close a cycle: cy-a -> cy-b -> cy-a", inner["result"]["content"][0]["text"])
        (answer,) = self.start("cy-a", [self.delegate("cy-b", [self.delegate("cy-c", [])])])
        (inner,) = [json.loads(l) for l in answer["result"]["structuredContent"]["output"].splitlines()]
        self.assertIn("already 2 deep", inner["result"]["content"][0]["text"])
        # Not in [delegate] allow at all.
        (refused,) = self.start("cy-c", [self.delegate("cy-b", [])])
        self.assertIn("may not delegate to \"cy-b\"", refused["result"]["structuredContent"]["error"])

    def test_a_delegate_past_its_deadline_is_stopped(self):
        self.install("dd-a", ["agent.delegate"], ["dd-b"], deadline=1)
        self.install("dd-b", [], [])
        (answer,) = self.start("dd-a", [self.delegate("dd-b", [["hang", None]])])
        self.assertIn("did not finish before the deadline", answer["result"]["structuredContent"]["error"])
        stopped = [a for a in self.daemon.ctl_json("ps", "--all", user=OWNER) if a["name"] == "dd-b"]
        self.assertEqual([a["state"] for a in stopped], ["exited"])


# Refused connects on the host's network (each a kernel denial) and refused tool calls, then one
# granted call; it prints how many were refused and whether the granted call ran.
FLOOD_THEN_CALL = textwrap.dedent("""
    import json, socket, sys
    port, connects, calls = (int(a) for a in sys.argv[1:])
    refused = 0
    for _ in range(connects):
        with socket.socket() as c:
            try:
                c.connect(("127.0.0.1", port))
            except PermissionError:
                refused += 1
    s = socket.socket(socket.AF_UNIX); s.connect("/run/agentos/broker.sock"); f = s.makefile("rb")
    def call(i, name, **arguments):
        s.sendall(json.dumps({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                              "params": {"name": name, "arguments": arguments}}).encode() + b"\\n")
        return json.loads(f.readline())
    denied = sum(call(i, "kv.set", key="k", value="v")["result"]["isError"] for i in range(calls))
    granted = call(calls, "kv.get", key="k")
    print(refused, denied, not granted["result"]["isError"], flush=True)
""")


class AuditUnderFlood(BrokerTest):
    """A daemon of its own, so that what the kernel's ring buffer loses (counted without an agent)
    is this flood's. An agent that floods refusals cannot hide its granted call in a count."""

    def flood_then_call(self, name, connects, calls):
        with socket.socket() as s:  # a port nothing listens on; the policy grants no connect
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        pol = self.agent_policy(name, '[tools]\nallow = ["kv.get"]\n', extra='[network]\nnamespace = "host"\n')
        r = self.daemon.ctl("run", "--policy", str(pol), "--", "/usr/bin/python3", "-c", FLOOD_THEN_CALL,
                            str(port), str(connects), str(calls), user=OWNER)
        self.assertEqual(r.stdout, f"{connects} {calls} True\n", r.stderr)
        seen = {"allowed": 0, "cgroup-bpf": 0, "broker": 0, "repeats": 0}
        def count(e):
            repeats = e.get("repeats", 0)
            if e["agent_name"] == name and e["decision"] == "allow" and e["operation"].startswith("tool kv.get "):
                seen["allowed"] += 1
            elif e["agent_name"] == name and e["decision"] == "deny" and e["layer"] in ("cgroup-bpf", "broker"):
                seen[e["layer"]] += repeats or 1
                seen["repeats"] += repeats
            elif e["decision"] == "dropped" and e["layer"] == "cgroup-bpf":
                seen["cgroup-bpf"] += e["dropped"]  # lost in the kernel's ring buffer
            return seen["allowed"] and seen["cgroup-bpf"] >= connects and seen["broker"] >= calls
        follow_audit(self.daemon, count, seen=seen)
        return seen

    def test_the_granted_call_is_recorded_one_by_one_and_the_refusals_counted(self):
        connects, calls = 3000, 300
        seen = self.flood_then_call("flooder", connects, calls)
        self.assertEqual(seen["allowed"], 1)
        self.assertEqual((seen["cgroup-bpf"], seen["broker"]), (connects, calls))
        self.assertGreater(seen["repeats"], 0)  # aggregated, not written one by one

    def test_positive_control_the_granted_call_without_a_flood(self):
        seen = self.flood_then_call("quiet", 0, 0)
        self.assertEqual(seen["allowed"], 1)
