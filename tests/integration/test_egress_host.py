"""The egress gateway never takes an agent to the machine it runs on: a granted name that resolves to
one of the host's own addresses (public ones included, on any interface, added before or after the
gateway started) is refused at every way in, unless a range grant names that very address. Nor may
a name resolve into a documentation range. Against the real servers of egress_env.py: the host
side's own service (http_fixture.py hello, on every interface) stands for the host's services."""
import subprocess
import textwrap
import unittest

from egress_env import HOST_SERVICE_PORT as PORT, HOST_V4, HOST_V6
from test_egress import EgressTest

# Inside an agent: GET / from NAME:PORT through each way into the gateway (the proxy, CONNECT,
# SOCKS5, and the DNS stub's address on a granted port); prints "ENTRY OUTCOME", where OUTCOME is
# "served" when the host's service answered, else the first line of what came back, or the error.
ENTRIES = textwrap.dedent("""
    import socket, struct, sys
    name, port = sys.argv[1], int(sys.argv[2])
    GET = b"GET / HTTP/1.1\\r\\nHost: %s\\r\\nConnection: close\\r\\n\\r\\n" % name.encode()

    def outcome(s, data=b""):
        try:
            while chunk := s.recv(65536):
                data += chunk
        except OSError as e:
            if not data:
                return type(e).__name__
        if b"host service" in data:
            return "served"
        return data.split(b"\\r\\n")[0].decode(errors="replace") or "closed"

    def gateway():
        return socket.create_connection(("127.0.0.1", 3128), timeout=30)

    def proxy():
        s = gateway()
        s.sendall(b"GET http://%s:%d/ HTTP/1.1\\r\\nHost: %s\\r\\nConnection: close\\r\\n\\r\\n" % (name.encode(), port, name.encode()))
        return outcome(s)

    def connect():
        s = gateway()
        s.sendall(b"CONNECT %s:%d HTTP/1.1\\r\\n\\r\\n" % (name.encode(), port))
        reply = s.recv(4096)  # the gateway's answer, alone: the upstream says nothing unasked
        if not reply.startswith(b"HTTP/1.1 200"):
            return outcome(s, reply)
        s.sendall(GET)
        return outcome(s)

    def socks():
        s = gateway()
        s.sendall(b"\\x05\\x01\\x00")
        assert s.recv(2) == b"\\x05\\x00"
        s.sendall(b"\\x05\\x01\\x00\\x03" + bytes([len(name)]) + name.encode() + struct.pack("!H", port))
        reply = s.recv(10)
        if reply[1] != 0:
            return "socks reply %d" % reply[1]
        s.sendall(GET)
        return outcome(s)

    def stub():
        s = socket.create_connection((socket.gethostbyname(name), port), timeout=30)
        s.sendall(GET)
        return outcome(s)

    for entry in (proxy, connect, socks, stub):
        try:
            print(entry.__name__, entry(), flush=True)
        except OSError as e:
            print(entry.__name__, type(e).__name__, flush=True)
""")

SERVED = {"proxy": "served", "connect": "served", "socks": "served", "stub": "served"}
REFUSED = {"proxy": "HTTP/1.1 403 Forbidden", "connect": "HTTP/1.1 403 Forbidden", "socks": "socks reply 2",
           "stub": "ConnectionResetError"}
PROTOCOLS = {"proxy": "http", "connect": "connect", "socks": "socks5", "stub": "transparent"}

# Public addresses that no interface holds until a test adds them to the host side.
LATE = (("late.example.test", "93.184.218.1", ["93.184.218.1/32"]),
        ("late6.example.test", "2606:2800:220:3::1", ["2606:2800:220:3::1/128", "nodad"]))


class HostsOwnAddresses(EgressTest):
    def entries(self, pol, name):
        code, out, err = self.python(pol, ENTRIES, name, str(PORT))
        self.assertEqual(code, 0, out + err)
        return dict(line.split(" ", 1) for line in out.splitlines())

    def assert_own_refused(self, name, address, entries):
        denied = [e["operation"] for e in self.egress_audit() if e["decision"] == "deny"]
        for entry in entries:
            self.assertIn(f"egress {PROTOCOLS[entry]} {name}:{PORT}: {name}: it resolves to {address}, "
                          f"one of this host's own addresses, which is not granted", denied)

    def test_a_name_for_the_hosts_own_address_is_refused_at_every_entry(self):
        # The control outside any agent: the host's service answers on the host's public addresses.
        for url in (f"http://{HOST_V4}:{PORT}/", f"http://[{HOST_V6}]:{PORT}/"):
            r = self.world.run(["curl", "-sS", "--noproxy", "*", "--max-time", "20", url])
            self.assertEqual(r.stdout, "host service\n", r.stderr)
        names = (("self.example.test", HOST_V4), ("self6.example.test", HOST_V6))
        pol = self.egress_policy("own", allow=[f"{n}:{PORT}" for n, _ in names])
        for name, address in names:
            with self.subTest(name=name):
                self.assertEqual(self.entries(pol, name), REFUSED)
                self.assert_own_refused(name, address, REFUSED)
        # The control: the very addresses granted as ranges (beside the names) are reached.
        granted = self.egress_policy("own-granted", allow=[*(f"{n}:{PORT}" for n, _ in names),
                                                           f"{HOST_V4}/32:{PORT}", f"[{HOST_V6}/128]:{PORT}"])
        for name, _ in names:
            with self.subTest(name=name, granted=True):
                self.assertEqual(self.entries(granted, name), SERVED)

    def test_addresses_added_and_removed_while_the_gateway_runs(self):
        pol = self.egress_policy("late", allow=[f"{n}:{PORT}" for n, _, _ in LATE])
        granted = self.egress_policy("late-granted", allow=[*(f"{n}:{PORT}" for n, _, _ in LATE),
                                                            f"93.184.218.1/32:{PORT}", f"[2606:2800:220:3::1/128]:{PORT}"])
        ip = ["ip", "-n", self.world.netns]
        for name, address, spec in LATE:
            with self.subTest(name=name):
                self.world.set_answer(name, address)
                self.addCleanup(self.world.set_answer, name, None)
                # Not the host's yet: the name passes, and the connect finds no route there (502).
                code, out, err = self.curl(pol, f"http://{name}:{PORT}/")
                self.assertIn("cannot connect", out, err)
                subprocess.run([*ip, "addr", "add", *spec, "dev", "lo"], check=True)
                self.addCleanup(subprocess.run, [*ip, "addr", "del", spec[0], "dev", "lo"], capture_output=True)
                self.assert_refused(self.curl(pol, f"http://{name}:{PORT}/"),
                                    f"it resolves to {address}, one of this host's own addresses")
                self.assertEqual(self.entries(granted, name), SERVED)  # the control
                subprocess.run([*ip, "addr", "del", spec[0], "dev", "lo"], check=True)
                code, out, err = self.curl(pol, f"http://{name}:{PORT}/")
                self.assertIn("cannot connect", out, err)  # no longer the host's

    def test_documentation_answers_are_refused(self):
        names = (("doc.example.test", "192.0.2.10"), ("doc6.example.test", "2001:db8::10"))
        pol = self.egress_policy("doc", allow=[f"{n}:80" for n, _ in names])
        for name, address in names:
            self.assert_refused(self.curl(pol, f"http://{name}/"), f"it resolves to {address}, a documentation address")
        # The control: with the ranges granted the names pass the check; nothing is there, so the
        # connect itself fails: a 502, not a 403.
        granted = self.egress_policy("doc-granted", allow=[*(f"{n}:80" for n, _ in names), "192.0.2.0/24:80",
                                                           "[2001:db8::/32]:80"])
        for name, _ in names:
            code, out, err = self.curl(granted, f"http://{name}/")
            self.assertNotEqual(code, 0)
            self.assertIn(f"cannot connect to {name} port 80", out, err)


if __name__ == "__main__":
    unittest.main()
