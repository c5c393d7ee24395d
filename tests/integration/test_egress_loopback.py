"""A port granted on the host's own loopback (issue 14, defect 6: a local model server such as
ollama on 127.0.0.1:11434) is reached by the ordinary clients, which skip the proxy for loopback
(NO_PROXY), through the gateway's listener on the agent's own loopback at that port; `localhost`
resolves there. Every other port of the agent's loopback stays its own. The host side's service
(http_fixture.py hello, on every interface, port 8080) stands for the model server."""
import textwrap
import unittest

from egress_env import HOST_SERVICE_PORT as PORT
from test_egress import NODE, NODE_FETCH, EgressTest

# urllib with the agent's environment as it is (HTTP_PROXY and NO_PROXY set): one line per URL.
FETCH = textwrap.dedent("""
    import sys, urllib.request
    for url in sys.argv[1:]:
        try:
            print(url, urllib.request.urlopen(url, timeout=20).read().decode().strip(), flush=True)
        except Exception as e:
            print(url, type(e).__name__, getattr(e, "reason", e), flush=True)
""")

# The agent's own server on its own loopback, then a fetch of it: its loopback is its own.
OWN = textwrap.dedent("""
    import http.server, sys, threading, urllib.request
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200); self.end_headers(); self.wfile.write(b"the agent's own")
        def log_message(self, *a): pass
    s = http.server.HTTPServer(("127.0.0.1", 9000), H)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    for url in ("http://127.0.0.1:9000/", "http://localhost:9000/", sys.argv[1]):
        try:
            print(url, urllib.request.urlopen(url, timeout=20).read().decode().strip(), flush=True)
        except Exception as e:
            print(url, type(e).__name__, flush=True)
""")


class HostLoopback(EgressTest):
    def fetch(self, pol, *urls):
        code, out, err = self.python(pol, FETCH, *urls)
        self.assertEqual(code, 0, out + err)
        return dict(line.split(" ", 1) for line in out.splitlines())

    def test_a_granted_loopback_port_is_reached_by_ordinary_clients(self):
        # The control outside any agent: the service answers on the host side's loopback.
        r = self.world.run(["curl", "-sS", "--noproxy", "*", "--max-time", "20", f"http://127.0.0.1:{PORT}/"])
        self.assertEqual(r.stdout, "host service\n", r.stderr)
        for grant, urls in ((f"127.0.0.1:{PORT}", [f"http://127.0.0.1:{PORT}/"]),
                            (f"localhost:{PORT}", [f"http://localhost:{PORT}/", f"http://127.0.0.1:{PORT}/",
                                                   f"http://[::1]:{PORT}/"])):
            with self.subTest(grant=grant):
                pol = self.egress_policy("loop-" + grant.split(":")[0].replace(".", "-"), allow=[grant])
                self.assertEqual(self.fetch(pol, *urls), {u: "host service" for u in urls})
                code, out, err = self.agent(pol, "/usr/bin/curl", "-sS", "--max-time", "20", urls[0])
                self.assertEqual((code, out), (0, "host service\n"), err)
                code, out, err = self.agent(pol, NODE, "-e", NODE_FETCH, urls[0])
                self.assertEqual(code, 0, out + err)
                self.assertIn("host service", out)
        connections = [e["operation"] for e in self.egress_audit() if e["decision"] == "allow"]
        self.assertTrue(any(o.startswith(f"egress transparent 127.0.0.1:{PORT}") for o in connections), connections)

    def test_the_rest_of_its_loopback_stays_its_own(self):
        pol = self.egress_policy("loop-own", allow=[f"127.0.0.1:{PORT}"])
        # Its own server on another port answers; a port of the host's not granted is not reached
        # (the agent's loopback has nothing there), nor is the host's loopback without a grant.
        out = self.python(pol, OWN, f"http://127.0.0.1:{PORT + 1}/")[1]
        self.assertIn("http://127.0.0.1:9000/ the agent's own", out)
        self.assertIn("http://localhost:9000/ the agent's own", out)
        self.assertIn(f"http://127.0.0.1:{PORT + 1}/ URLError", out)
        bare = self.egress_policy("loop-none", allow=["api.example.test:443"])
        self.assertIn("URLError", self.fetch(bare, f"http://127.0.0.1:{PORT}/")[f"http://127.0.0.1:{PORT}/"])


if __name__ == "__main__":
    unittest.main()
