"""A one-line run in the current directory (issue 14): `agentctl run --here -- CMD` runs CMD found
on PATH with the directory as its only writable grant, the system readable, HOME private, and
profiles (policy/profiles/) and grant flags adding to it; --print-policy shows the policy, which
runs the same when saved. Each denial has its control: the same action outside, or granted."""
import os
import pathlib
import pwd
import shutil
import subprocess
import unittest

from harness import AGENTCTL, SOURCE, USERS, DaemonTest

OWNER = USERS[0]
PROFILES = str(SOURCE / "policy/profiles")


class Here(DaemonTest):
    def setUp(self):
        self.home = pathlib.Path(pwd.getpwnam(OWNER).pw_dir)
        self.proj = self.tmp / f"proj-{self._testMethodName}"
        self.proj.mkdir()
        (self.proj / "package.json").write_text(
            '{"name": "proj", "version": "1.0.0", "scripts": {"test": "node test.js && echo TESTS-PASSED"}}\n')
        (self.proj / "test.js").write_text(
            'require("fs").writeFileSync("out.txt", "written\\n");\n'
            'console.log("ran in", process.cwd(), "HOME", process.env.HOME);\n')
        subprocess.run(["git", "init", "-q", str(self.proj)], check=True)
        self.chown(self.proj)

    def chown(self, path):
        subprocess.run(["chown", "-R", f"{OWNER}:", str(path)], check=True)

    def here(self, *args, cwd=None, input=None):
        """agentctl run --here ARGS, as the owner, in the project (or `cwd`)."""
        pw = pwd.getpwnam(OWNER)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": pw.pw_dir, "AGENTOS_PROFILE_DIR": PROFILES}
        return subprocess.run([str(AGENTCTL), "--socket", str(self.daemon.socket), "run", "--here", *args],
                              cwd=cwd or self.proj, env=env, user=pw.pw_uid, group=pw.pw_gid, capture_output=True,
                              text=True, timeout=120, stdin=subprocess.DEVNULL if input is None else None, input=input)

    def test_npm_test_and_git_status_run_confined_to_the_directory(self):
        r = self.here("--profile", "node", "--", "npm", "test")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"ran in {self.proj} HOME /tmp", r.stdout)
        self.assertIn("TESTS-PASSED", r.stdout)
        self.assertEqual((self.proj / "out.txt").read_text(), "written\n")
        r = self.here("--", "git", "status", "--short")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("?? package.json", r.stdout)

    def test_npm_installs_a_local_tarball(self):
        pkg = self.tmp / "localpkg"
        pkg.mkdir(exist_ok=True)
        (pkg / "package.json").write_text('{"name": "localpkg", "version": "1.0.0", "main": "index.js"}\n')
        (pkg / "index.js").write_text('module.exports = "from the tarball";\n')
        subprocess.run(["npm", "pack", "--silent", "--pack-destination", str(self.proj), str(pkg)], check=True,
                       capture_output=True, env={**os.environ, "npm_config_cache": str(self.tmp / "npm-cache")})
        self.chown(self.proj)
        r = self.here("--profile", "node", "--", "npm", "install", "--offline", "./localpkg-1.0.0.tgz")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.here("--profile", "node", "--", "node", "-p", "require('localpkg')")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "from the tarball"), r.stderr)

    def test_only_the_directory_is_writable(self):
        beside = self.tmp / "beside"
        beside.mkdir(exist_ok=True)
        self.chown(beside)
        script = f"echo x > {beside}/f && echo wrote-beside; echo y > {self.proj}/f && echo wrote-here"
        # Control: outside, the owner writes both.
        pw = pwd.getpwnam(OWNER)
        out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, user=pw.pw_uid, group=pw.pw_gid).stdout
        self.assertEqual(out.split(), ["wrote-beside", "wrote-here"])
        (beside / "f").unlink()
        r = self.here("--", "sh", "-c", script)
        self.assertEqual(r.stdout.split(), ["wrote-here"], r.stderr)
        self.assertFalse((beside / "f").exists())
        # Granted with --write, it may.
        r = self.here("--write", str(beside), "--", "sh", "-c", script)
        self.assertEqual(r.stdout.split(), ["wrote-beside", "wrote-here"], r.stderr)

    def test_home_is_private_and_grant_flags_add_to_it(self):
        secret = self.home / "here-secret.txt"
        secret.write_text("SECRET\n")
        shutil.chown(secret, OWNER, OWNER)
        self.addCleanup(secret.unlink)
        script = f'echo "HOME=$HOME"; cat {secret} 2>/dev/null || echo no-secret'
        r = self.here("--", "sh", "-c", script)
        self.assertEqual(r.stdout.split(), ["HOME=/tmp", "no-secret"], r.stderr)
        r = self.here("--read", str(secret), "--", "sh", "-c", script)  # control: granted
        self.assertEqual(r.stdout.split(), ["HOME=/tmp", "SECRET"], r.stderr)

    def test_the_printed_policy_runs_the_same(self):
        r = self.here("--profile", "python", "--allow-host", "api.example.test:443", "--tool", "kv", "--print-policy",
                      "--", "python3", "-c", "import os; print(os.environ['PYTHONUNBUFFERED'], os.getcwd())")
        self.assertEqual(r.returncode, 0, r.stderr)
        text = r.stdout
        for want in ('command = ["/usr/bin/python3", "-c"', f'write = ["{self.proj}"]', "[egress]",
                     'allow = ["api.example.test:443"]', "[tools]", 'allow = ["kv"]', 'HOME = "/tmp"'):
            self.assertIn(want, text)
        saved = self.tmp / "saved.toml"
        saved.write_text(text)
        os.chmod(saved, 0o644)
        check = self.daemon.ctl("policy", "check", str(saved))
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        ran = self.here("--profile", "python", "--", "python3", "-c", "import os; print(os.environ['PYTHONUNBUFFERED'], os.getcwd())")
        self.assertEqual(ran.stdout.split(), ["1", str(self.proj)], ran.stderr)

    def test_mistakes_are_usage_errors(self):
        for args, why in ((("--profile", "no-such", "--", "true"), 'no profile "no-such"'),
                          (("--read", "/no/such/path", "--", "true"), "/no/such/path: no such file"),
                          (("--", "no-such-command-here"), "not found on PATH"),
                          ((), "needs a command")):
            with self.subTest(args=args):
                r = self.here(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(why, r.stderr)

    def test_the_run_is_audited(self):
        r = self.here("--", "true")
        self.assertEqual(r.returncode, 0, r.stderr)
        events = self.daemon.ctl_json("audit")
        name = "here-" + self.proj.name.lower().replace("_", "-")
        self.assertTrue(any(e["agent_name"] == name and e["operation"].startswith("start") for e in events),
                        [e for e in events if e["agent_name"].startswith("here-")])

    def test_the_coding_agent_profile_keeps_the_users_home(self):
        claude = self.home / ".claude"
        claude.mkdir(exist_ok=True)
        self.chown(claude)
        r = self.here("--profile", "coding-agent", "--print-policy", "--", "true")
        self.assertIn(f'HOME = "{self.home}"', r.stdout)
        self.assertIn(f'"{claude}"', r.stdout)
        self.assertIn('"api.anthropic.com:443"', r.stdout)
        r = self.here("--profile", "coding-agent", "--", "sh", "-c", 'echo "$HOME"; touch ~/.claude/x && echo wrote; ls ~ | wc -l')
        self.assertEqual(r.stdout.split()[:2], [str(self.home), "wrote"], r.stderr)


if __name__ == "__main__":
    unittest.main()
