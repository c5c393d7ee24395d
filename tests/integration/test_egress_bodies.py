"""Request bodies through the gateway, from the clients agents use, unchanged: Python's urllib,
requests and httpx (which send the body in a write of its own after the head) and curl, each
POSTing over 1 MiB through a route and through the plain-HTTP proxy, again and again. The upstream
(http_fixture.py digest, behind nginx) answers with the length and digest of what it received. A
body that is malformed is answered 400, whether it comes with the head or after it; and a request
the gateway let through but could not carry out is audited as failed, with the reason."""
import textwrap
import unittest

from egress_env import HOST_V4
from test_egress import OWNER, SECRET, EgressTest

ROUTE = textwrap.dedent("""
    [[egress.route]]
    path = "/api"
    upstream = "https://api.example.test"
    header = "Authorization: Bearer {secret:apikey}"
""")
ROUNDS = 20

# Inside an agent: CLIENT posts a fresh random body to each URL ROUNDS times; prints "URL OK" with
# the number of answers that named exactly the body sent, and each other answer.
UPLOAD = textwrap.dedent("""
    import hashlib, os, ssl, subprocess, sys, urllib.request
    client, ca, rounds, *urls = sys.argv[1:]

    def post(url, body):
        if client == "urllib":
            ctx = ssl.create_default_context(cafile=ca)
            return urllib.request.urlopen(urllib.request.Request(url, data=body), context=ctx, timeout=60).read().decode()
        if client == "requests":
            import requests
            return requests.post(url, data=body, verify=ca, timeout=60).text
        if client == "httpx":
            import httpx
            return httpx.post(url, content=body, verify=ca, timeout=60).text
        r = subprocess.run(["curl", "-sS", "--fail-with-body", "--max-time", "60", "--cacert", ca, "--data-binary", "@-", url],
                           input=body, capture_output=True)
        return (r.stdout + r.stderr).decode(errors="replace")

    for url in urls:
        ok = 0
        for i in range(int(rounds)):
            body = os.urandom((1 << 20) + 4321 * i)  # over 1 MiB, no two alike
            want = "bytes=%d\\nsha256=%s\\n" % (len(body), hashlib.sha256(body).hexdigest())
            try:
                got = post(url, body)
            except Exception as e:
                got = "%s: %s" % (type(e).__name__, getattr(e, "read", lambda: str(e).encode())().decode(errors="replace"))
            if got == want:
                ok += 1
            else:
                print("answer", url, i, repr(got[:300]))
        print(url, ok, flush=True)
""")

ROUTE_URL = "http://127.0.0.1:3128/api/digest"
PROXY_URL = "http://other.example.test/digest"

# Inside an agent: a chunked body that is no such thing, with the head and in a write of its own;
# prints the status line of each answer.
BROKEN = textwrap.dedent("""
    import socket
    head = (b"POST http://other.example.test/digest HTTP/1.1\\r\\nHost: other.example.test\\r\\n"
            b"Transfer-Encoding: chunked\\r\\n\\r\\n")
    for writes in ([head + b"zz\\r\\nnot a chunk\\r\\n"], [head, b"zz\\r\\nnot a chunk\\r\\n"]):
        s = socket.create_connection(("127.0.0.1", 3128), timeout=30)
        for w in writes:
            s.sendall(w)
        print(s.recv(4096).split(b"\\r\\n")[0].decode())
""")


class Bodies(EgressTest):
    def setUp(self):
        super().setUp()
        r = self.daemon.ctl("secret", "set", "apikey", user=OWNER, input=SECRET + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_clients_post_whole_bodies_through_a_route_and_the_proxy(self):
        for client in ("urllib", "requests", "httpx", "curl"):
            with self.subTest(client=client):
                name = f"bodies-{client}"
                pol = self.egress_policy(name, allow=["other.example.test:80"], routes=ROUTE)
                code, out, err = self.python(pol, UPLOAD, client, str(self.world.ca_cert), str(ROUNDS), ROUTE_URL, PROXY_URL)
                self.assertEqual(code, 0, out + err)
                self.assertEqual(out.splitlines()[-2:], [f"{ROUTE_URL} {ROUNDS}", f"{PROXY_URL} {ROUNDS}"], out)
                events = [e for e in self.egress_audit() if e["agent_name"] == name]
                self.assertEqual(sum("egress route /api -> api.example.test:443" in e["operation"] for e in events), ROUNDS)
                self.assertEqual(sum("egress http other.example.test:80" in e["operation"] for e in events), ROUNDS)
                self.assertEqual([e["operation"] for e in events if e["decision"] != "allow"], [])

    def test_a_malformed_body_is_answered_400_with_the_head_or_after_it(self):
        pol = self.egress_policy("malformed", allow=["other.example.test:80"])
        code, out, err = self.python(pol, BROKEN)
        self.assertEqual((code, out), (0, "HTTP/1.1 400 Bad Request\n" * 2), err)
        self.assertEqual(self.python(pol, UPLOAD, "urllib", str(self.world.ca_cert), "1", PROXY_URL)[1],
                         f"{PROXY_URL} 1\n")  # the control: a body that is one

    def test_a_request_that_failed_is_audited_as_failed(self):
        pol = self.egress_policy("failing", allow=["other.example.test:80", "private.example.test:80", "10.1.2.3/32:80"])
        code, out, err = self.python(pol, BROKEN)
        self.assertEqual((code, out), (0, "HTTP/1.1 400 Bad Request\n" * 2), err)
        # Allowed (the range is granted), but nothing routes there: the connect fails.
        code, out, err = self.curl(pol, "http://private.example.test/")
        self.assertIn("502", out + err)
        code, out, err = self.curl(pol, "http://other.example.test/echo")  # the control
        self.assertEqual(code, 0, err)
        events = [(e["decision"], e["operation"]) for e in self.egress_audit() if e["agent_name"] == "failing"]
        self.assertEqual([d for d, o in events if o.startswith("egress http other.example.test:80 (") and
                          ": malformed request body: invalid character in chunk size header" in o], ["fail"] * 2, events)
        self.assertEqual([d for d, o in events if o.startswith("egress http private.example.test:80: "
                                                               "cannot connect to private.example.test port 80")],
                         ["fail"], events)
        self.assertEqual([d for d, o in events if o.startswith("egress http other.example.test:80 (") and
                          "malformed" not in o], ["allow"], events)

    def test_an_upstream_that_never_answers_fails_at_the_deadline(self):
        # A listener on the host side that is never accepted from: the connect succeeds, and the
        # gateway's TLS handshake waits for an answer that does not come.
        with self.world.socket() as silent:
            silent.bind((HOST_V4, 0))
            silent.listen()
            port = silent.getsockname()[1]
            route = f'[[egress.route]]\npath = "/silent"\nupstream = "https://{HOST_V4}:{port}"\n'
            pol = self.egress_policy("silent", routes=route)
            code, out, err = self.curl(pol, "http://127.0.0.1:3128/silent/x")
        reason = f"no connection to {HOST_V4} port {port} within 5000 ms"  # the daemon's handshake timeout
        self.assertIn("502", out + err)
        self.assertIn(reason, out)
        events = [(e["decision"], e["operation"]) for e in self.egress_audit() if e["agent_name"] == "silent"]
        self.assertEqual([d for d, o in events if reason in o], ["fail"], events)


if __name__ == "__main__":
    unittest.main()
