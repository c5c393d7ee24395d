"""External MCP servers: a [serve] policy in the policy directory runs as an agent in its own
sandbox, and its tools reach other agents only through the broker, under their grants."""
import json
import os
import shutil
import textwrap

from harness import SOURCE, follow_until
from test_broker import OWNER, BrokerTest, call


class McpServers(BrokerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.srv = cls.tmp / "srv"
        cls.srv.mkdir()
        shutil.copy(SOURCE / "tests/integration/mcp_server_fixture.py", cls.srv / "server.py")
        os.chmod(cls.srv, 0o755)
        os.chmod(cls.srv / "server.py", 0o644)
        cls.outside = cls.tmp / "outside.txt"  # readable by anyone on the host, not granted to the server
        cls.outside.write_text("not for the server\n")
        os.chmod(cls.outside, 0o644)
        cls.install_server()

    @classmethod
    def install_server(cls):
        (cls.daemon.policy_dir / "echo-srv.toml").write_text(textwrap.dedent(f"""\
            [agent]
            name = "echo-srv"
            command = ["/usr/bin/python3", "{cls.srv}/server.py"]
            [filesystem]
            read = ["/usr", "{cls.srv}"]
            exec = ["/usr/bin"]
            [serve]
            mcp = "stdio"
            prefix = "demo"
            """))
        cls.daemon.ctl("policy", "apply", check=True)

    def wait_ready(self, after=0):
        """Until the daemon says the server's tools are offered (its log), with a deadline."""
        follow_until(self.daemon.log, "MCP server echo-srv ready", count=after + 1, proc=self.daemon.proc)

    def setUp(self):
        self.wait_ready()

    def test_tools_are_offered_under_grants_and_proxied(self):
        pol = self.agent_policy("uses-echo", '[tools]\nallow = ["demo.echo"]\n')
        listed, echoed, refused = self.mcp(pol, "tools/list", call("demo.echo", text="hello"), call("demo.peek", path="/x"))
        self.assertEqual([t["name"] for t in listed["result"]["tools"]], ["demo.echo"])
        out = echoed["result"]["structuredContent"]
        self.assertEqual(out["text"], "hello")
        self.assertNotIn(out["uid"], (0, os.getuid()))  # the server's own dynamic uid
        self.assertIn("demo.peek is not granted", json.dumps(refused))
        ops = [e["operation"] for e in self.broker_audit() if e["agent_name"] == "uses-echo"]
        self.assertTrue(any(o.startswith("tool demo.echo") for o in ops), ops)

    def test_the_server_is_confined_by_its_own_policy(self):
        pol = self.agent_policy("uses-peek", '[tools]\nallow = ["demo"]\n')
        granted, ungranted = self.mcp(pol, call("demo.peek", path=f"{self.srv}/server.py"),
                                      call("demo.peek", path=str(self.outside)))
        self.assertTrue(granted["result"]["structuredContent"]["read"])
        self.assertFalse(ungranted["result"]["structuredContent"]["read"], ungranted)
        self.assertEqual(self.outside.read_text(), "not for the server\n")  # the control: it is there to read

    def test_names_become_grants_or_are_left_out(self):
        pol = self.agent_policy("lists-all", '[tools]\nallow = ["demo"]\n')
        listed, who = self.mcp(pol, "tools/list", call("demo.whoami"))
        names = sorted(t["name"] for t in listed["result"]["tools"])
        self.assertEqual(names, ["demo.crash", "demo.deep", "demo.echo", "demo.peek", "demo.whoami"])
        self.assertTrue(who["result"]["structuredContent"]["content"][0]["text"].startswith("uid "))
        self.assertIn('tool "bad name!" left out', self.daemon.log.read_text(errors="replace"))

    def test_its_policy_cannot_be_run_as_an_agent(self):
        r = self.daemon.ctl("run", "echo-srv", user=OWNER)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("is an MCP server ([serve])", r.stderr)

    def test_a_grant_the_server_does_not_offer_is_reported_at_its_line(self):
        # The parser cannot know a server's tools; when the server lists them, a grant under its
        # prefix that names none of them is reported at the grant's line (the control: the grant
        # of a tool it offers, in the same file, is not).
        path = self.daemon.policy_dir / "typo-user.toml"
        path.write_text(textwrap.dedent(f"""\
            [agent]
            name = "typo-user"
            command = ["/usr/bin/true"]
            [tools]
            allow = ["demo.echo", "demo.ecko"]
            """))
        self.daemon.ctl("policy", "apply", check=True)
        self.addCleanup(lambda: (path.unlink(), self.daemon.ctl("policy", "apply")))
        readies = self.daemon.log.read_text(errors="replace").count("MCP server echo-srv ready")
        self.mcp(self.agent_policy("typo-crasher", '[tools]\nallow = ["demo"]\n'), call("demo.crash"))
        self.wait_ready(after=readies)
        follow_until(self.daemon.log, f"{path}:5:23: tools: demo.ecko is not a tool the MCP server demo offers",
                     proc=self.daemon.proc)
        self.assertNotIn("demo.echo is not a tool", self.daemon.log.read_text(errors="replace"))

    def test_a_crashed_server_is_started_again(self):
        readies = self.daemon.log.read_text(errors="replace").count("MCP server echo-srv ready")
        pol = self.agent_policy("crasher", '[tools]\nallow = ["demo"]\n')
        crashed, = self.mcp(pol, call("demo.crash"))
        self.assertTrue(crashed["result"]["isError"])
        self.assertIn("the server is gone", json.dumps(crashed))
        self.wait_ready(after=readies)
        echoed, = self.mcp(pol, call("demo.echo", text="again"))
        self.assertEqual(echoed["result"]["structuredContent"]["text"], "again")

    def test_a_reply_nested_too_deep_is_refused(self):
        """The server's reply is bounded like an agent's message: the daemon lives, the call fails
        with the reason, and the server (which broke the protocol) is started again."""
        readies = self.daemon.log.read_text(errors="replace").count("MCP server echo-srv ready")
        pol = self.agent_policy("deep-reply", '[tools]\nallow = ["demo"]\n')
        deep, = self.mcp(pol, call("demo.deep"))
        self.assertTrue(deep["result"]["isError"])
        self.assertIn("the server sent JSON nested deeper than 80 levels", json.dumps(deep))
        self.assertIsNone(self.daemon.proc.poll())
        self.wait_ready(after=readies)
        echoed, = self.mcp(pol, call("demo.echo", text="after"))
        self.assertEqual(echoed["result"]["structuredContent"]["text"], "after")
