"""Calendar and email tools against real servers on this machine (Radicale, dovecot, aiosmtpd),
used by real agents through the broker: the agent works with the user's accounts without ever
holding the password, cannot reach the servers itself, and its grants narrow what it may do."""
import json
import os

from account_servers import PASSWORD, USER, Dovecot, Radicale, Smtp
from test_broker import CLIENT, OWNER, BrokerTest, call

MESSAGES = [
    "From: Bob <bob@example.com>\r\nTo: alice@example.com\r\nSubject: Lunch on Friday?\r\n"
    "Date: Mon, 30 Nov 2026 09:00:00 +0000\r\nMessage-ID: <1@example.com>\r\n\r\nShall we meet at noon?\r\n",
    "From: Carol <carol@example.org>\r\nTo: alice@example.com\r\nSubject: =?utf-8?q?Re=3A_caf=C3=A9_budget?=\r\n"
    "Date: Mon, 30 Nov 2026 10:00:00 +0000\r\nMessage-ID: <2@example.org>\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nThe café budget is approved.\r\n",
]


class Accounts(BrokerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.servers = [Radicale(cls.tmp / "radicale"), Dovecot(cls.tmp / "dovecot", MESSAGES), Smtp(cls.tmp / "smtp")]
        cls.cal, cls.imap, cls.smtp = cls.servers
        for s in cls.servers:
            s.start()

    @classmethod
    def tearDownClass(cls):
        for s in getattr(cls, "servers", []):
            if hasattr(s, "proc"):
                s.stop()
        super().tearDownClass()

    def setUp(self):
        self.set_secret("calendar", PASSWORD)
        self.set_secret("mail", PASSWORD)

    def set_secret(self, name, value):
        r = self.daemon.ctl("secret", "set", name, user=OWNER, input=value + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)

    def accounts_policy(self, name, tools, constraints=""):
        return self.agent_policy(name, tools=f"[tools]\n{tools}\n" + constraints + f"""
[tools.calendar]
url = "{self.cal.url}"
user = "{USER}"
secret = "calendar"
[tools.email]
imap = "{self.imap.url}"
smtp = "{self.smtp.url}"
user = "{USER}"
secret = "mail"
from = "alice@example.com"
""")

    def result(self, answer):
        self.assertIn("result", answer, answer)
        return answer["result"]

    def test_calendar_create_read_delete_on_radicale(self):
        pol = self.accounts_policy("cal-agent", 'allow = ["calendar"]')
        created, = self.mcp(pol, call("calendar.create", summary="Design review", start="2026-12-01T10:00:00Z",
                                      end="2026-12-01T11:00:00Z", location="Room 4"))
        r = self.result(created)
        self.assertFalse(r["isError"], r)
        event_id = r["structuredContent"]["id"]
        # The server itself holds it: the positive control, outside agentos.
        status, body = self.cal.request("GET", self.cal.collection + event_id)
        self.assertEqual(status, 200)
        self.assertIn("SUMMARY:Design review", body)

        inside, outside = self.mcp(pol, call("calendar.read", **{"from": "2026-12-01", "to": "2026-12-02"}),
                                   call("calendar.read", **{"from": "2026-12-02", "to": "2026-12-03"}))
        events = self.result(inside)["structuredContent"]["events"]
        self.assertEqual([(e["summary"], e["start"], e["end"], e["location"]) for e in events],
                         [("Design review", "2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z", "Room 4")])
        self.assertEqual(self.result(outside)["structuredContent"]["events"], [])

        deleted, again = self.mcp(pol, call("calendar.delete", id=event_id), call("calendar.delete", id=event_id))
        self.assertFalse(self.result(deleted)["isError"])
        self.assertTrue(self.result(again)["isError"])
        self.assertEqual(self.cal.request("GET", self.cal.collection + event_id)[0], 404)

        # An id that would leave the collection is refused before anything is sent.
        bad, = self.mcp(pol, call("calendar.delete", id="../other/x.ics"))
        self.assertTrue(self.result(bad)["isError"])
        self.assertIn("id must be", self.result(bad)["content"][0]["text"])

    def test_read_grant_does_not_write(self):
        pol = self.accounts_policy("cal-reader", 'allow = ["calendar.read"]')
        read, create = self.mcp(pol, call("calendar.read"),
                                call("calendar.create", summary="x", start="2026-12-05", end="2026-12-06"))
        self.assertFalse(self.result(read)["isError"])
        self.assertIn("calendar.create is not granted", json.dumps(create))
        _, body = self.cal.request("PROPFIND", self.cal.collection, headers={"Depth": "1"})
        self.assertNotIn("20261205", body)

    def test_email_list_and_read_from_dovecot(self):
        pol = self.accounts_policy("mail-reader", 'allow = ["email.list", "email.read"]')
        listed, = self.mcp(pol, call("email.list"))
        msgs = self.result(listed)["structuredContent"]["messages"]
        self.assertEqual([m["subject"] for m in msgs], ["Re: café budget", "Lunch on Friday?"])  # newest first
        self.assertEqual(msgs[1]["from"], "Bob <bob@example.com>")
        one, = self.mcp(pol, call("email.read", uid=msgs[0]["uid"]))
        content = self.result(one)["structuredContent"]
        self.assertIn("The café budget is approved.", content["text"])
        self.assertEqual(content["date"], "2026-11-30T10:00:00Z")
        bad, = self.mcp(pol, call("email.list", mailbox="../../etc"))
        self.assertTrue(self.result(bad)["isError"])

    def test_email_send_through_smtp_with_constraints(self):
        pol = self.accounts_policy("mail-sender", 'allow = ["email.send"]',
                                   '[tools.constraints]\n"email.send" = { to = ["*@example.com"] }\n')
        before = len(self.smtp.received())
        sent, upper, refused, *smuggled = self.mcp(
            pol, call("email.send", to=["bob@example.com"], subject="Grüße", body="See you at noon.\n.\nAlice"),
            call("email.send", to="carol@EXAMPLE.Com", subject="case", body="y"),
            call("email.send", to=["bob@example.com", "eve@evil.com"], subject="x", body="y"),
            # Each matches the glob as text, but is not one bare address: refused before anything runs.
            call("email.send", to="eve@evil.com>, <bob@example.com", subject="x", body="y"),
            call("email.send", to="Eve <eve@evil.com> bob@example.com", subject="x", body="y"),
            call("email.send", to="eve@evil.com (bob@example.com)", subject="x", body="y"),
            call("email.send", to=["bob@example.com", ["eve@evil.com"]], subject="x", body="y"),
            call("email.send", subject="x", body="y"))
        self.assertFalse(self.result(sent)["isError"], sent)
        self.assertFalse(self.result(upper)["isError"], upper)  # the domain is matched, and sent to, in lower case
        got = self.smtp.received()[before:]
        self.assertEqual(len(got), 2, got)  # only the first two were delivered
        self.assertEqual(got[0]["from"], "alice@example.com")
        self.assertEqual(got[0]["to"], ["bob@example.com"])
        self.assertEqual(got[1]["to"], ["carol@example.com"])
        self.assertTrue(got[0]["authenticated"])
        self.assertIn("See you at noon.", got[0]["data"])
        self.assertIn("=?utf-8?", got[0]["data"].lower())  # the subject, encoded
        self.assertIn("eve@evil.com", json.dumps(refused))
        self.assertIn("tools.constraints", json.dumps(refused))
        for answer in smuggled:
            text = self.result(answer)["content"][0]["text"]
            self.assertTrue(text.startswith("agentos: refused: "), text)  # the broker's, not the tool's
        self.assertIn("is not one bare address", self.result(smuggled[0])["content"][0]["text"])
        self.assertIn("must be given", self.result(smuggled[-1])["content"][0]["text"])

    def test_the_password_stays_with_the_daemon(self):
        pol = self.accounts_policy("mail-probe", 'allow = ["email.list"]')
        # The agent cannot reach the servers itself (its own network namespace) ...
        script = (f"import socket\nfor p in ({self.imap.port}, {self.cal.port}, {self.smtp.port}):\n"
                  "    print(socket.socket().connect_ex(('127.0.0.1', p)))\n"
                  f"print({PASSWORD.encode()!r} in open('/proc/self/environ', 'rb').read())\n")
        r = self.daemon.ctl("run", "--policy", str(pol), "--", "/usr/bin/python3", "-c", script, user=OWNER)
        lines = r.stdout.split()
        self.assertEqual(len(lines), 4, r.stdout + r.stderr)
        self.assertTrue(all(int(x) != 0 for x in lines[:3]), lines)
        self.assertEqual(lines[3], "False")
        # ... while outside agentos the same connection works: the positive control.
        with __import__("socket").create_connection(("127.0.0.1", self.imap.port), timeout=5) as s:
            self.assertTrue(s.recv(100).startswith(b"* OK"))
        # The answer never carries it either.
        listed, = self.mcp(pol, call("email.list"))
        self.assertNotIn(PASSWORD, json.dumps(listed))

    def test_wrong_or_missing_password_is_a_clear_error(self):
        pol = self.accounts_policy("mail-wrong", 'allow = ["email.list", "calendar.read"]')
        self.set_secret("mail", "not the password")
        self.set_secret("calendar", "not the password")
        mail, cal = self.mcp(pol, call("email.list"), call("calendar.read"))
        self.assertTrue(self.result(mail)["isError"])
        self.assertIn("refused the account", self.result(mail)["content"][0]["text"])
        self.assertTrue(self.result(cal)["isError"])
        self.assertIn("401", self.result(cal)["content"][0]["text"])
        self.assertEqual(self.daemon.ctl("secret", "rm", "mail", user=OWNER).returncode, 0)
        missing, = self.mcp(pol, call("email.list"))
        self.assertIn('secret "mail" is not set', self.result(missing)["structuredContent"]["error"])
        # No account in the policy: said so, and nothing is started.
        bare = self.agent_policy("no-account", tools='[tools]\nallow = ["calendar.read"]\n')
        none, = self.mcp(bare, call("calendar.read"))
        self.assertIn("names no account", self.result(none)["content"][0]["text"])

    def test_calls_are_audited_without_the_password(self):
        pol = self.accounts_policy("cal-audit", 'allow = ["calendar.read"]')
        self.mcp(pol, call("calendar.read"))
        ops = [e["operation"] for e in self.broker_audit() if e["agent_name"] == "cal-audit"]
        self.assertTrue(any(o.startswith("tool calendar.read") for o in ops), ops)
        self.assertNotIn(PASSWORD, json.dumps(self.daemon.ctl_json("audit", user=OWNER)))


if __name__ == "__main__":
    import unittest
    unittest.main()
