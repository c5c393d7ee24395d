"""Test harness: a real agentosd on temporary directories, driven through the real agentctl.

Readiness is the daemon's own sd_notify READY=1, received on a NOTIFY_SOCKET we own.
"""
import json
import os
import pathlib
import pwd
import grp
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

BUILD = pathlib.Path(os.environ.get("AGENTOS_BUILD", pathlib.Path(__file__).resolve().parents[2] / "build"))
AGENTOSD = BUILD / "daemon/server/agentosd"
AGENTCTL = BUILD / "agentctl/agentctl"
# The probe runs inside sandboxes; a sanitizer build of it would report its own ptrace refusals.
PROBE_SRC = pathlib.Path(os.environ.get("AGENTOS_PROBE", BUILD / "tests/cases/agentos-probe"))
SOURCE = pathlib.Path(__file__).resolve().parents[2]

ADMIN_GROUP = "agentos-test-admin"
USERS = ("agentos-t1", "agentos-t2", "agentos-t3")  # t3 is in the admin group


def follow_until(path, text, count=1, proc=None, timeout=30):
    """Follows a log as it is written (tail -F, which waits on inotify) until `text` has appeared
    `count` times: the writer's own readiness signal. Fails if `proc` exits first or the time is
    up; the one-second wakeups only notice such an exit."""
    deadline = time.monotonic() + timeout
    seen, partial = 0, b""
    with subprocess.Popen(["tail", "-n", "+1", "-F", str(path)], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL) as tail:
        try:
            while seen < count:
                left = deadline - time.monotonic()
                if left <= 0 or (proc is not None and proc.poll() is not None):
                    raise RuntimeError(f"{path}: {text!r} seen {seen} of {count} times "
                                       f"({'its writer exited' if left > 0 else f'{timeout} s passed'})")
                if select.select([tail.stdout], [], [], min(left, 1))[0]:
                    *lines, partial = (partial + os.read(tail.stdout.fileno(), 65536)).split(b"\n")
                    seen += sum(text.encode() in line for line in lines)
        finally:
            tail.kill()


def follow_audit(daemon, until, timeout=60, seen=None):
    """Follows the audit trail (agentctl --json audit -f, as root) and feeds each event to
    `until` until it returns true: the events themselves are the signal. Fails when the time is up,
    saying what `until` has `seen`; the one-second wakeups only notice that."""
    deadline = time.monotonic() + timeout
    partial = b""
    with subprocess.Popen([str(AGENTCTL), "--socket", str(daemon.socket), "--json", "audit", "-f"],
                          stdout=subprocess.PIPE) as follow:
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the audit trail did not show what was awaited within {timeout} s: {seen}")
                if not select.select([follow.stdout], [], [], min(left, 1))[0]:
                    continue
                chunk = os.read(follow.stdout.fileno(), 65536)
                if not chunk:
                    raise AssertionError("agentctl audit -f ended")
                *lines, partial = (partial + chunk).split(b"\n")
                for line in lines:
                    if until(json.loads(line)):
                        return
        finally:
            follow.kill()


def require_root():
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            raise RuntimeError("integration tests must run as root under CI")
        raise unittest.SkipTest("integration tests need root (namespaces, cgroups, throwaway users)")


def ensure_users():
    """Throwaway users and an admin group, created once and left for later runs."""
    try:
        grp.getgrnam(ADMIN_GROUP)
    except KeyError:
        subprocess.run(["groupadd", "--system", ADMIN_GROUP], check=True)
    for name in USERS:
        try:
            pwd.getpwnam(name)
        except KeyError:
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", name], check=True)
    subprocess.run(["usermod", "-aG", ADMIN_GROUP, USERS[2]], check=True)


class Daemon:
    """One agentosd with its own socket, runtime, state, policy directory and cgroup."""

    def __init__(self, root: pathlib.Path, policy_dir: pathlib.Path | None = None, bpf_dir=None, wrap=None,
                 args=()):
        self.root = root
        self.wrap = wrap or (lambda argv: argv)  # e.g. run in a test network namespace
        self.args = list(args)
        self.policy_dir = policy_dir or root / "policy.d"
        self.socket = root / "agentosd.sock"
        self.runtime = root / "run"
        self.state = root / "state"
        self.cgroup = f"/agentos-test-{os.getpid()}-{root.parent.name}-{root.name}"
        self.bpf_dir = bpf_dir or f"/sys/fs/bpf/agentos-test-{os.getpid()}-{root.parent.name}-{root.name}"
        self.proc = None
        self.log = root / "agentosd.log"
        self.env = {}  # more of agentosd's environment, from its next start

    def start(self):
        self.policy_dir.mkdir(parents=True, exist_ok=True)
        notify_path = self.root / "notify.sock"
        notify_path.unlink(missing_ok=True)
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(notify_path))
        notify.settimeout(1)  # only to notice a daemon that exited instead of becoming ready
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "NOTIFY_SOCKET": str(notify_path),
               "AGENTOS_TEST_SECRET": "must-not-leak", **self.env}
        self.proc = subprocess.Popen(self.wrap(
            [str(AGENTOSD), "--policy-dir", str(self.policy_dir), "--socket", str(self.socket),
             "--runtime-dir", str(self.runtime), "--state-dir", str(self.state), "--cgroup", self.cgroup,
             "--admin-group", ADMIN_GROUP, "--bpf-dir", str(self.bpf_dir), *self.args]),
            env=env, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        try:
            for _ in range(60):
                try:
                    if b"READY=1" in notify.recv(4096).split(b"\n"):
                        break
                except socket.timeout:
                    if self.proc.poll() is not None:
                        break
            else:
                self.proc.kill()
            if self.proc.poll() is not None:
                raise RuntimeError("agentosd never became ready:\n" + self.log.read_text())
        finally:
            notify.close()
        # Agents run as other users: they must reach the socket's directory.
        os.chmod(self.root, 0o755)

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        self.proc = None

    def cleanup(self):
        """Removes what the daemon leaves for its successor: its cgroup tree and pinned maps."""
        mount = "/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"
        base = pathlib.Path(mount + self.cgroup)
        if base.is_dir():
            for d in sorted((p for p in base.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                d.rmdir()
            base.rmdir()
        shutil.rmtree(self.bpf_dir, ignore_errors=True)

    def ctl(self, *args, user=None, input=None, check=False):
        """Runs agentctl; returns CompletedProcess with text output."""
        kwargs = {}
        if user:
            pw = pwd.getpwnam(user)
            kwargs = dict(user=pw.pw_uid, group=pw.pw_gid,
                          extra_groups=[g.gr_gid for g in grp.getgrall() if user in g.gr_mem])
        if input is None:
            kwargs["stdin"] = subprocess.DEVNULL  # an inherited pipe is data `run` would refuse to drop
        r = subprocess.run([str(AGENTCTL), "--socket", str(self.socket), *args], capture_output=True,
                           text=True, input=input, timeout=60, **kwargs)
        if check and r.returncode != 0:
            raise AssertionError(f"agentctl {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    def ctl_json(self, *args, user=None):
        r = self.ctl("--json", *args, user=user, check=True)
        return json.loads(r.stdout)

    def lsm_available(self):
        return any(l["name"] == "bpf-lsm" and l["available"] for l in self.ctl_json("doctor"))


class DaemonTest(unittest.TestCase):
    """Starts one daemon for the test class; each test writes its own policies."""

    DAEMON_ARGS = ()  # agentosd options for this class's daemon

    @classmethod
    def setUpClass(cls):
        require_root()
        ensure_users()
        cls.tmp = pathlib.Path(tempfile.mkdtemp(prefix="agentos-test-", dir="/var/tmp"))
        os.chmod(cls.tmp, 0o755)
        # The probe lives where every test user can execute it.
        cls.bin = cls.tmp / "bin"
        cls.bin.mkdir()
        shutil.copy2(PROBE_SRC, cls.bin / "agentos-probe")
        os.chmod(cls.bin / "agentos-probe", 0o755)
        cls.probe = str(cls.bin / "agentos-probe")
        cls.daemon = Daemon(cls.tmp / "daemon", args=cls.DAEMON_ARGS)
        cls.daemon.root.mkdir()
        cls.daemon.start()

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "daemon"):
            for a in cls.daemon.ctl_json("ps") if cls.daemon.proc and cls.daemon.proc.poll() is None else []:
                cls.daemon.ctl("stop", a["id"])
            cls.daemon.stop()
            cls.daemon.cleanup()
            shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def write_script(cls, path, text):
        """A program's text for agents to run (readable by every test user); returns its path."""
        path.write_text(text)
        os.chmod(path, 0o644)
        return path

    def policy(self, name, command=None, read=(), write=(), exec=(), extra=""):
        """Writes a policy file and returns its path. The probe's directory is always executable."""
        path = self.tmp / f"{name}.toml"
        command = command or [self.probe, "hostname"]
        exec = [str(self.bin), *exec]
        path.write_text(
            f'[agent]\nname = "{name}"\ncommand = {json.dumps(command)}\n'
            f"[filesystem]\nread = {json.dumps(['/usr', *read])}\nwrite = {json.dumps(list(write))}\n"
            f"exec = {json.dumps(exec)}\n{extra}")
        os.chmod(path, 0o644)
        return path

    def run_probe(self, *args, user=None, read=(), write=(), exec=(), name="probe"):
        """Runs the probe as an agent; returns (exit code, output)."""
        pol = self.policy(name, read=read, write=write, exec=exec)
        r = self.daemon.ctl("run", "--policy", str(pol), "--", self.probe, *args, user=user)
        if r.stderr:
            print(f"\nagentctl run {' '.join(args)}: {r.stderr.strip()}", file=sys.stderr)
        return r.returncode, r.stdout

    def first_line(self, agent):
        """Follows the agent's output through the daemon until its first line arrives: the agent's
        own readiness signal, no sleeping."""
        with subprocess.Popen([str(AGENTCTL), "--socket", str(self.daemon.socket), "logs", "-f", agent],
                              stdout=subprocess.PIPE, text=True) as p:
            line = p.stdout.readline()
            p.terminate()
        return line

    def run_outside(self, *args, user=None, prefix=()):
        """The positive control: the same probe, not confined."""
        kwargs = {}
        if user:
            pw = pwd.getpwnam(user)
            kwargs = dict(user=pw.pw_uid, group=pw.pw_gid)
        r = subprocess.run([*prefix, self.probe, *args], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=30, **kwargs)
        return r.returncode, r.stdout
