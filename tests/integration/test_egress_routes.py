"""[[egress.route]] paths: what follows a route's path stays beneath the upstream's base path, so
the route's secret reaches nothing else at the upstream. A dot segment, an empty segment, a
backslash or an encoded '/', '.' or '\\' there is refused (400, audited), never passed on for the
upstream to resolve. Against real nginx (egress_env.py), which does resolve them: /base/ echoes the
Authorization header it got, and so does /echo, outside the base path."""
import json
import textwrap
import unittest

from test_egress import OWNER, SECRET, EgressTest

ROUTE = textwrap.dedent("""
    [[egress.route]]
    path = "/llm"
    upstream = "https://api.example.test/base"
    header = "Authorization: Bearer {secret:apikey}"
""")

# Each would reach /echo (or /base's parent) at nginx, with the secret, if passed on as it is.
ESCAPES = ["/llm/../echo", "/llm/../../echo", "/llm/x/../../echo", "/llm/%2e%2e/echo", "/llm/%2E%2e/echo",
           "/llm/.%2e/echo", "/llm/%2e./echo", "/llm/..%2fecho", "/llm/x%2f..%2f..%2fecho", "/llm/%2e%2e%2fecho",
           "/llm/..%5c..%5cecho", "/llm/..\\..\\echo", "/llm//echo", "/llm/./echo", "/llm/x/..", "/llm/..;/echo",
           "/llm/x/..?q=1"]
ORDINARY = ["/llm/echo", "/llm/a/b.c?next=../../echo", "/llm/%41bc"]

# Inside an agent: each path as a route request, sent as it is; prints one JSON line per path.
SEND = textwrap.dedent("""
    import json, socket, sys
    for path in sys.argv[1:]:
        s = socket.create_connection(("127.0.0.1", 3128), timeout=30)
        s.sendall(b"GET %s HTTP/1.1\\r\\nHost: 127.0.0.1:3128\\r\\nConnection: close\\r\\n\\r\\n" % path.encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        head, _, body = data.partition(b"\\r\\n\\r\\n")
        print(json.dumps({"path": path, "status": head.split(b"\\r\\n")[0].decode(), "body": body.decode(errors="replace")}))
""")


class RoutePaths(EgressTest):
    def setUp(self):
        super().setUp()
        r = self.daemon.ctl("secret", "set", "apikey", user=OWNER, input=SECRET + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)

    def send(self, pol, paths):
        code, out, err = self.python(pol, SEND, *paths)
        self.assertEqual(code, 0, out + err)
        return {r["path"]: r for r in map(json.loads, out.splitlines())}

    def test_paths_that_could_leave_the_base_path_are_refused(self):
        pol = self.egress_policy("route-paths", routes=ROUTE)
        replies = self.send(pol, ESCAPES + ORDINARY)
        for path in ESCAPES:
            with self.subTest(path=path):
                self.assertEqual(replies[path]["status"], "HTTP/1.1 400 Bad Request", replies[path])
                self.assertIn("the path after /llm holds", replies[path]["body"])
                self.assertNotIn(SECRET, replies[path]["body"])
        # The control: ordinary paths, the last sent, reach the base path with the secret.
        for path, uri in zip(ORDINARY, ["/base/echo", "/base/a/b.c?next=../../echo", "/base/%41bc"]):
            self.assertEqual(replies[path]["status"], "HTTP/1.1 200 OK", replies[path])
            self.assertIn(f"base\nhost=api.example.test\nauth=Bearer {SECRET}\nuri={uri}\n", replies[path]["body"])
        self.world.wait_for_access(lambda e: e["uri"] == "/base/%41bc")
        # nginx logs in order: whatever carried the secret came before that, and stayed in /base/.
        for e in self.world.access_entries():
            if SECRET in e["auth"]:
                self.assertTrue(e["path"].startswith("/base/"), e)
        denied = [e["operation"] for e in self.egress_audit() if e["decision"] == "deny"]
        self.assertIn("egress route /llm -> api.example.test:443: the path after /llm holds a dot segment (\"..\"), "
                      "which could leave the route's upstream path", denied)
        self.assertIn("egress route /llm -> api.example.test:443: the path after /llm holds an encoded '.' (%2E), "
                      "which could leave the route's upstream path", denied)


if __name__ == "__main__":
    unittest.main()
