"""Each kind of file access, under the fallback (Landlock, mounts, seccomp): refused where the
policy grants no write, allowed where it does, and allowed outside the sandbox (the control).
The VM tier runs the same kinds against the BPF LSM (tests/vm/scenarios/89-lsm-file-kinds.sh)."""
import os
import pwd
import shutil
import subprocess

from harness import DaemonTest, USERS

# action, arguments relative to the work directory. Each changes the tree or a file's attributes.
KINDS = [
    ("mkdir", "new"), ("rmdir", "dir"), ("unlink", "file"), ("symlink", "file", "sym"),
    ("link", "file", "hard"), ("rename", "file", "moved"), ("mknod-fifo", "fifo"),
    ("truncate", "file"), ("chmod", "file"), ("chown", "file"), ("setxattr", "file"),
    ("setacl", "file"), ("rmxattr", "file"), ("utime", "file"),
]


class FileKinds(DaemonTest):
    def setUp(self):
        super().setUp()
        self.owner = pwd.getpwnam(USERS[0])
        self.work = self.tmp / "kinds"

    def fresh(self):
        """The same starting tree for every attempt, owned by the agent's owner."""
        shutil.rmtree(self.work, ignore_errors=True)
        (self.work / "dir").mkdir(parents=True)
        (self.work / "file").write_text("data\n")
        os.setxattr(self.work / "file", "user.agentos", b"1")  # for rmxattr
        for p in (self.work, self.work / "dir", self.work / "file"):
            os.chown(p, self.owner.pw_uid, self.owner.pw_gid)

    def args(self, kind):
        return [kind[0], *(str(self.work / a) for a in kind[1:])]

    def agent(self, kind, view, write):
        self.fresh()
        pol = self.policy(f"kinds-{view}", read=[str(self.work)], write=[str(self.work)] if write else [])
        if view == "host":
            pol.write_text(pol.read_text().replace("[filesystem]\n", '[filesystem]\nview = "host"\n'))
        r = self.daemon.ctl("run", "--policy", str(pol), "--", self.probe, *self.args(kind), user=USERS[0])
        return r.returncode, r.stdout

    def test_each_kind_needs_a_write_grant(self):
        for kind in KINDS:
            for view in ("private", "host"):
                with self.subTest(kind=kind[0], view=view):
                    self.fresh()
                    self.assertEqual(self.run_outside(*self.args(kind), user=USERS[0]), (0, "ok\n"))
                    code, out = self.agent(kind, view, write=False)
                    self.assertEqual((code, out.split()[0]), (1, "denied"), out)
                    self.assertIn(out.split()[1], ("EACCES", "EROFS", "EPERM"), out)
                    self.assertEqual(self.agent(kind, view, write=True), (0, "ok\n"))


class ExecutableMappings(DaemonTest):
    """Code the agent wrote does not run, by exec or by mapping it executable, without an exec
    grant where it lies; the system's read-only libraries map as ever."""

    def setUp(self):
        super().setUp()
        self.owner = pwd.getpwnam(USERS[0])
        self.work = self.tmp / "maps"
        self.work.mkdir(exist_ok=True)
        os.chown(self.work, self.owner.pw_uid, self.owner.pw_gid)
        self.lib = self.work / "lib.so"
        shutil.copy("/usr/bin/true", self.lib)
        os.chown(self.lib, self.owner.pw_uid, self.owner.pw_gid)

    def probe_in(self, view, *args, exec=()):
        pol = self.policy(f"maps-{view}", write=[str(self.work)], exec=exec)
        if view == "host":
            pol.write_text(pol.read_text().replace("[filesystem]\n", '[filesystem]\nview = "host"\n'))
        r = self.daemon.ctl("run", "--policy", str(pol), "--", self.probe, *args, user=USERS[0])
        return r.returncode, r.stdout

    def test_mapping_written_code_needs_exec(self):
        for action in ("mmap-exec", "mprotect-exec"):
            for view in ("private", "host"):
                with self.subTest(action=action, view=view):
                    self.assertEqual(self.run_outside(action, str(self.lib), user=USERS[0]), (0, "ok\n"))
                    code, out = self.probe_in(view, action, str(self.lib))
                    self.assertEqual((code, out.split()[0]), (1, "denied"), out)
                    self.assertIn(out.split()[1], ("EACCES", "EPERM"), out)
                    self.assertEqual(self.probe_in(view, action, str(self.lib), exec=[str(self.work)]), (0, "ok\n"))
                    self.assertEqual(self.probe_in(view, action, "/usr/bin/true"), (0, "ok\n"))

    def test_memfd_and_execveat(self):
        self.assertEqual(self.run_outside("memfd-exec", self.probe)[0], 0)
        code, out = self.probe_in("private", "memfd-exec", self.probe)
        self.assertEqual((code, out.split()[0]), (1, "denied"), out)
        # execveat of an O_PATH descriptor gets the verdict of the file it names.
        self.assertEqual(self.probe_in("private", "execveat", self.probe)[0], 0)
        code, out = self.probe_in("private", "execveat", "/usr/bin/true")
        self.assertEqual((code, out.split()[:2]), (1, ["denied", "EACCES"]), out)

    def test_reopen_through_proc_needs_read(self):
        secret = self.work / "secret"
        secret.write_text("s\n")
        os.chown(secret, self.owner.pw_uid, self.owner.pw_gid)
        self.assertEqual(self.run_outside("reopen", str(secret), user=USERS[0]), (0, "ok\n"))
        pol = self.policy("reopen")
        pol.write_text(pol.read_text().replace("[filesystem]\n", '[filesystem]\nview = "host"\n'))
        r = self.daemon.ctl("run", "--policy", str(pol), "--", self.probe, "reopen", str(secret), user=USERS[0])
        self.assertEqual((r.returncode, r.stdout.split()[:2]), (1, ["denied", "EACCES"]), r.stdout)
        self.assertEqual(self.probe_in("host", "reopen", str(secret)), (0, "ok\n"))


class BindMountsUnderTheFallback(DaemonTest):
    """A bind mount of an ungranted directory inside a granted one: BPF LSM judges its files by
    where they really are (the VM tier shows the refusal); Landlock would judge them by path and
    grant them, so where Landlock is the file layer the agent is not started at all."""

    def test_agent_refused_while_a_bind_mount_sits_in_its_grant(self):
        if self.daemon.lsm_available():
            self.skipTest("BPF LSM governs here: the object rule holds (tests/vm/scenarios/89-lsm-file-kinds.sh)")
        granted, hidden = self.tmp / "granted", self.tmp / "hidden"
        (granted / "bound").mkdir(parents=True)
        hidden.mkdir()
        (hidden / "file").write_text("hidden\n")
        (granted / "file").write_text("granted\n")
        pol = self.policy("bind", read=[str(granted)])
        subprocess.run(["mount", "--bind", str(hidden), str(granted / "bound")], check=True)
        try:
            self.assertEqual(self.run_outside("read", str(granted / "bound" / "file"))[0], 0)
            r = self.daemon.ctl("run", "--policy", str(pol), "--", self.probe, "read", str(granted / "bound" / "file"))
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn(f"{granted / 'bound'} is a bind mount of", r.stderr)
        finally:
            subprocess.run(["umount", str(granted / "bound")], check=True)
        r = self.daemon.ctl("run", "--policy", str(pol), "--", self.probe, "read", str(granted / "file"))
        self.assertEqual((r.returncode, r.stdout), (0, "ok\n"), r.stderr)
