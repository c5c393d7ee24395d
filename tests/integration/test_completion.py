"""Shell completion (issue 14): `agentctl completion bash|zsh|fish` prints a script each shell
loads, which completes subcommands and flags, and agent ids and names and policy names as the
daemon knows them (only the caller's own agents)."""
import os
import pwd
import subprocess
import unittest

from harness import AGENTCTL, SOURCE, USERS, DaemonTest

OWNER, OTHER = USERS[0], USERS[1]


class Completion(DaemonTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        pol = cls.tmp / "completable.toml"
        pol.write_text('[agent]\nname = "completable"\ncommand = ["/usr/bin/sleep", "60"]\n'
                       '[filesystem]\nread = ["/usr"]\nexec = ["/usr/bin"]\n')
        os.chmod(pol, 0o644)
        cls.daemon.ctl("policy", "apply", str(pol), check=True)
        cls.agent = cls.daemon.ctl("run", "--detach", "completable", user=OWNER, check=True).stdout.strip()

    def shell(self, argv, user=OWNER):
        env = {"PATH": f"{AGENTCTL.parent}:/usr/bin:/bin", "AGENTOS_SOCKET": str(self.daemon.socket), "HOME": "/tmp",
               "AGENTOS_PROFILE_DIR": str(SOURCE / "policy/profiles")}
        pw = pwd.getpwnam(user)
        return subprocess.run(argv, capture_output=True, text=True, env=env, user=pw.pw_uid, group=pw.pw_gid,
                              timeout=60, stdin=subprocess.DEVNULL)

    def bash_complete(self, *words, user=OWNER):
        line = " ".join(f'"{w}"' for w in words)
        script = (f'source <(agentctl completion bash); COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; '
                  '_agentctl; printf "%s\\n" "${COMPREPLY[@]}"')
        r = self.shell(["bash", "-c", script], user=user)
        self.assertEqual(r.returncode, 0, r.stderr)
        return set(r.stdout.split())

    def test_bash_completes_commands_agents_and_policies(self):
        self.assertTrue({"run", "attach", "stop", "prune", "completion"} <= self.bash_complete("agentctl", ""))
        self.assertEqual(self.bash_complete("agentctl", "run", "--ti"), set())
        self.assertTrue({"--tty", "--here", "--profile"} <= self.bash_complete("agentctl", "run", "--"))
        self.assertEqual(self.bash_complete("agentctl", "stop", ""), {self.agent, "completable"})
        self.assertEqual(self.bash_complete("agentctl", "attach", self.agent[:4]), {self.agent})
        self.assertIn("completable", self.bash_complete("agentctl", "run", "comp"))
        self.assertTrue({"base", "python", "node", "coding-agent"} <= self.bash_complete("agentctl", "run", "--here",
                                                                                        "--profile", ""))
        # Another user's agent is not offered to them (control: its owner is offered it, above).
        self.assertEqual(self.bash_complete("agentctl", "stop", "", user=OTHER), set())

    def test_zsh_loads_it(self):
        script = ('autoload -U compinit && compinit -u; source <(agentctl completion zsh); '
                  '(( ${+_comps[agentctl]} )) && echo registered')
        r = self.shell(["zsh", "-c", script])
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "registered"), r.stderr)

    def test_fish_completes_agents(self):
        r = self.shell(["fish", "-c", "agentctl completion fish | source; complete -C 'agentctl stop '"])
        self.assertEqual(r.returncode, 0, r.stderr)
        offered = {line.split("\t")[0] for line in r.stdout.splitlines()}
        self.assertEqual(offered, {self.agent, "completable"})

    def test_an_unknown_shell_is_a_usage_error(self):
        r = self.daemon.ctl("completion", "tcsh")
        self.assertEqual(r.returncode, 2)
        self.assertIn("bash, zsh or fish", r.stderr)


if __name__ == "__main__":
    unittest.main()
