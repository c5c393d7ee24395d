"""The programs people run as agents (issue 14): `#!` scripts as the command (an npm or pip
launcher, node_modules/.bin/*, a two-line shell script), each interpreter's loader made executable
like the command's own; a missing exec grant named at the start with the key to add; and write
grants the agent's uid could not write refused at the start rather than shown as writable."""
import os
import pathlib
import pwd
import shutil
import unittest

from harness import USERS, DaemonTest

OWNER = USERS[0]


class Scripts(DaemonTest):
    def script(self, rel, text, mode=0o755):
        path = self.tmp / "proj" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.chmod(path, mode)
        return path

    def test_scripts_run_as_the_command(self):
        sh = self.script("run.sh", "#!/bin/sh\necho shell-ok\n")
        py = self.script("tool", "#!/usr/bin/env python3\nprint('python-ok')\n")
        js = self.script("node_modules/pkg/cli.js", "#!/usr/bin/env node\nconsole.log('node-ok')\n")
        bin_dir = self.tmp / "proj" / "node_modules" / ".bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        os.symlink("../pkg/cli.js", bin_dir / "pkg")
        for cmd, want in ((sh, "shell-ok"), (py, "python-ok"), (bin_dir / "pkg", "node-ok")):
            with self.subTest(cmd=str(cmd)):
                # Control: outside, the same script runs.
                out = __import__("subprocess").run([str(cmd)], capture_output=True, text=True).stdout.strip()
                self.assertEqual(out, want)
                pol = self.policy(f"script-{cmd.name}", command=[str(cmd)], exec=["/usr/bin", str(self.tmp / "proj")])
                r = self.daemon.ctl("run", "--policy", str(pol), user=OWNER)
                self.assertEqual((r.returncode, r.stdout.strip()), (0, want), r.stderr)

    def test_a_missing_exec_grant_is_named_with_its_key(self):
        interp = self.tmp / "opt" / "bin" / "interp"
        interp.parent.mkdir(parents=True)
        shutil.copy2("/bin/sh", interp)
        script = self.script("uses-interp", f"#!{interp}\necho ran\n")
        # The interpreter is readable but not executable: the start is refused, naming it.
        pol = self.policy("no-exec", command=[str(script)], read=[str(self.tmp / "opt")],
                          exec=["/usr/bin", str(self.tmp / "proj")])
        r = self.daemon.ctl("run", "--policy", str(pol), user=OWNER)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"{interp} (the interpreter of {script} (#!{interp})) has no exec grant", r.stderr)
        self.assertIn("[filesystem] exec", r.stderr)
        # The command itself, likewise.
        pol = self.policy("no-exec-cmd", command=[str(script)], read=[str(self.tmp / "proj")], exec=["/usr/bin"])
        r = self.daemon.ctl("run", "--policy", str(pol), user=OWNER)
        self.assertIn(f"{script} (the agent's command) has no exec grant", r.stderr)
        # Control: with the interpreter granted, it runs.
        pol = self.policy("with-exec", command=[str(script)], exec=["/usr/bin", str(self.tmp / "proj"), str(interp.parent)])
        r = self.daemon.ctl("run", "--policy", str(pol), user=OWNER)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "ran"), r.stderr)


class WriteGrants(DaemonTest):
    def test_a_write_grant_the_agent_cannot_write_is_refused(self):
        rootdir = self.tmp / "root-owned"
        rootdir.mkdir(mode=0o755)
        pol = self.policy("rootw", command=["/usr/bin/touch", str(rootdir / "x")], write=[str(rootdir)], exec=["/usr/bin"])
        for user in (None, OWNER):  # root's agent runs as a dynamic uid; a user's as the user
            with self.subTest(user=user):
                r = self.daemon.ctl("run", "--policy", str(pol), user=user)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn(f"filesystem grant {rootdir} (write)", r.stderr)
                self.assertIn("may not write it (owner uid 0, mode 0755)", r.stderr)
                self.assertFalse((rootdir / "x").exists())
        # Control: a directory the agent's uid may write works, for root's agent (its state
        # directory, made for it) and for a user's (one the user owns).
        state = self.daemon.state / "agents" / "rootw2"
        pol = self.policy("rootw2", command=["/usr/bin/touch", str(state / "x")], write=[str(state)], exec=["/usr/bin"])
        self.assertEqual(self.daemon.ctl("run", "--policy", str(pol)).returncode, 0)
        self.assertTrue((state / "x").exists())
        mine = self.tmp / "mine"
        mine.mkdir()
        pw = pwd.getpwnam(OWNER)
        os.chown(mine, pw.pw_uid, pw.pw_gid)
        pol = self.policy("userw", command=["/usr/bin/touch", str(mine / "x")], write=[str(mine)], exec=["/usr/bin"])
        self.assertEqual(self.daemon.ctl("run", "--policy", str(pol), user=OWNER).returncode, 0)


if __name__ == "__main__":
    unittest.main()
