"""[devices] grants: a named character device shown in the sandbox's /dev and opened as its owner
may, and the cgroup device hook, which refuses every other device number whichever path reaches
it. The device under test is the hardware RNG's number (10:183, built into Debian's kernels; opened
read-only, which does nothing else) at a node of the test's own, mode 0666, so that an
unprivileged owner may open it outside (the control) and nothing else differs."""
import grp
import json
import os
import pathlib
import pwd
import shutil
import stat
import subprocess
import unittest

from harness import AGENTCTL, SOURCE, USERS, DaemonTest, follow_audit

NODE = pathlib.Path("/dev/agentos-test-hwrng")
MANY = pathlib.Path("/dev/agentos-test-many")  # 65 nodes of /dev/null's number
NUMBER = os.makedev(10, 183)
OWNER = USERS[0]


class Devices(DaemonTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        NODE.unlink(missing_ok=True)
        os.mknod(NODE, 0o666 | stat.S_IFCHR, NUMBER)
        os.chmod(NODE, 0o666)
        # The same device at a second node, on a filesystem mounted without nodev, in a directory
        # an agent in the host's view may read: only the device hook stands between the two.
        cls.elsewhere = cls.tmp / "devdir"
        cls.elsewhere.mkdir(mode=0o755)
        os.mknod(cls.elsewhere / "hwrng", 0o666 | stat.S_IFCHR, NUMBER)
        os.chmod(cls.elsewhere / "hwrng", 0o666)
        shutil.rmtree(MANY, ignore_errors=True)
        MANY.mkdir()
        for i in range(65):
            os.mknod(MANY / f"n{i}", 0o666 | stat.S_IFCHR, os.makedev(1, 3))

    @classmethod
    def tearDownClass(cls):
        NODE.unlink(missing_ok=True)
        shutil.rmtree(MANY, ignore_errors=True)
        super().tearDownClass()

    def probe_with(self, name, *args, devices=(), host_view=False, read=()):
        extra = 'view = "host"\n' if host_view else ""
        if devices:
            extra += f"[devices]\nallow = {json.dumps(list(devices))}\n"
        pol = self.policy(name, read=read, extra=extra)
        r = self.daemon.ctl("run", "--policy", str(pol), "--", self.probe, *args, user=OWNER)
        return r.returncode, r.stdout, r.stderr

    def test_a_granted_device_is_shown_and_opens(self):
        self.assertEqual(self.run_outside("open-r", str(NODE), user=OWNER), (0, "ok\n"))  # the control
        code, out, err = self.probe_with("dev-granted", "open-r", str(NODE), devices=[str(NODE)])
        self.assertEqual((code, out), (0, "ok\n"), err)
        code, out, err = self.probe_with("dev-pattern", "open-r", str(NODE), devices=["/dev/agentos-test-h*"])
        self.assertEqual((code, out), (0, "ok\n"), err)
        code, out, err = self.probe_with("dev-absent", "exists", str(NODE))
        self.assertEqual((code, out), (1, "denied ENOENT No such file or directory\n"), err)

    def test_the_hook_refuses_the_same_device_at_another_path(self):
        hook = {l["name"]: l for l in self.daemon.ctl_json("doctor")}["cgroup-bpf device hook"]
        self.assertTrue(hook["available"], hook)  # cgroup-BPF loads on these hosts
        devdir = str(self.elsewhere)
        self.assertEqual(self.run_outside("open-r", f"{devdir}/hwrng", user=OWNER), (0, "ok\n"))  # the control
        # In the host's view, with the node's directory granted for reading, the file layers let
        # the open through; the device number is not the sandbox's own and not granted.
        code, out, err = self.probe_with("dev-hook", "open-r", f"{devdir}/hwrng", host_view=True, read=[devdir])
        self.assertEqual((code, out), (1, "denied EPERM Operation not permitted\n"), err)
        follow_audit(self.daemon, lambda e: e["agent_name"] == "dev-hook" and e["decision"] == "deny" and
                     "character device 10:183" in e["operation"])
        # Granted by its own name, the same number opens by either path.
        code, out, err = self.probe_with("dev-hook-granted", "open-r", f"{devdir}/hwrng", host_view=True, read=[devdir],
                                         devices=[str(NODE)])
        self.assertEqual((code, out), (0, "ok\n"), err)
        # The sandbox's own devices stay usable under the hook.
        code, out, err = self.probe_with("dev-null", "open-rw", "/dev/null")
        self.assertEqual((code, out), (0, "ok\n"), err)

    def test_run_here_takes_a_device(self):
        pw = pwd.getpwnam(OWNER)
        env = {"PATH": "/usr/bin:/bin", "HOME": pw.pw_dir, "AGENTOS_PROFILE_DIR": str(SOURCE / "policy/profiles")}
        project = self.tmp / "here-project"
        project.mkdir(exist_ok=True)
        os.chown(project, pw.pw_uid, pw.pw_gid)

        def here(*args):
            return subprocess.run([str(AGENTCTL), "--socket", str(self.daemon.socket), "run", "--here", "--exec",
                                   str(self.bin), *args, "--", self.probe, "open-r", str(NODE)],
                                  cwd=project, env=env, user=pw.pw_uid, group=pw.pw_gid, capture_output=True, text=True,
                                  timeout=60, stdin=subprocess.DEVNULL)
        r = here("--device", str(NODE))
        self.assertEqual((r.returncode, r.stdout), (0, "ok\n"), r.stderr)
        r = here()
        self.assertEqual((r.returncode, r.stdout), (1, "denied ENOENT No such file or directory\n"), r.stderr)

    def test_the_host_view_shows_no_terminal_of_the_host(self):
        master, slave = os.openpty()
        try:
            path = os.ttyname(slave)
            pw = pwd.getpwnam(OWNER)
            os.chown(path, pw.pw_uid, pw.pw_gid)  # the owner's own terminal, in another session
            self.assertEqual(self.run_outside("open-rw", path, user=OWNER), (0, "ok\n"))  # the control
            code, out, err = self.probe_with("dev-pts", "open-rw", path, host_view=True)
            self.assertEqual((code, out), (1, "denied ENOENT No such file or directory\n"), err)
        finally:
            os.close(slave)
            os.close(master)

    def test_kvm_answers_its_api_version(self):
        """/dev/kvm, as a program that runs guests uses it: open, then its KVM_GET_API_VERSION ioctl."""
        kvm = pathlib.Path("/dev/kvm")
        if not kvm.is_char_device():
            self.skipTest("no /dev/kvm on this machine: the device under test is the test's own node (10:183)")
        st = kvm.stat()
        user = USERS[1]
        if not st.st_mode & 0o006:
            if st.st_gid == 0:
                self.skipTest("/dev/kvm is root's alone here (mode %o): no owner but root may open it" % st.st_mode)
            subprocess.run(["usermod", "-aG", grp.getgrgid(st.st_gid).gr_name, user], check=True)
        code_text = "import fcntl, os; print(fcntl.ioctl(os.open('/dev/kvm', os.O_RDWR), 0xAE00))"
        pw = pwd.getpwnam(user)
        outside = subprocess.run(["/usr/bin/python3", "-c", code_text], user=pw.pw_uid, group=pw.pw_gid,
                                 extra_groups=os.getgrouplist(user, pw.pw_gid), capture_output=True, text=True)
        self.assertEqual(outside.stdout, "12\n", outside.stderr)  # the control
        for devices, expected in ((True, "12\n"), (False, "")):
            extra = '[devices]\nallow = ["/dev/kvm"]\n' if devices else ""
            pol = self.policy("kvm", command=["/usr/bin/python3", "-c", code_text], exec=["/usr/bin", "/usr/lib"],
                              extra=extra)
            r = self.daemon.ctl("run", "--policy", str(pol), user=user)
            self.assertEqual(r.stdout, expected, r.stderr)
            if not devices:
                self.assertIn("No such file or directory: '/dev/kvm'", r.stderr)

    def test_inspect_names_the_layer(self):
        pol = self.policy("dev-inspect", command=[self.probe, "pause"], extra=f'[devices]\nallow = ["{NODE}"]\n')
        r = self.daemon.ctl("run", "--detach", "--policy", str(pol), user=OWNER)
        self.assertEqual(r.returncode, 0, r.stderr)
        agent = r.stdout.split()[-1]
        try:
            layers = {l["name"]: l for l in self.daemon.ctl_json("inspect", agent, user=OWNER)["enforcement"]}
            self.assertTrue(layers["devices"]["in_force"], layers["devices"])
            self.assertIn(f"granted: {NODE}", layers["devices"]["detail"])
        finally:
            self.daemon.ctl("stop", agent, user=OWNER)

    def test_what_cannot_be_granted_is_refused_with_the_reason(self):
        block = next((str(p) for p in sorted(pathlib.Path("/dev").iterdir()) if p.is_block_device()), None)
        cases = [("/dev/agentos-no-such-device", "no such device on this host"),
                 ("/dev/stdin", "a symlink: name the device node itself"),
                 ("/dev/agentos-none-*", "no character device matches it"),
                 (f"{MANY}/n*", f"more than 64 devices ({MANY}/n*): name fewer")]
        if block:
            cases.append((block, "block devices are never granted"))
        for path, reason in cases:
            code, out, err = self.probe_with("dev-refused", "hostname", devices=[path])
            self.assertNotEqual(code, 0, out)
            self.assertIn(reason, err)
        pol = self.policy("dev-syntax", extra='[devices]\nallow = ["/etc/passwd", "/dev/*/x"]\n')
        r = self.daemon.ctl("policy", "check", str(pol))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"{pol}:9:10: devices.allow: \"/etc/passwd\" is not a device node under /dev", r.stderr)
        self.assertIn(f"{pol}:9:25: devices.allow: \"/dev/*/x\": a pattern may only be in the last component", r.stderr)


if __name__ == "__main__":
    unittest.main()
