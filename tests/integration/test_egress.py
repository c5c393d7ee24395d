"""The egress gateway against real servers: nginx (TLS with a test CA) and dnsmasq, whose answers
the tests control, in a network namespace of their own (egress_env.py). The daemon runs in the
namespace that stands for the host, joined to the servers' by a veth pair, so "the Internet" is
93.184.216.0/24 and nothing leaves the machine.

Agents use ordinary clients, unchanged: curl and Python's standard library find the gateway
through HTTP(S)_PROXY, which the daemon sets; clients that ignore it (Node's fetch) resolve names at
the gateway's DNS stub and connect to the address it gives; a route is reached at the gateway
directly."""
import json
import os
import pathlib
import re
import select
import shutil
import signal
import subprocess
import textwrap
import threading
import time
import unittest

from egress_env import EgressWorld, API_V4, INTERNET_V4
from harness import AGENTCTL, USERS, Daemon, DaemonTest, follow_audit, follow_until

OWNER = USERS[0]
NODE = shutil.which("node") or "/usr/bin/node"
SECRET = "sk-test-0123456789abcdef-must-stay-in-the-kernel"

# Python run inside agents: fetch URL through whatever proxy the environment names.
FETCH = textwrap.dedent("""
    import ssl, sys, urllib.request
    ctx = ssl.create_default_context(cafile=sys.argv[1])
    try:
        body = urllib.request.urlopen(sys.argv[2], context=ctx, timeout=30).read().decode()
        print(body, end="")
    except Exception as e:
        print("error", e)
        sys.exit(1)
""")


class EgressTest(DaemonTest):
    """One world and one daemon (in the world's namespace) for the class."""

    @classmethod
    def setUpClass(cls):
        cls.world = EgressWorld().start()
        try:
            cls._start_daemon()
        except BaseException:
            cls.world.stop()
            raise

    @classmethod
    def _start_daemon(cls):
        # DaemonTest.setUpClass, with the daemon in the world's network namespace.
        original = Daemon.__init__
        world = cls.world

        def init(self, root, *a, args=(), **kw):
            original(self, root, *a, wrap=world.wrap,
                     args=["--egress-dns", world.dns_server, "--egress-ca", str(world.ca_cert),
                           "--egress-handshake-timeout-ms", "5000", *args], **kw)
        Daemon.__init__ = init
        try:
            super().setUpClass()
        finally:
            Daemon.__init__ = original

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.world.stop()

    def egress_policy(self, name, allow=(), routes="", limits="", command=None, write=(), read=(), env=None, exec=()):
        ca_dir = str(pathlib.Path(self.world.ca_cert).parent)
        extra = f"[egress]\nallow = {json.dumps(list(allow))}\n{limits}\n{routes}"
        if env:
            extra += "\n[agent.env]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in env.items())
        return self.policy(name, command=command or ["/usr/bin/true"], read=[ca_dir, *read], write=write,
                           exec=["/usr/bin", *exec], extra=extra)

    def agent(self, pol, *cmd, user=OWNER):
        r = self.daemon.ctl("run", "--policy", str(pol), "--", *cmd, user=user)
        return r.returncode, r.stdout, r.stderr

    def curl(self, pol, *args, user=OWNER):
        return self.agent(pol, "/usr/bin/curl", "-sS", "--fail-with-body", "--max-time", "20", "--cacert", str(self.world.ca_cert),
                          *args, user=user)

    def python(self, pol, code, *args, user=OWNER):
        return self.agent(pol, "/usr/bin/python3", "-c", code, *args, user=user)

    def egress_audit(self, user=OWNER):
        return [e for e in self.daemon.ctl_json("audit", user=user) if e["layer"] == "egress"]

    def assert_refused(self, result, reason):
        code, out, err = result
        self.assertNotEqual(code, 0, out)
        self.assertIn("403", err + out)
        events = self.egress_audit()
        self.assertTrue(any(e["decision"] == "deny" and reason in e["operation"] for e in events),
                        f"no audited denial mentioning {reason!r}: {[e['operation'] for e in events[-5:]]}")


class GrantedNames(EgressTest):
    def test_curl_https_http_and_socks5(self):
        pol = self.egress_policy("names", allow=["api.example.test:443", "other.example.test:80", "*.wiki.example.test:443"])
        code, out, err = self.curl(pol, "https://api.example.test/echo")
        self.assertEqual(code, 0, err)
        self.assertIn("host=api.example.test\n", out)
        code, out, err = self.curl(pol, "http://other.example.test/echo")  # plain HTTP, proxied
        self.assertEqual(code, 0, err)
        self.assertIn("host=other.example.test\n", out)
        code, out, err = self.curl(pol, "--socks5-hostname", "127.0.0.1:3128", "https://a.wiki.example.test/echo")
        self.assertEqual(code, 0, err)
        self.assertIn("host=a.wiki.example.test\n", out)
        allowed = [e["operation"] for e in self.egress_audit() if e["decision"] == "allow"]
        self.assertTrue(any(f"connect api.example.test:443 ({API_V4})" in o and " up, " in o for o in allowed), allowed)
        self.assertTrue(any("egress http other.example.test:80" in o for o in allowed), allowed)
        self.assertTrue(any("egress socks5 a.wiki.example.test:443" in o for o in allowed), allowed)

    def test_python_standard_library(self):
        pol = self.egress_policy("stdlib", allow=["b.wiki.example.test:443", "other.example.test:80"])
        code, out, err = self.python(pol, FETCH, str(self.world.ca_cert), "https://b.wiki.example.test/echo")
        self.assertEqual(code, 0, out + err)
        self.assertIn("host=b.wiki.example.test\n", out)
        code, out, err = self.python(pol, FETCH, str(self.world.ca_cert), "http://other.example.test/echo?q=1")
        self.assertEqual(code, 0, out + err)
        self.assertIn("uri=/echo?q=1\n", out)

    def test_requests_and_httpx(self):
        # The two most used HTTP clients in Python agents, unchanged: they read the proxy from the
        # environment the daemon set.
        code = textwrap.dedent("""
            import sys, httpx, requests
            ca, url = sys.argv[1:]
            print(requests.get(url, verify=ca, timeout=30).text, end="")
            print(httpx.get(url, verify=ca, timeout=30).text, end="")
        """)
        pol = self.egress_policy("clients", allow=["api.example.test:443"])
        status, out, err = self.python(pol, code, str(self.world.ca_cert), "https://api.example.test/echo")
        self.assertEqual(status, 0, out + err)
        self.assertEqual(out.count("host=api.example.test\n"), 2, out)
        # The control: the same clients to a name the policy does not grant are refused.
        status, out, err = self.python(pol, code, str(self.world.ca_cert), "https://other.example.test/echo")
        self.assertNotEqual(status, 0)
        self.assertIn("403", out + err)

    def test_ipv6_upstream(self):
        pol = self.egress_policy("v6", allow=["v6.example.test:443"])
        code, out, err = self.curl(pol, "https://v6.example.test/echo")
        self.assertEqual(code, 0, err)
        self.assertIn("host=v6.example.test\n", out)


class Refusals(EgressTest):
    def test_ungranted_names_ports_and_addresses(self):
        pol = self.egress_policy("narrow", allow=["api.example.test:443"])
        wide = self.egress_policy("wide", allow=["other.example.test:443", "api.example.test:80", f"{INTERNET_V4}:443"])
        for args, reason in (
                (["https://other.example.test/echo"], "other.example.test is not granted"),
                (["http://api.example.test/echo"], "api.example.test is granted, but not port 80"),
                (["--resolve", f"api.example.test:443:{API_V4}", f"https://{API_V4}/echo"], f"{API_V4} port 443 is not granted"),
                (["http://api.example.test:443/echo"], None)):  # granted name and port: a plain request goes through
            with self.subTest(args=args):
                if reason is None:
                    code, _, err = self.curl(pol, *args)
                    self.assertNotIn("403", err)
                    continue
                self.assert_refused(self.curl(pol, *args), reason)
                # The control: the same request where it is granted.
                code, out, err = self.curl(wide, *args)
                self.assertEqual(code, 0, err)
                self.assertIn("host=", out)

    def test_tls_server_name_must_be_the_tunnels(self):
        code = textwrap.dedent("""
            import socket, ssl, sys
            s = socket.create_connection(("127.0.0.1", 3128))
            s.sendall(b"CONNECT api.example.test:443 HTTP/1.1\\r\\nHost: api.example.test:443\\r\\n\\r\\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 200")
            ctx = ssl.create_default_context(cafile=sys.argv[1])
            try:
                t = ctx.wrap_socket(s, server_hostname=sys.argv[2])
                t.sendall(b"GET /echo HTTP/1.1\\r\\nHost: " + sys.argv[2].encode() + b"\\r\\nConnection: close\\r\\n\\r\\n")
                print(t.recv(4096).decode().splitlines()[0])
            except (ssl.SSLError, OSError) as e:
                print("refused", type(e).__name__)
        """)
        pol = self.egress_policy("sni", allow=["api.example.test:443"])
        _, out, err = self.python(pol, code, str(self.world.ca_cert), "api.example.test")
        self.assertEqual(out.strip(), "HTTP/1.1 200 OK", err)
        _, out, err = self.python(pol, code, str(self.world.ca_cert), "other.example.test")
        self.assertTrue(out.startswith("refused"), out + err)
        self.assertTrue(any("TLS server name \"other.example.test\" is not api.example.test" in e["operation"]
                            for e in self.egress_audit()))

    def test_rebinding_to_loopback_and_metadata(self):
        pol = self.egress_policy("rebind", allow=["rebind.example.test:443", "metadata.example.test:80", "flip.example.test:443"])
        self.assert_refused(self.curl(pol, "https://rebind.example.test/echo"), "it resolves to 127.0.0.1, a loopback address")
        self.assert_refused(self.curl(pol, "http://metadata.example.test/latest/meta-data/"),
                            "it resolves to 169.254.169.254, a link-local address")
        code, out, err = self.curl(pol, "https://flip.example.test/echo")
        self.assertEqual(code, 0, err)
        self.world.set_answer("flip.example.test", "127.0.0.1")
        try:
            self.assert_refused(self.curl(pol, "https://flip.example.test/echo"), "it resolves to 127.0.0.1")
        finally:
            self.world.set_answer("flip.example.test", API_V4)
        # The control: with loopback granted explicitly, the name passes the check (and nothing
        # listens there, so the connect itself fails: a 502, not a 403).
        granted = self.egress_policy("rebind-ok", allow=["rebind.example.test:443", "127.0.0.0/8:443"])
        code, out, err = self.curl(granted, "https://rebind.example.test/echo")
        self.assertNotEqual(code, 0)
        self.assertIn("CONNECT tunnel failed, response 502", out + err)

    def test_no_udp_raw_or_dns_out_of_the_sandbox(self):
        pol = self.egress_policy("udp", allow=["api.example.test:443"])
        probe = self.probe
        self.assertEqual(self.world.run([probe, "net", "udp", API_V4, "53"]).stdout, "ok\n")  # the control
        code, out, _ = self.agent(pol, probe, "net", "udp", API_V4, "53")
        self.assertEqual(out.split()[:2], ["denied", "ENETUNREACH"])
        code, out, _ = self.agent(pol, probe, "socket", "raw")
        self.assertEqual(out.split()[:2], ["denied", "EPERM"])
        # The world's DNS server is not the agent's: its own loopback has nothing on port 53.
        code, out, _ = self.agent(pol, probe, "connect", "127.0.0.1", "53")
        self.assertEqual(out.split()[:2], ["denied", "ECONNREFUSED"])


# Node's built-in fetch, as an agent would call it: no proxy agent, no options (Node before 24 reads
# no proxy from the environment). Prints the body, or the error's code.
NODE_FETCH = textwrap.dedent("""
    fetch(process.argv[1]).then(async r => process.stdout.write(await r.text()))
      .catch(e => { console.log("error", (e.cause && (e.cause.code || e.cause.message)) || e.message); process.exit(1); });
""")

# Python with the proxy turned off, and plain sockets: clients that never look at HTTP(S)_PROXY.
NO_PROXY_CLIENT = textwrap.dedent("""
    import socket, ssl, sys, urllib.request
    ca, url = sys.argv[1:]
    ctx = ssl.create_default_context(cafile=ca)
    address = socket.gethostbyname("api.example.test")
    print("address", address)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx))
    print(opener.open(url, timeout=30).read().decode(), end="")

    def attempt(what, host, server_name):
        try:
            s = socket.create_connection((host, 443), timeout=30)
            t = ctx.wrap_socket(s, server_hostname=server_name)
            t.sendall(b"GET /echo HTTP/1.1\\r\\nHost: " + server_name.encode() + b"\\r\\nConnection: close\\r\\n\\r\\n")
            print(what, t.recv(4096).decode().splitlines()[0])
        except OSError as e:
            print(what, "refused", type(e).__name__)

    attempt("same-name", address, "api.example.test")
    attempt("other-name", address, "other.example.test")  # the SNI of another name, to api's address
    attempt("never-given", "127.77.200.200", "api.example.test")  # an address the stub did not give out
""")


class Transparent(EgressTest):
    """Clients that ignore the proxy: the DNS stub gives each granted name an address on the agent's
    loopback, where the gateway listens on the granted ports and holds the connection to that name."""

    def node_policy(self, name, allow, read=()):
        # NODE_EXTRA_CA_CERTS trusts the test CA, as an agent calling a private service would.
        return self.egress_policy(name, allow=allow, read=read, env={"NODE_EXTRA_CA_CERTS": str(self.world.ca_cert)})

    def node(self, pol, url):
        return self.agent(pol, NODE, "-e", NODE_FETCH, url)

    def test_node_fetch_unchanged(self):
        pol = self.node_policy("node", allow=["api.example.test:443", "other.example.test:80"])
        code, out, err = self.node(pol, "https://api.example.test/echo")
        self.assertEqual(code, 0, out + err)
        self.assertIn("host=api.example.test\n", out)
        code, out, err = self.node(pol, "http://other.example.test/echo?q=1")
        self.assertEqual(code, 0, out + err)
        self.assertIn("host=other.example.test\n", out)
        self.assertIn("uri=/echo?q=1\n", out)
        audit = self.egress_audit()
        allowed = [e["operation"] for e in audit if e["decision"] == "allow"]
        self.assertTrue(any(re.search(r"egress dns api\.example\.test \(127\.77\.\d+\.\d+\)", o) for o in allowed), allowed)
        self.assertTrue(any(f"egress transparent api.example.test:443 ({API_V4})" in o and " up, " in o for o in allowed), allowed)
        # Refused, and audited: a name the world's DNS knows but the policy does not grant (the stub
        # says it does not exist), and a granted name on a port granted only to another name.
        code, out, err = self.node(pol, "https://big.example.test/echo")
        self.assertNotEqual(code, 0)
        self.assertEqual(out.strip(), "error ENOTFOUND", err)
        code, out, err = self.node(pol, "https://other.example.test/echo")
        self.assertNotEqual(code, 0)
        self.assertEqual(out.strip(), "error ECONNRESET", err)
        denied = [e["operation"] for e in self.egress_audit() if e["decision"] == "deny"]
        self.assertTrue(any("egress dns big.example.test: no [egress] grant names it (A query)" in o for o in denied), denied)
        self.assertTrue(any("egress transparent other.example.test:443: other.example.test is granted, but not port 443" in o
                            for o in denied), denied)
        # The controls: the same fetches, with the name and the port granted, go through.
        granted = self.node_policy("node-granted", allow=["big.example.test:443", "other.example.test:443"])
        for host in ("big.example.test", "other.example.test"):
            code, out, err = self.node(granted, f"https://{host}/echo")
            self.assertEqual(code, 0, out + err)
            self.assertIn(f"host={host}\n", out)

    def test_clients_that_ignore_the_proxy_are_held_to_the_grants(self):
        pol = self.egress_policy("no-proxy", allow=["api.example.test:443"])
        code, out, err = self.python(pol, NO_PROXY_CLIENT, str(self.world.ca_cert), "https://api.example.test/echo")
        self.assertEqual(code, 0, out + err)
        lines = dict(l.split(" ", 1) for l in out.splitlines() if " " in l)
        self.assertRegex(lines["address"], r"^127\.77\.\d+\.\d+$")
        self.assertIn("host=api.example.test\n", out)
        self.assertEqual(lines["same-name"], "HTTP/1.1 200 OK")
        self.assertTrue(lines["other-name"].startswith("refused"), out)
        self.assertTrue(lines["never-given"].startswith("refused"), out)
        denied = [e["operation"] for e in self.egress_audit() if e["decision"] == "deny"]
        self.assertTrue(any('TLS server name "other.example.test" is not api.example.test' in o for o in denied), denied)
        self.assertTrue(any("127.77.200.200 is not an address the gateway's DNS gave out" in o for o in denied), denied)

    def test_garbage_and_stalls_on_a_granted_port(self):
        code = textwrap.dedent("""
            import socket, ssl, sys
            address = socket.gethostbyname("api.example.test")

            def outcome(s):
                try:
                    return "answered" if s.recv(4096) else "closed"
                except OSError as e:
                    return type(e).__name__

            s = socket.create_connection((address, 443), timeout=30)
            s.sendall(bytes(range(256)))  # not TLS: relayed to the granted name's address, as in a tunnel
            print("garbage", outcome(s))
            s = socket.create_connection((address, 443), timeout=30)  # sends nothing
            print("stall", outcome(s))
            ctx = ssl.create_default_context(cafile=sys.argv[1])
            t = ctx.wrap_socket(socket.create_connection((address, 443), timeout=30), server_hostname="api.example.test")
            t.sendall(b"GET /echo HTTP/1.1\\r\\nHost: api.example.test\\r\\nConnection: close\\r\\n\\r\\n")
            print("after", t.recv(4096).decode().splitlines()[0])
        """)
        pol = self.egress_policy("transparent-garbage", allow=["api.example.test:443"])
        status, out, err = self.python(pol, code, str(self.world.ca_cert))
        self.assertEqual(status, 0, out + err)
        lines = dict(l.split(" ", 1) for l in out.splitlines())
        self.assertIn(lines["garbage"], ("answered", "closed", "ConnectionResetError"))  # ended, not hung
        # The stall is cut at the handshake timeout (5 s for this daemon) with a reset, and audited.
        self.assertEqual(lines["stall"], "ConnectionResetError")
        self.assertTrue(any("egress transparent api.example.test:443" in e["operation"] and
                            "no complete request within 5000 ms" in e["operation"] for e in self.egress_audit()))
        self.assertEqual(lines["after"], "HTTP/1.1 200 OK")  # and the gateway still serves

    def test_dns_stub_survives_garbage(self):
        code = textwrap.dedent("""
            import os, socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            header = bytes.fromhex("abcd0100000100000000000000")  # a query header, then no name
            for i in range(300):
                s.sendto([os.urandom(i % 40), header[:i % 13], header + os.urandom(i % 300)][i % 3], ("127.0.0.1", 53))
            s.sendto(bytes.fromhex("abcd8180"), ("127.0.0.1", 53))  # a response: never answered
            print(socket.gethostbyname("api.example.test").rsplit(".", 2)[0])
        """)
        pol = self.egress_policy("dns-garbage", allow=["api.example.test:443"])
        status, out, err = self.python(pol, code)
        self.assertEqual(status, 0, out + err)
        self.assertEqual(out.strip(), "127.77")

    def test_resolv_conf_where_the_agent_sees_etc(self):
        code = textwrap.dedent("""
            import socket
            print(open("/etc/resolv.conf").read().strip().splitlines()[-1])
            print(socket.gethostbyname("api.example.test").rsplit(".", 2)[0])
        """)
        host = pathlib.Path("/etc/resolv.conf").read_text() if pathlib.Path("/etc/resolv.conf").exists() else ""
        self.assertNotIn("agentos", host)  # the control: the host's own is not the agent's
        pol = self.node_policy("resolv", allow=["api.example.test:443"], read=["/etc"])
        status, out, err = self.python(pol, code)
        self.assertEqual(status, 0, out + err)
        self.assertEqual(out.split("\n")[:2], ["nameserver 127.0.0.1", "127.77"])


class BrokerFetch(EgressTest):
    """The broker's http.fetch tool goes out through the gateway, under the agent's own grants."""

    def test_fetch_is_held_to_the_agents_egress_grants(self):
        from test_broker import CLIENT, call
        pol = self.egress_policy("fetcher", allow=["other.example.test:443", "other.example.test:80"],
                                 routes='[tools]\nallow = ["http.fetch"]\n')
        r = self.daemon.ctl("run", "--policy", str(pol), "--", "/usr/bin/python3", "-c", CLIENT,
                            call("http.fetch", url="https://other.example.test/echo", headers={"X-Test": "7"}),
                            call("http.fetch", url="http://other.example.test/echo"),
                            call("http.fetch", url="https://api.example.test/echo"), user=OWNER)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        tls, plain, refused = (json.loads(l)["result"] for l in r.stdout.splitlines())
        self.assertFalse(tls["isError"], tls)
        self.assertEqual(tls["structuredContent"]["status"], 200)
        self.assertIn("host=other.example.test\nauth=\nx-test=7\n", tls["structuredContent"]["body"])
        self.assertIn("host=other.example.test", plain["structuredContent"]["body"])
        self.assertTrue(refused["isError"])
        self.assertIn("the egress gateway refused it: api.example.test is not granted", refused["content"][0]["text"])
        ops = [(e["decision"], e["operation"]) for e in self.egress_audit()]
        self.assertIn(("deny", "egress fetch api.example.test:443: api.example.test is not granted"), ops)
        # The control: the agent's own connection to the same name is refused the same way.
        code, _, err = self.curl(pol, "https://api.example.test/echo")
        self.assertNotEqual(code, 0)


    def test_fetch_urls_are_constrained_as_the_server_reads_them(self):
        from test_broker import CLIENT, call
        pol = self.egress_policy("fetch-narrow", allow=["other.example.test:443", "api.example.test:443"],
                                 routes='[tools]\nallow = ["http.fetch"]\n[tools.constraints]\n'
                                        '"http.fetch" = { url = ["https://other.example.test/echo*"] }\n')
        urls = ["HTTPS://Other.Example.Test:443/echo?q=%7e",  # the control: allowed, in its canonical form
                "https://other.example.test/echo/../redirect",  # nginx would serve /redirect
                "https://other.example.test/echo/%2e%2e/redirect",
                "https://other.example.test/echo/..;/redirect",
                "https://other.example.test@api.example.test/echo",
                "https://other.example.test:8443/echo",
                "http://other.example.test/echo"]
        r = self.daemon.ctl("run", "--policy", str(pol), "--", "/usr/bin/python3", "-c", CLIENT,
                            *(call("http.fetch", url=u) for u in urls), user=OWNER)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        ok, *refused = (json.loads(l)["result"] for l in r.stdout.splitlines())
        self.assertFalse(ok["isError"], ok)
        self.assertIn("host=other.example.test\n", ok["structuredContent"]["body"])
        self.assertIn("uri=/echo?q=~\n", ok["structuredContent"]["body"])  # what the server got is what was matched
        self.assertEqual(len(refused), len(urls) - 1)
        for url, answer in zip(urls[1:], refused):
            self.assertTrue(answer["isError"], (url, answer))
            self.assertTrue(answer["content"][0]["text"].startswith("agentos: refused: "), (url, answer))
        self.assertIn("a user or password before the host", refused[3]["content"][0]["text"])


class Secrets(EgressTest):
    ROUTES = textwrap.dedent("""
        [[egress.route]]
        path = "/api"
        upstream = "https://api.example.test"
        header = "Authorization: Bearer {secret:apikey}"
    """)

    def setUp(self):
        super().setUp()
        r = self.daemon.ctl("secret", "set", "apikey", user=OWNER, input=SECRET + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)

    def route_policy(self, name, allow=(), **kw):
        return self.egress_policy(name, allow=allow, routes=self.ROUTES, **kw)

    def test_secret_reaches_its_upstream_and_nowhere_else(self):
        pol = self.route_policy("route", allow=["other.example.test:443"])
        code, out, err = self.curl(pol, "http://127.0.0.1:3128/api/echo", "-H", "Authorization: Bearer made-up")
        self.assertEqual(code, 0, err)
        self.assertIn(f"auth=Bearer {SECRET}\n", out)  # the gateway's header replaced the agent's
        self.assertIn("host=api.example.test\n", out)
        self.world.wait_for_access(lambda e: e["host"] == "api.example.test" and e["auth"] == f"Bearer {SECRET}")
        # A redirect to another host is followed by the agent itself, without the secret.
        code, out, err = self.curl(pol, "-L", "http://127.0.0.1:3128/api/redirect")
        self.assertEqual(code, 0, err)
        self.assertIn("host=other.example.test\nauth=\n", out)
        other = self.world.wait_for_access(lambda e: e["host"] == "other.example.test" and e["uri"] == "/echo")
        self.assertEqual(other["auth"], "")
        for e in self.world.access_entries():
            if e["auth"]:
                self.assertEqual(e["host"], "api.example.test", e)
        # A path no route serves is not proxied anywhere.
        code, out, err = self.curl(pol, "http://127.0.0.1:3128/elsewhere")
        self.assertIn("no [[egress.route]] for /elsewhere", out)
        # Never logged: not in the daemon's log, not in the audit trail.
        self.assertNotIn(SECRET, self.daemon.log.read_text())
        self.assertNotIn(SECRET, (self.daemon.state / "audit.log").read_text())

    def test_secret_is_nowhere_in_the_agents_view(self):
        work = self.tmp / "secret-work"
        work.mkdir(exist_ok=True)
        os.chown(work, *self.owner_ids())
        script = textwrap.dedent(f"""
            curl -sS -o {work}/status -w '%{{http_code}}' http://127.0.0.1:3128/api/redirect-same > {work}/code
            env > {work}/env; cat /proc/self/cmdline > {work}/cmdline
            echo ready
            exec {self.probe} pause
        """)
        pol = self.route_policy("look", command=["/bin/sh", "-c", script], write=[str(work)])
        agent_id = self.daemon.ctl("run", "--policy", str(pol), "--detach", user=OWNER, check=True).stdout.strip()
        try:
            self.assertEqual(self.first_line(agent_id), "ready\n")
            self.assertEqual((work / "code").read_text(), "302")  # the route was used, with the secret
            self.world.wait_for_access(lambda e: e["uri"] == "/redirect-same" and e["auth"] == f"Bearer {SECRET}")
            needle = SECRET.encode()
            for f in work.iterdir():
                self.assertNotIn(needle, f.read_bytes(), f)
            pids = self.agent_pids(agent_id)
            self.assertGreaterEqual(len(pids), 2)  # init and the agent
            for pid in pids:
                for name in ("environ", "cmdline"):
                    self.assertNotIn(needle, pathlib.Path(f"/proc/{pid}/{name}").read_bytes())
                self.assertFalse(memory_holds(pid, needle), f"pid {pid}'s memory holds the secret")
        finally:
            self.daemon.ctl("stop", agent_id, user=OWNER)

    def test_the_cli_never_shows_a_value(self):
        r = self.daemon.ctl("--json", "secret", "list", user=OWNER, check=True)
        self.assertEqual([s["name"] for s in json.loads(r.stdout)], ["apikey"])
        self.assertEqual(json.loads(r.stdout)[0]["bytes"], len(SECRET))  # the line end was not kept
        self.assertNotIn(SECRET, r.stdout)
        other = self.daemon.ctl("--json", "secret", "list", user=USERS[1], check=True)
        self.assertEqual(json.loads(other.stdout), [])  # another user's secrets are theirs
        stored = self.daemon.state / "secrets" / str(self.owner_ids()[0]) / "apikey"
        self.assertEqual(stored.stat().st_mode & 0o777, 0o600)
        self.assertEqual(stored.stat().st_uid, 0)
        r = self.daemon.ctl("secret", "set", "bad/name", user=OWNER, input="x")
        self.assertEqual(r.returncode, 2)
        r = self.daemon.ctl("secret", "rm", "apikey", user=OWNER)
        self.assertEqual(r.returncode, 0, r.stderr)
        # Without its secret, an agent with that route does not start, and says why.
        code, out, err = self.curl(self.route_policy("nosecret"), "http://127.0.0.1:3128/api/echo")
        self.assertEqual(code, 1)
        self.assertIn('secret "apikey" is not set', err)

    def owner_ids(self):
        import pwd
        pw = pwd.getpwnam(OWNER)
        return pw.pw_uid, pw.pw_gid

    def agent_pids(self, agent_id):
        info = self.daemon.ctl_json("inspect", agent_id, user=OWNER)
        mount = "/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"
        cgroup = pathlib.Path(mount + info["agent"]["cgroup"])
        return [int(p) for p in (cgroup / "cgroup.procs").read_text().split()]


def read_memory(pid):
    """Every readable mapping of the process, as root reads it through /proc/PID/mem, in pieces.
    Under the sanitizer pass the daemon (and so every process it forks) reserves terabytes of
    shadow and allocator space, which cannot be read whole: there, and only there, mappings over
    1 GiB are left out; the plain pass reads everything."""
    limit = 1 << 30 if os.environ.get("AGENTOS_SANITIZED") else None
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            addr, perms = line.split()[:2]
            if not perms.startswith("r") or "[vvar]" in line or "[vsyscall]" in line:
                continue
            start, end = (int(x, 16) for x in addr.split("-"))
            if limit and end - start > limit:
                continue
            for at in range(start, end, 16 << 20):
                try:
                    mem.seek(max(start, at - 64))  # overlap, so nothing is split between pieces
                    yield mem.read(min(end, at + (16 << 20)) - max(start, at - 64))
                except OSError:
                    break


def cpu_seconds(pid):
    """User and system time the process has used so far."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def set_nofile(pid, soft):
    """Sets the process's soft RLIMIT_NOFILE as its own user: root here may lack CAP_SYS_RESOURCE,
    which prlimit() on another user's process needs."""
    status = pathlib.Path(f"/proc/{pid}/status").read_text()
    uid = re.search(r"^Uid:\s+(\d+)", status, re.M)[1]
    gid = re.search(r"^Gid:\s+(\d+)", status, re.M)[1]
    subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                    "prlimit", f"--pid={pid}", f"--nofile={soft}:"], check=True)


def memory_holds(pid, needle):
    return any(needle in piece for piece in read_memory(pid))


class Robustness(EgressTest):
    def test_burst_from_several_agents_with_garbage_and_stalls(self):
        fetch_many = textwrap.dedent("""
            import concurrent.futures, sys, urllib.request
            def get(i):
                return urllib.request.urlopen("http://other.example.test/echo?i=%d" % i, timeout=60).read()
            with concurrent.futures.ThreadPoolExecutor(40) as pool:
                bodies = list(pool.map(get, range(int(sys.argv[1]))))
            print(sum(b"host=other.example.test" in b for b in bodies))
        """)
        nasty = textwrap.dedent("""
            import os, socket, time
            garbage = socket.create_connection(("127.0.0.1", 3128))
            garbage.sendall(os.urandom(4096) + b"\\r\\n\\r\\n")
            print("garbage:", garbage.recv(100).split(b"\\r\\n")[0].decode())
            stalled = socket.create_connection(("127.0.0.1", 3128))
            stalled.sendall(b"CONNECT api.exam")  # and never more
            print("stalled:", stalled.recv(100).split(b"\\r\\n")[0].decode())
        """)
        gateway = self.gateway_pid()
        # The limit is the pool's size. The gateway counts a connection until it has seen both ends
        # close, so its count runs ahead of the agent's: one over waits, it is not reset.
        pols = [self.egress_policy(f"burst{i}", allow=["other.example.test:80"], limits="max_connections = 40")
                for i in range(3)]
        results = {}

        def run(i):
            results[i] = self.python(pols[i], fetch_many, "120")
        threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        bad = self.python(self.egress_policy("nasty", allow=["api.example.test:443"]), nasty)
        for t in threads:
            t.join()
        for i in range(3):
            code, out, err = results[i]
            self.assertEqual((code, out), (0, "120\n"), err)
        self.assertEqual(bad[1], "garbage: HTTP/1.1 400 Bad Request\nstalled: HTTP/1.1 408 Request Timeout\n", bad[2])
        self.assertEqual(self.gateway_pid(), gateway)  # the same gateway served it all

    def test_out_of_descriptors_pauses_instead_of_spinning(self):
        """When accept fails for want of descriptors the connection stays in the backlog and the
        listener stays readable: the gateway takes its listeners off the loop (saying so once)
        instead of waking on them at full speed, and serves the waiting client once it can."""
        wait_then_fetch = textwrap.dedent("""
            import sys, urllib.request
            def fetch():
                return urllib.request.urlopen("http://other.example.test/echo?starved", timeout=120).status
            first = fetch()  # the gateway has the agent's listeners: they came with descriptors
            open(sys.argv[1]).read()
            print(first, fetch())
        """)
        go = self.tmp / "starve-go"
        os.mkfifo(go, 0o666)
        pol = self.egress_policy("starved", allow=["other.example.test:80"], write=[])
        pol.write_text(pol.read_text().replace(f'read = ["/usr", ', f'read = ["/usr", "{go}", '))
        agent = threading.Thread(target=lambda: setattr(self, "starved_result", self.python(pol, wait_then_fetch, str(go))))
        agent.start()
        gateway = self.gateway_pid()
        follow_audit(self.daemon, lambda e: e["agent_name"] == "starved" and e["layer"] == "egress")
        saved = re.search(r"^Max open files\s+(\d+)", pathlib.Path(f"/proc/{gateway}/limits").read_text(), re.M)[1]
        set_nofile(gateway, 3)  # stdio only: accept gets EMFILE
        try:
            with open(go, "w") as f:
                f.write("go\n")
            follow_until(self.daemon.log, "agentos-gateway: accept: Too many open files")
            before = cpu_seconds(gateway)
            time.sleep(1)  # a window to measure in, not a wait for anything
            spent = cpu_seconds(gateway) - before
        finally:
            set_nofile(gateway, saved)
        agent.join()
        code, out, err = self.starved_result
        self.assertEqual((code, out), (0, "200 200\n"), err)  # served on the tick after the limit rose
        self.assertLess(spent, 0.2)  # spinning on the readable listener takes a whole core
        self.assertEqual(self.daemon.log.read_text().count("agentos-gateway: accept: Too many open files"), 1)

    def test_connection_limit(self):
        """At max_connections the next connection waits in the listener's backlog (it is neither
        accepted and closed nor answered) until one of the agent's own closes; then it is served."""
        hold = textwrap.dedent("""
            import socket, sys
            def tunnel():
                s = socket.create_connection(("127.0.0.1", 3128))
                s.sendall(b"CONNECT api.example.test:443 HTTP/1.1\\r\\n\\r\\n")
                return s
            def first_line(s):
                reply = s.recv(100)
                return reply.split(b"\\r\\n")[0].decode() if reply else "closed"
            held = [tunnel() for i in range(2)]
            for s in held:
                print(first_line(s), flush=True)
            third = tunnel()
            open(sys.argv[1]).read()  # the test has seen the gateway hold the third
            third.setblocking(False)
            try:
                print("answered early:", third.recv(100), flush=True)
            except BlockingIOError:
                print("waiting", flush=True)
            third.setblocking(True)
            held[0].close()
            print(first_line(third), flush=True)
        """)
        go = self.tmp / "limit-go"
        os.mkfifo(go, 0o666)
        pol = self.egress_policy("limit", allow=["api.example.test:443"], limits="max_connections = 2", write=[])
        pol.write_text(pol.read_text().replace(f'read = ["/usr", ', f'read = ["/usr", "{go}", '))
        agent = threading.Thread(target=lambda: setattr(self, "limit_result", self.python(pol, hold, str(go))))
        agent.start()
        follow_audit(self.daemon, lambda e: e["agent_name"] == "limit" and "egress limit" in e["operation"])
        with open(go, "w") as f:
            f.write("go\n")
        agent.join()
        code, out, err = self.limit_result
        self.assertEqual(out.splitlines(), ["HTTP/1.1 200 Connection established"] * 2 + ["waiting"] +
                         ["HTTP/1.1 200 Connection established"], err)
        # This agent's: another test's burst may fill its own limit on a slow machine.
        limits = [e for e in self.egress_audit() if e["agent_name"] == "limit" and "egress limit" in e["operation"]]
        self.assertEqual(len(limits), 1, limits)  # once per time it fills, not per waiting connection
        self.assertIn("2 connections open at once, its limit: new ones wait", limits[0]["operation"])

    def test_bandwidth_limit(self):
        timed = textwrap.dedent("""
            import ssl, sys, time, urllib.request
            ctx = ssl.create_default_context(cafile=sys.argv[1])
            req = urllib.request.Request("https://big.example.test/big", headers={"Range": "bytes=0-1048575"})
            t = time.monotonic()
            n = len(urllib.request.urlopen(req, context=ctx, timeout=60).read())
            print(n, round(time.monotonic() - t, 2))
        """)
        slow = self.egress_policy("slow", allow=["big.example.test:443"], limits='bandwidth = "512K"')
        code, out, err = self.python(slow, timed, str(self.world.ca_cert))
        self.assertEqual(code, 0, err)
        size, seconds = out.split()
        self.assertEqual(int(size), 1 << 20)
        # 1 MiB at 512 KiB/s, with at most a quarter second's worth saved up: at least 1.75 s.
        self.assertGreaterEqual(float(seconds), 1.5)
        fast = self.egress_policy("fast", allow=["big.example.test:443"])
        code, out, err = self.python(fast, timed, str(self.world.ca_cert))
        self.assertEqual((code, out.split()[0]), (0, str(1 << 20)), err)

    def test_daemon_killed_and_restarted(self):
        """kill -9 of the daemon takes the gateway with it (no egress without the daemon's
        grants); a connection made meanwhile waits in the listener's backlog, and the next daemon
        takes the listeners back from the agent's monitor and serves it, with the grants in force."""
        go = self.tmp / "restart-go"
        os.mkfifo(go, 0o666)
        script = (f'echo ready; while read n < {go}; do '
                  f'curl -sS --fail-with-body --cacert {self.world.ca_cert} https://$n.example.test/echo >/dev/null 2>&1 '
                  f'&& echo "$n ok" || echo "$n refused"; done')
        pol = self.egress_policy("restart", allow=["api.example.test:443"], command=["/bin/sh", "-c", script])
        pol.write_text(pol.read_text().replace('read = ["/usr", ', f'read = ["/usr", "{go}", '))
        agent = self.daemon.ctl("run", "--policy", str(pol), "--detach", user=OWNER, check=True).stdout.strip()
        self.assertEqual(self.first_line(agent), "ready\n")
        with subprocess.Popen([str(AGENTCTL), "--socket", str(self.daemon.socket), "logs", "-f", agent],
                              stdout=subprocess.PIPE, text=True) as follow:
            def ask(name):
                with open(go, "w") as f:
                    f.write(name + "\n")
            def answer():
                while not (line := follow.stdout.readline()).startswith(("api", "other")):
                    pass
                return line
            ask("api")
            self.assertEqual(answer(), "api ok\n")
            gateway = os.pidfd_open(self.gateway_pid())
            self.daemon.stop(signal.SIGKILL)
            poller = select.poll()
            poller.register(gateway, select.POLLIN)  # readable once the process has exited
            self.assertTrue(poller.poll(10_000), "the gateway outlived the daemon")
            os.close(gateway)
            ask("api")  # its connection waits: nobody accepts until the next gateway runs
            follow.terminate()
        self.daemon.start()
        with subprocess.Popen([str(AGENTCTL), "--socket", str(self.daemon.socket), "logs", "-f", agent],
                              stdout=subprocess.PIPE, text=True) as follow:
            lines = []
            while len(lines) < 2:
                line = follow.stdout.readline()
                if line.startswith(("api", "other")):
                    lines.append(line)
            self.assertEqual(lines, ["api ok\n", "api ok\n"])
            with open(go, "w") as f:
                f.write("other\n")  # still held to its grants
            while not (line := follow.stdout.readline()).startswith("other"):
                pass
            self.assertEqual(line, "other refused\n")
            follow.terminate()
        self.daemon.ctl("stop", agent, user=OWNER)

    def gateway_pid(self):
        for line in subprocess.run(["ps", "-eo", "pid,ppid,comm"], capture_output=True, text=True).stdout.splitlines():
            pid, ppid, comm = line.split(None, 2)
            if comm.strip() == "agentos-gateway" and int(ppid) == self.daemon.proc.pid:
                return int(pid)
        self.fail("no agentos-gateway under the daemon")


# A granted connection through the proxy, held open while the agent makes refused DNS lookups at
# the stub, of one name and of many; then it is closed (the gateway records a connection as it
# closes) and a refused one is tried. It prints how many lookups were refused, whether the granted
# fetch worked and whether the other was refused.
DNS_FLOOD_THEN_FETCH = textwrap.dedent("""
    import http.client, socket, ssl, struct, sys, urllib.request
    ca, same, distinct = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ctx = ssl.create_default_context(cafile=ca)
    granted = http.client.HTTPSConnection("127.0.0.1", 3128, context=ctx, timeout=30)
    granted.set_tunnel("api.example.test", 443)
    granted.request("GET", "/echo")
    body = granted.getresponse().read().decode()
    stub = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stub.settimeout(10)
    def refused(qid, name):
        labels = b"".join(bytes([len(l)]) + l.encode() for l in name.split("."))
        stub.sendto(struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + labels + b"\\0" + struct.pack(">HH", 1, 1),
                    ("127.0.0.1", 53))
        return stub.recv(512)[3] & 15 == 3  # NXDOMAIN
    n = sum(refused(i & 0xffff, "flood.evil.test") for i in range(same))
    n += sum(refused(i & 0xffff, f"n{i}.evil.test") for i in range(distinct))
    granted.close()
    try:
        urllib.request.urlopen("https://refused.example.test/echo", context=ctx, timeout=30)
        other = "fetched"
    except OSError:
        other = "refused"
    print(n, "host=api.example.test" in body, other, flush=True)
""")


class AuditUnderFlood(EgressTest):
    """The red team's evasion: refused lookups at the DNS stub, each audited, as fast as the agent
    can, while a granted connection is open. The connection is recorded one by one; the lookups are
    counted, and a flood of distinct names does not hide a refusal of another kind."""

    def flood_then_fetch(self, name, same, distinct):
        pol = self.egress_policy(name, allow=["api.example.test:443"])
        code, out, err = self.python(pol, DNS_FLOOD_THEN_FETCH, str(self.world.ca_cert), str(same), str(distinct))
        self.assertEqual((code, out), (0, f"{same + distinct} True refused\n"), err)
        seen = {"allowed": 0, "same": 0, "distinct": 0, "repeats": 0, "other": 0, "lost": 0}
        def count(e):
            if e["decision"] == "dropped" and e["layer"] == "egress":
                seen["lost"] += e["dropped"]
            if e["agent_name"] != name:
                return False
            op, repeats = e["operation"], e.get("repeats", 0)
            if e["decision"] == "allow" and op.startswith("egress connect api.example.test:443 "):
                seen["allowed"] += 1
            elif e["decision"] == "deny" and op.startswith("egress connect refused.example.test:443"):
                seen["other"] += repeats or 1
            elif e["decision"] == "deny" and op.startswith("egress dns flood.evil.test:"):
                seen["same"] += repeats or 1
            elif e["decision"] == "deny" and op.startswith("egress dns n"):
                seen["distinct"] += repeats or 1
            seen["repeats"] += repeats
            return seen["allowed"] and seen["other"] and seen["same"] >= same and seen["distinct"] >= distinct
        follow_audit(self.daemon, count, seen=seen)
        self.assertEqual(seen["lost"], 0)  # so the counts below are exact
        return seen

    def test_refused_lookups_cannot_hide_a_granted_connection(self):
        seen = self.flood_then_fetch("dns-flood", 2000, 300)
        self.assertEqual(seen["allowed"], 1)  # one by one
        self.assertEqual((seen["same"], seen["distinct"]), (2000, 300))  # every lookup counted
        self.assertGreater(seen["repeats"], 0)  # as aggregates, not thousands of lines
        self.assertEqual(seen["other"], 1)  # in full, though the names filled their family
        records = [e for e in self.daemon.ctl_json("audit", "--agent", "dns-flood")
                   if e["operation"].startswith("egress dns")]
        self.assertLess(len(records), 2 * (16 + 1) + 4)

    def test_positive_control_the_same_connection_without_a_flood(self):
        seen = self.flood_then_fetch("dns-quiet", 0, 0)
        self.assertEqual((seen["allowed"], seen["other"]), (1, 1))

if __name__ == "__main__":
    unittest.main()
