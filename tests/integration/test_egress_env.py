"""The egress test network on its own, without agentosd: the servers answer as the gateway's tests
will expect, and the fixture leaves nothing behind."""
import hashlib
import os
import stat
import subprocess
import unittest

from egress_env import API_V4, BIG_SIZE, HOST_SERVICE_PORT, HOST_V4, HOST_V6, OTHER_V4, SERVER_V6, EgressWorld


class EgressEnvironment(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.world = EgressWorld().start()

    @classmethod
    def tearDownClass(cls):
        cls.world.stop()

    def curl(self, url, *args, text=True):
        """curl inside the test network, verifying against the test CA; never through a proxy."""
        r = self.world.run(["curl", "-sS", "--noproxy", "*", "--max-time", "30",
                            "--cacert", str(self.world.ca_cert), *args, url], text=text)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def head_of(self, response):
        """Status code and headers (lower-cased names) of a `curl -i` response."""
        head = response.split("\n\n", 1)[0].splitlines()
        headers = dict(line.split(": ", 1) for line in head[1:])
        return int(head[0].split()[1]), {k.lower(): v for k, v in headers.items()}

    def test_https_echo_reports_host_and_headers(self):
        body = self.curl("https://api.example.test/echo", "--resolve", f"api.example.test:443:{API_V4}",
                         "-H", "X-Test: 1")
        self.assertEqual(body, "host=api.example.test\nauth=\nx-test=1\nmethod=GET\nuri=/echo\n")

    def test_https_over_ipv6(self):
        body = self.curl("https://api.example.test/echo", "--resolve", f"api.example.test:443:[{SERVER_V6}]",
                         "-H", "X-Test: 1")
        self.assertEqual(body, "host=api.example.test\nauth=\nx-test=1\nmethod=GET\nuri=/echo\n")

    def test_certificate_not_valid_for_other_names(self):
        # The negative control of the HTTPS tests: curl does verify against the test CA.
        r = self.world.run(["curl", "-sS", "--noproxy", "*", "--cacert", str(self.world.ca_cert),
                            "--resolve", f"unlisted.example.test:443:{API_V4}", "https://unlisted.example.test/echo"])
        self.assertEqual(r.returncode, 60, r.stderr)  # CURLE_PEER_FAILED_VERIFICATION

    def test_plain_http_on_other_address(self):
        body = self.curl(f"http://{OTHER_V4}/echo?q=1", "-H", "Authorization: Basic dTpw")
        self.assertEqual(body, f"host={OTHER_V4}\nauth=Basic dTpw\nx-test=\nmethod=GET\nuri=/echo?q=1\n")

    def test_redirect_to_other_host(self):
        code, headers = self.head_of(self.curl("https://api.example.test/redirect", "-i",
                                               "--resolve", f"api.example.test:443:{API_V4}"))
        self.assertEqual((code, headers["location"]), (302, "https://other.example.test/echo"))

    def test_redirect_same_host_is_relative(self):
        code, headers = self.head_of(self.curl(f"http://{API_V4}/redirect-same", "-i"))
        self.assertEqual((code, headers["location"]), (302, "/echo"))

    def test_big_file_served_whole(self):
        body = self.curl("https://big.example.test/big", "--resolve", f"big.example.test:443:{API_V4}", text=False)
        self.assertEqual((len(body), hashlib.sha256(body).hexdigest()), (BIG_SIZE, self.world.big_sha256))

    def test_dns_initial_answers(self):
        self.assertEqual(self.world.query_dns("api.example.test"), [API_V4])
        self.assertEqual(self.world.query_dns("v6.example.test", "AAAA"), [SERVER_V6])
        self.assertEqual(self.world.query_dns("rebind.example.test"), ["127.0.0.1"])
        self.assertEqual(self.world.query_dns("unknown.example.test"), [])

    def test_dns_answer_changes(self):
        self.addCleanup(self.world.set_answer, "flip.example.test", API_V4)
        self.assertEqual(self.world.query_dns("flip.example.test"), [API_V4])
        self.world.set_answer("flip.example.test", "127.0.0.1")
        self.assertEqual(self.world.query_dns("flip.example.test"), ["127.0.0.1"])

    def test_access_log_names_host_and_authorization(self):
        self.curl("https://other.example.test/echo?log", "--resolve", f"other.example.test:443:{OTHER_V4}",
                  "-H", "Authorization: Bearer for-other")
        entry = self.world.wait_for_access(lambda e: e["uri"] == "/echo?log")
        self.assertEqual((entry["host"], entry["auth"], entry["server_addr"]),
                         ("other.example.test", "Bearer for-other", OTHER_V4))

    def test_servers_are_not_the_hosts_own_addresses(self):
        # The daemon runs in the host side: the gateway must see the servers as elsewhere, and the
        # link's end as its own.
        own = self.world.run(["ip", "-o", "addr", "show"]).stdout
        for addr in (API_V4, OTHER_V4, SERVER_V6):
            self.assertNotIn(f" {addr}/", own)
        for addr in (HOST_V4, HOST_V6):
            self.assertIn(f" {addr}/", own)

    def test_host_service_on_every_interface_of_the_host_side(self):
        for url in (f"http://{HOST_V4}:{HOST_SERVICE_PORT}/", f"http://[{HOST_V6}]:{HOST_SERVICE_PORT}/",
                    f"http://127.0.0.1:{HOST_SERVICE_PORT}/"):
            self.assertEqual(self.curl(url), "host service\n")

    def test_digest_upstream_behind_nginx(self):
        body = os.urandom(3 << 20)
        path = self.world.tmp / "upload"
        path.write_bytes(body)
        self.addCleanup(path.unlink)
        out = self.curl("https://api.example.test/digest", "--resolve", f"api.example.test:443:{API_V4}",
                        "--data-binary", f"@{path}")
        self.assertEqual(out, f"bytes={len(body)}\nsha256={hashlib.sha256(body).hexdigest()}\n")

    def test_base_path_echoes_and_logs_the_normalised_path(self):
        body = self.curl(f"http://{OTHER_V4}/base/x/../y", "--path-as-is", "-H", "Authorization: Bearer b")
        self.assertEqual(body, f"base\nhost={OTHER_V4}\nauth=Bearer b\nuri=/base/x/../y\n")
        entry = self.world.wait_for_access(lambda e: e["uri"] == "/base/x/../y")
        self.assertEqual(entry["path"], "/base/y")
        # What the route tests guard against: nginx resolves dot segments, out of /base/ too.
        self.curl(f"http://{OTHER_V4}/base/../echo", "--path-as-is")
        self.assertEqual(self.world.wait_for_access(lambda e: e["uri"] == "/base/../echo")["path"], "/echo")

    def test_ca_cert_readable_by_everyone(self):
        # Agents run as other users and verify the servers with this certificate.
        for path in (self.world.tmp, self.world.ca_cert):
            self.assertTrue(os.stat(path).st_mode & stat.S_IROTH, path)
        self.assertEqual(stat.S_IMODE(os.stat(self.world.tmp / "ca.key").st_mode), 0o600)


class EgressLifecycle(unittest.TestCase):
    def test_stop_removes_everything_and_is_idempotent(self):
        world = EgressWorld().start()
        pids = [world.nginx.pid, world.dnsmasq.pid, world.host_service.pid, world.digest.pid]
        tmp = world.tmp
        world.stop()
        world.stop()
        namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
        self.assertNotIn(world.netns, namespaces)
        self.assertNotIn(world.servers_netns, namespaces)
        self.assertFalse(tmp.exists())
        self.assertEqual([p for p in pids if os.path.exists(f"/proc/{p}")], [])


if __name__ == "__main__":
    unittest.main()
