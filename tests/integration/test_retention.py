"""Ended agents do not pile up (issue 14): `agentctl rm` and `agentctl prune` forget them, records
and logs, only the caller's own (every one's for admins), never a running one; and the daemon
keeps at most --keep-ended of them, the oldest going first."""
import time
import unittest

from harness import USERS, DaemonTest

OWNER, OTHER, ADMIN = USERS


class RmAndPrune(DaemonTest):
    def ended(self, name, user=OWNER):
        pol = self.policy(name, command=["/usr/bin/true"], exec=["/usr/bin"])
        self.assertEqual(self.daemon.ctl("run", "--policy", str(pol), user=user).returncode, 0)
        [agent] = [a for a in self.daemon.ctl_json("ps", "-a", user=user) if a["name"] == name]
        return agent["id"]

    def ids(self, user=OWNER):
        return {a["id"] for a in self.daemon.ctl_json("ps", "-a", user=user)}

    def test_rm_forgets_an_ended_agent_and_refuses_a_running_one(self):
        agent = self.ended("rm-me")
        log = self.daemon.state / "logs" / f"{agent}.log"
        self.assertTrue(log.exists())
        r = self.daemon.ctl("rm", agent, user=OTHER)  # not theirs
        self.assertEqual(r.returncode, 1)
        self.assertIn("belongs to another user", r.stderr)
        r = self.daemon.ctl("rm", agent, user=OWNER)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, agent), r.stderr)
        self.assertNotIn(agent, self.ids())
        self.assertEqual(self.daemon.ctl("logs", agent, user=OWNER).returncode, 1)
        self.assertFalse(log.exists())
        # A running agent is refused, and stays.
        pol = self.policy("rm-running", command=["/usr/bin/sleep", "60"], exec=["/usr/bin"])
        running = self.daemon.ctl("run", "--detach", "--policy", str(pol), user=OWNER, check=True).stdout.strip()
        r = self.daemon.ctl("rm", running, user=OWNER)
        self.assertEqual(r.returncode, 1)
        self.assertIn("is running: stop it first", r.stderr)
        self.assertIn(running, self.ids())
        self.daemon.ctl("stop", running, user=OWNER, check=True)
        self.assertEqual(self.daemon.ctl("rm", running, user=OWNER).returncode, 0)

    def test_prune_forgets_only_the_callers_ended_agents(self):
        mine = [self.ended(f"prune-mine-{i}") for i in range(3)]
        theirs = self.ended("prune-theirs", user=OTHER)
        removed = set(self.daemon.ctl_json("prune", user=OWNER)["removed"])
        self.assertTrue(set(mine) <= removed)
        self.assertNotIn(theirs, removed)
        self.assertIn(theirs, self.ids(user=OTHER))
        self.assertFalse(set(mine) & self.ids())
        # An admin prunes every one's.
        self.assertIn(theirs, self.daemon.ctl_json("prune", user=ADMIN)["removed"])


class KeepEnded(DaemonTest):
    DAEMON_ARGS = ("--keep-ended", "3")

    def test_the_oldest_ended_agents_go_first(self):
        pol = self.policy("many", command=["/usr/bin/true"], exec=["/usr/bin"])
        # Another user's ended agent is theirs to keep, however many the owner runs (found by a
        # red-team pass: one global count let any user push out every other user's records).
        self.assertEqual(self.daemon.ctl("run", "--policy", str(pol), user=OTHER).returncode, 0)
        [theirs] = [a["id"] for a in self.daemon.ctl_json("ps", "-a", user=OTHER)]
        started = []
        for _ in range(6):
            before = {a["id"] for a in self.daemon.ctl_json("ps", "-a", user=OWNER)}
            self.assertEqual(self.daemon.ctl("run", "--policy", str(pol), user=OWNER).returncode, 0)
            [new] = {a["id"] for a in self.daemon.ctl_json("ps", "-a", user=OWNER)} - before
            started.append(new)
        deadline = time.monotonic() + 30
        while len(self.daemon.ctl_json("ps", "-a", user=OWNER)) > 3:
            self.assertLess(time.monotonic(), deadline, self.daemon.ctl("ps", "-a").stdout)
            time.sleep(0.1)  # a bounded poll of ps: the daemon collects right after it records an end
        left = {a["id"] for a in self.daemon.ctl_json("ps", "-a", user=OWNER)}
        self.assertEqual(left, set(started[-3:]))
        self.assertEqual([a["id"] for a in self.daemon.ctl_json("ps", "-a", user=OTHER)], [theirs])


if __name__ == "__main__":
    unittest.main()
