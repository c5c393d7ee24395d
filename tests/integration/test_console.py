"""An agent's console (issue 14): stdout and stderr kept apart, stdin with -i (a pipe's end is the
agent's), signals passed on, the agent stopped when its client goes away; and a terminal of its
own with -t, driven through tmux as a person would: bash with job control, a Python REPL, vim
editing a file, a Node TUI and Claude Code, window size, Ctrl-C, exit status, detach and attach,
and the user's terminal restored."""
import json
import os
import shutil
import signal
import subprocess
import time
import unittest

from harness import AGENTCTL, SOURCE, USERS, DaemonTest
from terminal import Screen, as_user
from test_bounds import protoc

OWNER = USERS[0]
CLIENTS = SOURCE / "tests/clients/node_modules"
SYSTEM = dict(read=["/etc", "/lib", "/lib64", "/bin"], exec=["/usr/bin", "/bin", "/usr/lib", "/lib"])

# A client of the API that runs cat attached with -i, sends it a line (echoed back), then a frame
# header no frame matches and bytes without end; prints "echoed", the bytes it could send, and how
# much the daemon's RSS grew (KiB).
OVERSIZED = """
import socket, struct, sys
sys.path.insert(0, sys.argv[1])
import agentos_pb2 as pb
pol = open(sys.argv[3]).read()
rss = lambda: int(next(l.split()[1] for l in open(f"/proc/{sys.argv[4]}/status") if l.startswith("VmRSS")))
frame = lambda m: struct.pack("<I", len(m.SerializeToString())) + m.SerializeToString()
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sys.argv[2])
s.sendall(frame(pb.Request(run=pb.RunRequest(policy=pb.PolicyFile(path=sys.argv[3], content=pol), attach=True, interactive=True))))
f = s.makefile("rb")
read = lambda: pb.Response.FromString(f.read(struct.unpack("<I", f.read(4))[0]))
assert read().HasField("run")
s.sendall(frame(pb.Request(input=pb.ConsoleInput(data=b"hi\\n"))))
print("echoed" if read().log.data == b"hi\\n" else "not-echoed")
before, sent = rss(), 0
s.sendall(struct.pack("<I", 0xFFFFFFFF))
try:
    while sent < 64 << 20:
        sent += s.send(b"A" * 65536)
except (BrokenPipeError, ConnectionResetError):
    pass
print(sent, rss() - before)
"""

# Waits for one signal, says which, and exits 40+N: the agent saw it as a signal.
CATCH = """
import os, signal, sys
def got(n, _):
    os.write(1, b"got %d\\n" % n)  # not print: the signal may come while print is still returning
    os._exit(40 + n)
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(s, got)
print("ready", flush=True)
signal.pause()
"""


class Streams(DaemonTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pb = cls.tmp / "pb-api"
        protoc(cls.pb, "agentos.proto")

    def popen_run(self, pol, *cmd, detach=False):
        return subprocess.Popen([str(AGENTCTL), "--socket", str(self.daemon.socket), "run", *(["--detach"] if detach else []),
                                 "--policy", str(pol), "--", *cmd], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def state(self, name):
        return [a["state"] for a in self.daemon.ctl_json("ps", "-a") if a["name"] == name]

    def test_stdout_and_stderr_stay_apart(self):
        pol = self.policy("streams", command=["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], **SYSTEM)
        r = self.daemon.ctl("run", "--policy", str(pol), user=OWNER)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (3, "out\n", "err\n"))
        # The log still has both.
        [agent] = [a["id"] for a in self.daemon.ctl_json("ps", "-a") if a["name"] == "streams"]
        self.assertEqual(sorted(self.daemon.ctl("logs", agent).stdout.split()), ["err", "out"])

    def test_piped_stdin_needs_i_and_its_end_ends_the_agents(self):
        pol = self.policy("cat", command=["/bin/cat"], **SYSTEM)
        r = self.daemon.ctl("run", "-i", "--policy", str(pol), user=OWNER, input="hello\nworld\n")
        self.assertEqual((r.returncode, r.stdout), (0, "hello\nworld\n"), r.stderr)
        # More than any buffer on the way holds, in order.
        big = "".join(f"{i:07d}\n" for i in range(400000))  # 3.2 MB
        r = self.daemon.ctl("run", "-i", "--policy", str(pol), "--", "/usr/bin/sha256sum", user=OWNER, input=big)
        want = subprocess.run(["sha256sum"], input=big, capture_output=True, text=True).stdout
        self.assertEqual((r.returncode, r.stdout), (0, want), r.stderr)
        # Without -i, data piped in would be dropped: a usage error instead, and no agent.
        before = len(self.daemon.ctl_json("ps", "-a"))
        r = self.daemon.ctl("run", "--policy", str(pol), user=OWNER, input="dropped\n")
        self.assertEqual(r.returncode, 2)
        self.assertIn("pass -i", r.stderr)
        self.assertEqual(len(self.daemon.ctl_json("ps", "-a")), before)

    def test_signals_reach_the_agent_and_its_status_comes_back(self):
        pol = self.policy("catch", command=["/usr/bin/python3", "-c", CATCH], **SYSTEM)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with self.subTest(sig=sig.name):
                with self.popen_run(pol, "/usr/bin/python3", "-c", CATCH) as p:
                    self.assertEqual(p.stdout.readline(), "ready\n")
                    p.send_signal(sig)
                    out, err = p.communicate(timeout=30)
                self.assertEqual((p.returncode, out), (40 + sig, f"got {int(sig)}\n"), err)

    def test_the_agent_stops_when_its_client_goes_away(self):
        pol = self.policy("orphan", command=["/usr/bin/python3", "-c", CATCH], **SYSTEM)
        with self.popen_run(pol, "/usr/bin/python3", "-c", CATCH) as p:
            self.assertEqual(p.stdout.readline(), "ready\n")
            self.assertEqual(self.state("orphan"), ["running"])
            p.kill()  # no chance to say anything
            p.wait()
        deadline = time.monotonic() + 30
        while self.state("orphan") != ["exited"]:
            self.assertLess(time.monotonic(), deadline, f"agent still {self.state('orphan')}")
            time.sleep(0.05)  # polling the daemon's own account of it
        # Control: a detached agent outlives the client that started it.
        agent = self.daemon.ctl("run", "--detach", "--policy", str(pol), check=True).stdout.strip()
        self.assertEqual(self.first_line(agent), "ready\n")
        self.assertEqual([a["state"] for a in self.daemon.ctl_json("ps", "-a") if a["id"] == agent], ["running"])
        self.daemon.ctl("stop", agent, check=True)

    def test_an_oversized_console_frame_ends_the_connection(self):
        # A frame header no frame can match, then bytes without end: they could never be taken
        # out of the daemon's buffer, so the connection ends (found by a red-team pass: the daemon
        # held every byte sent, 900 MB in 8 s).
        pol = self.policy("oversized", command=["/bin/cat"], **SYSTEM)
        r = subprocess.run(["/usr/bin/python3", "-c", OVERSIZED, str(self.pb), str(self.daemon.socket), str(pol),
                            str(self.daemon.proc.pid)], capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        echo, sent, grew = r.stdout.split()
        self.assertEqual(echo, "echoed")  # control: a well-formed frame reaches the agent, and comes back
        self.assertLess(int(sent), 8 << 20, "the daemon kept reading what follows an oversized frame")
        self.assertLess(int(grew), 16 << 10)  # KiB
        self.assertEqual(self.daemon.ctl("status").returncode, 0)

    def test_the_agent_starts_with_default_signal_dispositions(self):
        # An ignored SIGPIPE inherited from the daemon would keep `yes` writing into a closed pipe.
        pol = self.policy("pipe", command=["/bin/sh", "-c", "yes | head -n 2; grep SigIgn /proc/self/status"], **SYSTEM)
        r = self.daemon.ctl("run", "--policy", str(pol), user=OWNER)
        self.assertEqual((r.returncode, r.stdout), (0, "y\ny\nSigIgn:\t0000000000000000\n"), r.stderr)


class Terminal(DaemonTest):
    def setUp(self):
        self.work = self.tmp / f"work-{self._testMethodName}"
        self.work.mkdir()
        shutil.chown(self.work, OWNER, OWNER)

    def run_line(self, pol, *extra, user=OWNER):
        argv = [str(AGENTCTL), "--socket", str(self.daemon.socket), "run", "-t", *extra, "--policy", str(pol)]
        return as_user(user, argv) if user else " ".join(argv)

    def terminal_policy(self, name, command, **extra):
        return self.policy(name, command=command, write=[str(self.work)], read=SYSTEM["read"], exec=SYSTEM["exec"],
                           extra=f'[agent.env]\nLANG = "C.UTF-8"\n' + extra.get("more", ""))

    def test_bash_with_job_control_size_and_exit_status(self):
        pol = self.terminal_policy("bash", ["/bin/bash", "--norc", "-i"])
        with Screen(f"stty -a > {self.work}/before; {self.run_line(pol)}; rc=$?; stty -a > {self.work}/after; (exit $rc)") as s:
            s.wait_for("bash-5.2$")
            s.type("tty; stty size; echo $TERM")
            s.wait_for("/dev/pts/0")
            s.wait_for("35 120")
            s.resize(100, 30)  # the window follows ours (SIGWINCH)
            s.type("stty size")
            s.wait_for("30 100")
            s.type("sleep 100")
            s.keys("C-c")  # a local terminal's Ctrl-C: the foreground job ends, the shell stays
            s.type("echo after-interrupt")
            s.wait_for("after-interrupt", count=2)
            s.type("sleep 100")
            s.keys("C-z")
            s.wait_for("Stopped")
            s.type("fg")  # back in the foreground, and Ctrl-C ends it
            s.wait_for("sleep 100", count=4)
            s.keys("C-c")
            s.type("jobs; exit 7")
            s.wait_for("EXIT=7")
        before, after = (self.work / "before").read_text(), (self.work / "after").read_text()
        self.assertIn(" icanon ", before.replace("\n", " "))
        self.assertEqual(before.split("\n", 1)[1], after.split("\n", 1)[1])  # the mode restored (the size line aside)

    def test_detach_and_attach(self):
        pol = self.terminal_policy("detach", ["/bin/bash", "--norc", "-i"])
        with Screen(self.run_line(pol)) as s:
            s.wait_for("bash-5.2$")
            s.type("echo one")
            s.keys("C-p", "C-q")
            s.wait_for("detached; agent")
            s.wait_for("EXIT=0")
        [agent] = [a for a in self.daemon.ctl_json("ps") if a["name"] == "detach"]
        self.assertTrue(agent["terminal"])
        with Screen(as_user(OWNER, [str(AGENTCTL), "--socket", str(self.daemon.socket), "attach", agent["id"]])) as s:
            s.wait_for("attached to agent")
            s.type("echo two-$((1+1)); exit 5")
            s.wait_for("two-2")
            s.wait_for("EXIT=5")

    def test_attach_after_the_daemon_restarts(self):
        pol = self.terminal_policy("survives", ["/bin/bash", "--norc", "-i"])
        with Screen(self.run_line(pol)) as s:
            s.wait_for("bash-5.2$")
            s.keys("C-p", "C-q")
            s.wait_for("EXIT=0")
        [agent] = [a for a in self.daemon.ctl_json("ps") if a["name"] == "survives"]
        self.daemon.stop()
        self.daemon.start()  # adopts the agent, and its console through its monitor
        with Screen(as_user(OWNER, [str(AGENTCTL), "--socket", str(self.daemon.socket), "attach", agent["id"]])) as s:
            s.wait_for("attached to agent")
            s.type("echo three-$((1+2)); exit 6")
            s.wait_for("three-3")
            s.wait_for("EXIT=6")

    def test_python_repl(self):
        pol = self.terminal_policy("repl", ["/usr/bin/python3", "-i"])
        with Screen(self.run_line(pol)) as s:
            s.wait_for(">>>")
            s.type("print(6 * 7)")
            s.wait_for("42")
            s.type("import sys; sys.stdout.isatty()")
            s.wait_for("True")
            s.keys("C-d")
            s.wait_for("EXIT=0")

    def test_vim_edits_a_file_in_the_workdir(self):
        (self.work / "notes.txt").write_text("hello\n")
        shutil.chown(self.work / "notes.txt", OWNER, OWNER)
        pol = self.terminal_policy("vim", ["/usr/bin/vim", "-u", "NONE", "-N", str(self.work / "notes.txt")])
        with Screen(self.run_line(pol)) as s:
            s.wait_for("hello")
            s.keys("A", " world", "Escape")
            s.type(":wq")
            s.wait_for("EXIT=0")
        self.assertEqual((self.work / "notes.txt").read_text(), "hello world\n")

    def test_a_node_tui(self):
        app = self.write_script(self.work / "counter.js", NODE_TUI)
        pol = self.terminal_policy("tui", ["/usr/bin/node", str(app)])
        with Screen(self.run_line(pol)) as s:
            s.wait_for("count 0 size 120x35")
            s.keys("+", "+")
            s.wait_for("count 2")
            s.resize(90, 25)
            s.wait_for("size 90x25")
            s.keys("q")
            s.wait_for("EXIT=0")
            self.assertNotIn("count", s.text())  # it left the alternate screen

    def test_claude_code_starts_draws_and_quits(self):
        claude = CLIENTS / ".bin/claude"
        if not claude.exists():
            if os.environ.get("CI") == "true":
                self.fail(f"{claude} is missing: scripts/install-deps.sh installs it")
            self.skipTest(f"{claude} is not installed (scripts/install-deps.sh installs it)")
        home = self.work
        # A user who has been through onboarding and trusts this folder: the prompt comes up.
        (home / ".claude.json").write_text(json.dumps(
            {"hasCompletedOnboarding": True, "theme": "dark", "projects": {str(home): {"hasTrustDialogAccepted": True}}}))
        shutil.chown(home / ".claude.json", OWNER, OWNER)
        pol = self.policy("claude", command=[str(claude)], write=[str(home)], read=SYSTEM["read"],
                          exec=[*SYSTEM["exec"], str(CLIENTS)])
        pol.write_text(pol.read_text().replace("[filesystem]", f'workdir = "{home}"\n[agent.env]\n'
                                               'ANTHROPIC_API_KEY = "sk-ant-test-0000000000"\n'
                                               'DISABLE_AUTOUPDATER = "1"\n[filesystem]', 1))
        with Screen(self.run_line(pol)) as s:
            s.wait_for("Do you want to use this API key", timeout=60)
            s.keys("Up")
            s.keys("Enter")
            s.wait_for("Claude Code v2.1.197", timeout=60)  # its welcome box, the prompt under it
            s.wait_for("for shortcuts", timeout=60)
            s.keys("C-c")
            s.wait_for("again to exit")
            s.keys("C-c")
            s.wait_for("EXIT=0")


# Draws on the alternate screen in raw mode; "+" counts, a resize redraws, "q" quits.
NODE_TUI = r"""
const out = process.stdout;
let count = 0;
const draw = () => out.write(`\x1b[H\x1b[2Jcount ${count} size ${out.columns}x${out.rows}`);
out.write("\x1b[?1049h");
process.stdin.setRawMode(true);
process.stdin.on("data", (d) => {
  for (const c of d.toString()) {
    if (c === "+") count++;
    if (c === "q") { out.write("\x1b[?1049l"); process.exit(0); }
  }
  draw();
});
out.on("resize", draw);
draw();
"""


if __name__ == "__main__":
    unittest.main()
