"""Bounds on what an agent or a local user can make the daemon hold (issue 13): JSON nesting,
broker connections, bytes buffered and partial messages per agent, API connections per uid, and
the daemon out of descriptors. Each attack is made as an attacker makes it, from inside a real
agent or as an unprivileged user on the API socket; each refusal has its controls: the same
work within the bound is served, and so are another agent and other users, meanwhile."""
import grp
import json
import os
import pwd
import resource
import socket
import subprocess
import sys
import textwrap
import time

from harness import AGENTCTL, SOURCE, USERS, follow_audit, follow_until
from test_broker import OWNER, BrokerTest, call

ADMIN = USERS[2]


def vm_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def protoc(out, name):
    """Python classes of one of our .proto files, where agents and test users can import them."""
    out.mkdir(exist_ok=True)
    subprocess.run(["protoc", f"-I{SOURCE / 'proto'}", f"--python_out={out}", name], check=True)
    os.chmod(out, 0o755)
    for f in out.iterdir():
        os.chmod(f, 0o644)


def as_user(user):
    pw = pwd.getpwnam(user)
    return dict(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[g.gr_gid for g in grp.getgrall() if user in g.gr_mem])


class Bounds(BrokerTest):
    def start_agent(self, name, script, *args, tools="", read=(), write=()):
        """Runs an agent detached; returns its id and its first line, once printed."""
        pol = self.policy(name, command=["/usr/bin/true"], read=read, write=write, exec=["/usr/bin"], extra=tools)
        agent = self.daemon.ctl("run", "--policy", str(pol), "--detach", "--", "/usr/bin/python3", "-c", script, *args,
                                user=OWNER, check=True).stdout.strip()
        self.addCleanup(self.daemon.ctl, "stop", agent)
        return agent, self.first_line(agent)

    def run_agent(self, name, script, *args, read=()):
        pol = self.policy(name, command=["/usr/bin/true"], read=read, exec=["/usr/bin"])
        r = self.daemon.ctl("run", "--policy", str(pol), "--", "/usr/bin/python3", "-c", script, *args, user=OWNER)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout.splitlines()

    def assert_served(self, bystander):
        """The control: the daemon lives, answers the API, and serves another agent, promptly."""
        self.assertIsNone(self.daemon.proc.poll(), "agentosd died")
        started = time.monotonic()
        self.assertEqual(self.daemon.ctl("status").returncode, 0)
        (ok,) = self.mcp(self.agent_policy(bystander, '[tools]\nallow = ["kv"]\n'), call("kv.get", key="k"))
        self.assertEqual(ok["result"]["structuredContent"], {"found": False})
        self.assertLess(time.monotonic() - started, 20, "the others were served, but slowly")

    def assert_logged_once(self, agent_name, text):
        """In the daemon's log and in the audit trail, once, however often the agent hit it."""
        lines = [l for l in self.daemon.log.read_text(errors="replace").splitlines()
                 if f"agent {agent_name}: " in l and text in l]
        self.assertEqual(len(lines), 1, lines)
        events = [e for e in self.broker_audit() if e["agent_name"] == agent_name and text in e["operation"]]
        self.assertEqual(len(events), 1, events)

    def assert_rss_bounded(self, before_kb, what):
        after_kb = vm_rss_kb(self.daemon.proc.pid)
        print(f"\n{what}: agentosd VmRSS {before_kb} kB before, {after_kb} kB after", file=sys.stderr)
        # Under the sanitizer pass, ASan keeps up to 256 MiB of freed memory in its quarantine.
        bound_mb = 64 + (256 if os.environ.get("AGENTOS_SANITIZED") else 0)
        self.assertLess(after_kb - before_kb, bound_mb << 10)


# Each line: a call whose arguments nest `depth` arrays deep (with the envelope, depth + 3 levels).
DEEP_MCP = textwrap.dedent("""
    import socket
    s = socket.socket(socket.AF_UNIX); s.connect("/run/agentos/broker.sock"); f = s.makefile("rb")
    def ask(line):
        s.sendall(line.encode() + b"\\n")
        print(f.readline().decode().strip(), flush=True)
    def call(i, depth):
        return ('{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"kv.get","arguments":{"key":"k","a":' % i
                + "[" * depth + "]" * depth + "}}}")
    ask(call(1, 100000))  # 200 KB, under the 1 MiB line limit
    ask(call(2, 100000))
    ask(call(3, 62))  # 65 levels in all: one too many
    ask(call(4, 61))  # 64: within the bound
    ask('{"jsonrpc":"2.0","id":5,"method":"ping"}')
""")

# The same through broker.proto: arguments_json inside a frame.
DEEP_PROTO = textwrap.dedent("""
    import socket, struct, sys
    sys.path.insert(0, sys.argv[1])
    import broker_pb2 as pb
    s = socket.socket(socket.AF_UNIX); s.connect("/run/agentos/broker.sock"); f = s.makefile("rb")
    s.sendall(b"agentos-broker-protobuf/1\\n")
    def ask(**kind):
        payload = pb.BrokerRequest(**kind).SerializeToString()
        s.sendall(struct.pack("<I", len(payload)) + payload)
        n, = struct.unpack("<I", f.read(4))
        r = pb.BrokerResponse.FromString(f.read(n))
        print(r.id, r.WhichOneof("kind"), r.error.code, r.error.message, flush=True)
    def args(depth):
        return '{"key":"k","a":' + "[" * depth + "]" * depth + "}"
    ask(id=1, call_tool=pb.CallTool(tool="kv.get", arguments_json=args(100000)))
    ask(id=2, call_tool=pb.CallTool(tool="kv.get", arguments_json=args(100000)))
    ask(id=3, call_tool=pb.CallTool(tool="kv.get", arguments_json=args(62)))  # 63 levels: one too many
    ask(id=4, call_tool=pb.CallTool(tool="kv.get", arguments_json=args(61)))
    ask(id=5, list_tools=pb.ListTools())
""")


class DeepJson(Bounds):
    """One line of 100,000 nested brackets crashed the daemon (its stack), from an agent without
    any [tools] grant."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pb = cls.tmp / "pb"
        protoc(cls.pb, "broker.proto")

    def test_a_deep_line(self):
        rss = vm_rss_kb(self.daemon.proc.pid)
        deep, again, over, within, ping = [json.loads(l) for l in self.run_agent("deep-line", DEEP_MCP)]
        for refused in (deep, again, over):
            self.assertEqual(refused["error"]["code"], -32600, refused)
            self.assertEqual(refused["error"]["message"], "JSON nested deeper than 64 levels")
        # Within the bound the call is read, and meets the grants (there are none).
        self.assertIn("kv.get is not granted", within["result"]["content"][0]["text"])
        self.assertEqual(ping["result"], {})  # the connection kept working
        self.assert_served("after-deep-line")
        self.assert_rss_bounded(rss, "a 100,000-deep line")
        self.assert_logged_once("deep-line", "JSON nested deeper than 64 levels")

    def test_deep_arguments_in_a_frame(self):
        rss = vm_rss_kb(self.daemon.proc.pid)
        lines = self.run_agent("deep-frame", DEEP_PROTO, str(self.pb), read=[str(self.pb)])
        # The call these become puts the arguments two levels down: they may nest 62.
        self.assertEqual(lines[:3], [f"{i} error -32600 arguments_json: JSON nested deeper than 62 levels" for i in (1, 2, 3)])
        self.assertEqual(lines[3].split()[:3], ["4", "result", "0"])  # read, and refused by the grants
        self.assertEqual(lines[4].split()[:2], ["5", "tools"])
        self.assert_served("after-deep-frame")
        self.assert_rss_bounded(rss, "100,000-deep arguments_json")
        self.assert_logged_once("deep-frame", "JSON nested deeper than 62 levels")


# The start of the attackers' scripts: all the descriptors their hard limit allows, and a way
# to the broker.
PRELUDE = textwrap.dedent("""
    import resource, signal, socket, struct, sys, time
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    def broker(timeout=30):
        s = socket.socket(socket.AF_UNIX); s.settimeout(timeout); s.connect("/run/agentos/broker.sock")
        return s
""")

# Opens connections one after another, each pinged, until argv[1] were tried, and keeps those
# served; meanwhile a first connection makes refused calls without pause, past the audit
# trail's rate, to hide what the flood does.
FLOOD = PRELUDE + textwrap.dedent("""
    import threading
    denier, flooding = broker(), threading.Event()
    flooding.set()
    def deny():
        f = denier.makefile("rb")
        while flooding.is_set():
            denier.sendall(b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"kv.get","arguments":{}}}\\n')
            f.readline()
    threading.Thread(target=deny).start()
    ping = b'{"jsonrpc":"2.0","id":1,"method":"ping"}\\n'
    held, refused = [denier], 0
    for _ in range(int(sys.argv[1])):
        s = broker()
        try:
            s.sendall(ping)
            served = s.recv(4096) != b""
        except (BrokenPipeError, ConnectionResetError):  # closed with our ping unread
            served = False
        if served:
            held.append(s)
        else:
            refused += 1
            s.close()
    flooding.clear()
    s = held[-1]
    s.sendall(ping)
    print(len(held), refused, s.recv(4096) != b"", flush=True)
    signal.pause()
""")

# Sends a message of almost 1 MiB without its newline on each of argv[1] connections, and holds them.
PARTIAL = PRELUDE + textwrap.dedent("""
    part = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"' + b"x" * ((1 << 20) - 100)
    held, whole = [], 0
    for _ in range(int(sys.argv[1])):
        s = broker(timeout=60)
        try:
            s.sendall(part)
            whole += 1
        except (BrokenPipeError, ConnectionResetError):  # the daemon closed it
            pass
        held.append(s)
    print("sent", whole, flush=True)
    signal.pause()
""")


class ConnectionsAndBuffers(Bounds):
    def test_an_agent_opening_connections_until_refused(self):
        _, line = self.start_agent("conn-flood", FLOOD, "2000")
        held, refused, still_served = line.split()
        self.assertEqual((held, refused), ("64", "1937"))  # --broker-connections, the denier's included
        self.assertEqual(still_served, "True")  # the connections it holds work
        self.assert_served("beside-conn-flood")
        # Its refused calls are a flood the audit trail counts rather than records one by one (their
        # repeats, once the window closes), and the limit is recorded in full all the same.
        follow_audit(self.daemon, lambda e: e["agent_name"] == "conn-flood" and e.get("repeats", 0) > 0)
        self.assert_logged_once("conn-flood", "broker connections")

    def test_partial_messages_on_many_connections(self):
        rss = vm_rss_kb(self.daemon.proc.pid)
        _, line = self.start_agent("partial-flood", PARTIAL, "1500")
        self.assert_rss_bounded(rss, "1,500 connections of partial 1 MiB messages")
        # The daemon took 8 MiB (--broker-buffer) of it: eight messages of 1,048,532 bytes
        # whole, then it closed each connection that went past.
        self.assertEqual(line, "sent 8\n")
        self.assert_served("beside-partial-flood")
        self.assert_logged_once("partial-flood", "bytes buffered")


# An idle connection, then two that send part of a message and wait; then the idle one pings.
IDLE = PRELUDE + textwrap.dedent("""
    idle = broker()
    for _ in range(2):
        partial = broker()
        partial.sendall(b'{"jsonrpc":"2.0","id":1,"meth')
        started = time.monotonic()
        try:
            closed = partial.recv(4096) == b""
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            closed = False
        print("closed" if closed else "open", round(time.monotonic() - started, 1), flush=True)
    idle.sendall(b'{"jsonrpc":"2.0","id":2,"method":"ping"}\\n')
    print(idle.makefile("rb").readline().decode().strip(), flush=True)
""")


class PartialTimeout(Bounds):
    DAEMON_ARGS = ("--broker-partial-timeout", "2")

    def test_a_partial_message_is_closed_after_the_timeout(self):
        first, second, ping = self.run_agent("half-sent", IDLE)
        for line in (first, second):
            state, seconds = line.split()
            self.assertEqual(state, "closed")
            self.assertTrue(2 <= float(seconds) < 5, line)  # checked once a second
        # The control: the connection that sent nothing was open longer, and is served.
        self.assertEqual(ping, '{"id":2,"jsonrpc":"2.0","result":{}}')
        self.assert_logged_once("half-sent", "part of a message")


# Holds argv[3] API connections to argv[2], each following pending calls; prints how many it
# holds and how many were refused, with the reasons, then holds them until its stdin closes.
HOLD_API = PRELUDE + textwrap.dedent("""
    sys.path.insert(0, sys.argv[1])
    import agentos_pb2 as pb
    request = pb.Request(pending=pb.PendingRequest(follow=True)).SerializeToString()
    held, refused, reasons = [], 0, set()
    for _ in range(int(sys.argv[3])):
        s = socket.socket(socket.AF_UNIX); s.settimeout(30); s.connect(sys.argv[2])
        try:
            s.sendall(struct.pack("<I", len(request)) + request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before it read the request: the refusal is still there to read
        f = s.makefile("rb")
        n, = struct.unpack("<I", f.read(4))
        r = pb.Response.FromString(f.read(n))
        if r.HasField("error"):
            refused += 1
            reasons.add(r.error.message)
            s.close()
        else:
            held.append((s, f))
    print(len(held), refused, flush=True)
    for r in sorted(reasons):
        print(r, flush=True)
    sys.stdin.read()
""")


class ApiLockout(Bounds):
    """Any local user held 1,024 API connections (`agentctl pending -f`, `audit -f`) and root
    was told "too many connections"."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pb = cls.tmp / "pb-api"
        protoc(cls.pb, "agentos.proto")

    def hold(self, user, count):
        p = subprocess.Popen(["/usr/bin/python3", "-c", HOLD_API, str(self.pb), str(self.daemon.socket), str(count)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, **as_user(user))
        self.addCleanup(p.wait, 30)
        self.addCleanup(p.stdin.close)
        held, refused = map(int, p.stdout.readline().split())
        reasons = [p.stdout.readline().strip() for _ in range(1 if refused else 0)]
        return held, refused, reasons

    def status(self, user=None):
        return self.daemon.ctl("status", user=user)


class ApiPerUid(ApiLockout):
    def test_one_user_cannot_lock_out_root(self):
        attacker = USERS[0]
        held, refused, reasons = self.hold(attacker, 1100)
        self.assertEqual((held, refused), (64, 1036))  # --api-connections-per-uid
        uid = pwd.getpwnam(attacker).pw_uid
        self.assertEqual(reasons, [f"too many connections: uid {uid} holds 64, its limit (--api-connections-per-uid)"])
        for user in (None, ADMIN, USERS[1]):  # root, an admin, and another user
            with self.subTest(user=user or "root"):
                r = self.status(user)
                self.assertEqual(r.returncode, 0, r.stderr)
        log = [l for l in self.daemon.log.read_text(errors="replace").splitlines() if f"uid {uid} holds 64" in l]
        self.assertEqual(len(log), 1, log)


class ApiReserve(ApiLockout):
    DAEMON_ARGS = ("--api-connections", "24", "--api-connections-per-uid", "8", "--api-admin-reserve", "8")

    def test_the_last_connections_are_kept_for_root_and_admins(self):
        self.assertEqual(self.hold(USERS[0], 10)[:2], (8, 2))
        self.assertEqual(self.hold(USERS[1], 10)[:2], (8, 2))
        # 16 held: the other 8 of 24 are root's and the admin group's.
        r = self.status("nobody")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("the last 8 of 24 are kept for root and the admin group", r.stderr)
        for user in (None, ADMIN):
            with self.subTest(user=user or "root"):
                r = self.status(user)
                self.assertEqual(r.returncode, 0, r.stderr)


# Waits for the test's word on its socket (argv[2]), opens connections until the daemon stops
# taking them (a connect waits up to 5 s in a full backlog), says how many, and holds them until
# the test hangs up. (Its output would reach the test through the daemon, which is the one
# short of descriptors.)
EXHAUST = PRELUDE + textwrap.dedent("""
    control = socket.socket(socket.AF_UNIX); control.connect(sys.argv[2]); control.recv(1)
    held = []
    for _ in range(min(int(sys.argv[1]), hard - 16)):
        s = socket.socket(socket.AF_UNIX)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 5, 0))  # how long connect waits
        try:
            s.connect("/run/agentos/broker.sock")
        except BlockingIOError:
            s.close()
            break
        held.append(s)
    control.sendall(b"holding %d\\n" % len(held))
    control.recv(1)
""")


class OutOfDescriptors(Bounds):
    """The daemon at its descriptor limit spun on the readable listener and stopped answering."""

    DAEMON_ARGS = ("--broker-connections", "100000")  # so that one agent reaches the limit

    def test_listeners_pause_instead_of_spinning(self):
        share = self.tmp / "control"
        share.mkdir()
        os.chmod(share, 0o777)
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(share / "control.sock"))
        os.chmod(share / "control.sock", 0o777)
        listener.listen(1)
        listener.settimeout(60)
        pol = self.policy("fd-hog", command=["/usr/bin/true"], write=[str(share)], exec=["/usr/bin"])
        agent = self.daemon.ctl("run", "--policy", str(pol), "--detach", "--", "/usr/bin/python3", "-c", EXHAUST, "2000",
                                str(share / "control.sock"), user=OWNER, check=True).stdout.strip()
        self.addCleanup(self.daemon.ctl, "stop", agent)
        control, _ = listener.accept()
        self.addCleanup(control.close)
        control.settimeout(60)

        # The daemon's limit, 64 descriptors above what it holds now (its soft limit: agents keep
        # theirs), and the agent takes them.
        pid = self.daemon.proc.pid
        limits = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        self.addCleanup(resource.prlimit, pid, resource.RLIMIT_NOFILE, limits)
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (len(os.listdir(f"/proc/{pid}/fd")) + 64, limits[1]))
        control.sendall(b"g")
        held = control.makefile("rb").readline()
        self.assertTrue(held.startswith(b"holding "), held)
        follow_until(self.daemon.log, "listeners paused", proc=self.daemon.proc)
        waiting = subprocess.Popen([str(AGENTCTL), "--socket", str(self.daemon.socket), "status"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        before = cpu_seconds(pid)
        time.sleep(2)  # a window to measure the daemon's CPU over, not a wait for anything
        spent = cpu_seconds(pid) - before
        print(f"\nagentosd out of descriptors ({held.decode().strip()}): {spent:.2f} s of CPU in 2 s", file=sys.stderr)
        self.assertLess(spent, 0.5, "the daemon spun")

        control.close()  # the agent lets go of its connections
        self.assertEqual(waiting.wait(timeout=30), 0, waiting.stderr.read())  # it waited in the backlog
        self.assert_served("after-fd-hog")
        self.assertEqual(self.daemon.log.read_text(errors="replace").count("listeners paused"), 1)


if __name__ == "__main__":
    import unittest
    unittest.main()
