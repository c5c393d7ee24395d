"""Every agent is bounded, whatever its policy says (issue 13, failure 16): its processes and
threads, its private /tmp and /dev/shm, and its log. Each bound is shown holding inside an agent,
with its positive control: the same action outside, or under a larger bound, goes further."""
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import textwrap
import unittest

from harness import USERS, Daemon, DaemonTest

OWNER = USERS[0]

# Starts threads (64 KiB stacks) until the kernel refuses one or N are running; prints the count.
THREADS = textwrap.dedent("""
    import sys, threading
    threading.stack_size(65536)
    done = threading.Event()
    n = 0
    try:
        for _ in range(int(sys.argv[1])):
            threading.Thread(target=done.wait, daemon=True).start(); n += 1
    except RuntimeError:
        pass
    print(n, flush=True)
    done.set()
""")

# Writes 1 MiB blocks to PATH until the filesystem is full or N MiB are written; prints MiB.
FILL = textwrap.dedent("""
    import sys
    n = 0
    try:
        with open(sys.argv[1], "wb") as f:
            for _ in range(int(sys.argv[2])):
                f.write(b"x" * (1 << 20)); f.flush(); n += 1
    except OSError as e:
        print("stopped", e.errno, flush=True)
    print(n, flush=True)
""")


class Bounds(DaemonTest):
    def python(self, name, *args, extra="", read=()):
        pol = self.policy(name, command=["/usr/bin/python3", *args], exec=["/usr/bin"], extra=extra, read=read)
        r = self.daemon.ctl("run", "--policy", str(pol), user=OWNER)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout.split()

    def outside(self, *args):
        r = subprocess.run(["/usr/bin/python3", *args], capture_output=True, text=True, timeout=120,
                           user=OWNER, group=OWNER)
        return r.stdout.split()

    def test_processes_and_threads_are_bounded_by_default(self):
        # Control: outside, the owner starts 5,000 threads.
        self.assertEqual(self.outside("-c", THREADS, "5000"), ["5000"])
        # An agent that sets nothing is held at the default, 4,096 tasks (its python among them).
        (n,) = self.python("threads-default", "-c", THREADS, "5000")
        self.assertGreater(int(n), 4000)
        self.assertLess(int(n), 4096)
        # A policy's own bound holds, counted in the agent's own user namespace.
        (n,) = self.python("threads-20", "-c", THREADS, "100", extra="[limits]\npids = 20\n")
        self.assertLess(int(n), 20)
        self.assertGreater(int(n), 10)

    def test_private_tmp_and_shm_are_sized(self):
        scratch = pathlib.Path(tempfile.mkdtemp(dir="/var/tmp"))
        self.addCleanup(shutil.rmtree, scratch, True)
        os.chown(scratch, *(lambda p: (p.pw_uid, p.pw_gid))(__import__("pwd").getpwnam(OWNER)))
        # Control: the same writes outside, onto the host's disk, go past the bound.
        self.assertEqual(self.outside("-c", FILL, str(scratch / "big"), "12"), ["12"])
        out = self.python("tmp-8m", "-c", FILL, "/tmp/big", "12", extra='[limits]\ntmp = "8M"\n')
        self.assertEqual(out[:2], ["stopped", "28"])  # ENOSPC
        self.assertLessEqual(int(out[2]), 8)
        out = self.python("shm-4m", "-c", FILL, "/dev/shm/big", "12", extra='[limits]\nshm = "4M"\n')
        self.assertEqual(out[:2], ["stopped", "28"])
        self.assertLessEqual(int(out[2]), 4)
        # Without a [limits] table the defaults hold: 1 GiB and 64 MiB, as the mounts say.
        mounts = self.python("tmp-default", "-c", "print(open('/proc/self/mountinfo').read())")
        text = " ".join(mounts)
        self.assertIn("size=1048576k", text)
        self.assertIn("size=65536k", text)

    def test_inspect_says_which_bounds_hold(self):
        pol = self.policy("bounded", extra='[limits]\npids = 64\n')
        self.daemon.ctl("run", "--policy", str(pol), check=True)
        agent = [a for a in self.daemon.ctl_json("ps", "--all") if a["name"] == "bounded"][-1]
        layers = {l["name"]: l for l in self.daemon.ctl_json("inspect", agent["id"])["enforcement"]}
        self.assertTrue(layers["limit tasks"]["in_force"])
        self.assertIn("RLIMIT_NPROC = 64", layers["limit tasks"]["detail"])
        self.assertIn("size=1073741824", layers["limit tmp"]["detail"])
        self.assertTrue(layers["limit log"]["in_force"])


class LogCap(DaemonTest):
    """With --agent-log-max 1M, an agent that prints 6 MiB leaves at most about 1 MiB on disk, and
    `agentctl logs` shows its last output after a note of what was dropped."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.daemon.stop()
        cls.daemon = Daemon(cls.daemon.root, args=["--agent-log-max", "1M"])
        cls.daemon.start()

    def test_only_the_last_output_is_kept(self):
        talk = "import sys\nfor i in range(6 * 1024):\n    sys.stdout.write(f'{i:08d} ' + 'y' * 1014 + '\\n')\nprint('THE END')\n"
        pol = self.policy("chatty", command=["/usr/bin/python3", "-c", talk], exec=["/usr/bin"])
        agent = self.daemon.ctl_json("run", "--policy", str(pol), "--detach")
        self.daemon.ctl("logs", "-f", agent["id"], check=True)  # returns when the agent has exited
        log = self.daemon.state / "logs" / f"{agent['id']}.log"
        st = log.stat()
        self.assertEqual(st.st_size, 6 * 1024 * 1024 + len("THE END\n"))  # what it wrote, by offset
        self.assertLess(st.st_blocks * 512, 2 * 1024 * 1024 + 65536)  # what is kept on disk
        out = self.daemon.ctl("logs", agent["id"], check=True).stdout
        self.assertTrue(out.startswith("[agentos: "), out[:200])
        self.assertIn("bytes of older output were dropped", out.splitlines()[0])
        self.assertTrue(out.endswith("THE END\n"))
        self.assertNotIn("00000000 ", out)
        # Control: under the default cap (64 MiB) the same output is kept whole.
        control = Daemon(self.tmp / "control")
        control.root.mkdir()
        control.start()
        try:
            a = json.loads(control.ctl("--json", "run", "--policy", str(pol), "--detach", check=True).stdout)
            control.ctl("logs", "-f", a["id"], check=True)
            whole = control.ctl("logs", a["id"], check=True).stdout
            self.assertTrue(whole.startswith("00000000 "))
            self.assertEqual(len(whole), 6 * 1024 * 1024 + len("THE END\n"))
        finally:
            control.stop()
            control.cleanup()


if __name__ == "__main__":
    unittest.main()
