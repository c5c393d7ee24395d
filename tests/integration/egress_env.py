"""A private little Internet for the egress gateway's tests: real nginx and dnsmasq from Debian's
packages, with a throwaway CA, in two network namespaces of their own joined by a veth pair:

    "host" namespace (netns, wrap())            "Internet" namespace (servers_netns)
    lo, up0: 93.184.217.1, 2606:2800:220:2::1 ── net0: 93.184.217.2, 2606:2800:220:2::2
    routes to 93.184.216.0/24, 2606:2800:      lo: nginx on API_V4, OTHER_V4, BIG_V4, SERVER_V6;
      220:1::/64 via net0                           dnsmasq on DNS_V4:53

The daemon (and so its gateway) runs in the host namespace, which stands for the machine: its own
addresses are those of up0 (HOST_V4, HOST_V6), as a server's public address would be. The servers
are elsewhere, as on the Internet, so that the gateway's refusal of the host's own addresses does
not hide them.

The addresses are public unicast (93.184.216.0/23 and 2606:2800:220::/48, once example.com's),
because the gateway treats every special-purpose range, documentation ranges included, as not the
Internet. Neither namespace has any other link or route, so nothing sent to them can leave the
machine, whoever holds them out there.

A process reaches the servers by switching only its network namespace (wrap(), nsenter --net);
`ip netns exec` is avoided because it also remounts /sys, which would hide /sys/fs/cgroup and
/sys/fs/bpf from the daemon.

Readiness is checked, never slept for: each wait retries a real probe (a TCP connect, a DNS query)
until a deadline, paced by waiting on the server's own process so a crash fails at once, with its log.
"""
import ctypes
import hashlib
import ipaddress
import json
import os
import pathlib
import random
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

NGINX = "/usr/sbin/nginx"
FCGIWRAP = "/usr/sbin/fcgiwrap"
GIT_HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"
DNSMASQ = "/usr/sbin/dnsmasq"
PYTHON = "/usr/bin/python3"
HTTP_FIXTURE = pathlib.Path(__file__).resolve().parent / "http_fixture.py"

API_V4 = "93.184.216.10"
OTHER_V4 = "93.184.216.20"
BIG_V4 = "93.184.216.30"
DNS_V4 = "93.184.216.53"
SERVER_V6 = "2606:2800:220:1::10"
INTERNET_V4 = "93.184.216.0/24"
INTERNET_V6 = "2606:2800:220:1::/64"
# The host namespace's end of the link: the machine's own public addresses.
HOST_V4 = "93.184.217.1"
HOST_V6 = "2606:2800:220:2::1"
LINK_V4 = "93.184.217.2"
LINK_V6 = "2606:2800:220:2::2"
# A service of the host's own, on every interface of the host side (http_fixture.py hello).
HOST_SERVICE_PORT = 8080
# The upstream behind nginx's /digest (http_fixture.py digest), on the servers' loopback.
DIGEST_PORT = 8081
# The model provider behind nginx's /llm/ (http_fixture.py model).
MODEL_PORT = 8082

# The server certificate's names; other.example.test and the wiki hosts share a certificate with
# api.example.test so that a redirect or a wildcard can be followed with one CA and one cert.
CERT_NAMES = ("api.example.test", "other.example.test", "*.wiki.example.test", "big.example.test",
              "v6.example.test", "flip.example.test", "rebind.example.test", "metadata.example.test")
CERT_IPS = (API_V4,)

INITIAL_ANSWERS = {
    "api.example.test": API_V4,
    "other.example.test": OTHER_V4,
    "big.example.test": BIG_V4,
    "a.wiki.example.test": OTHER_V4,
    "b.wiki.example.test": OTHER_V4,
    "v6.example.test": SERVER_V6,
    "rebind.example.test": "127.0.0.1",
    "metadata.example.test": "169.254.169.254",
    "private.example.test": "10.1.2.3",
    "flip.example.test": API_V4,  # tests change this one
    "self.example.test": HOST_V4,
    "self6.example.test": HOST_V6,
    "doc.example.test": "192.0.2.10",
    "doc6.example.test": "2001:db8::10",
}

BIG_SIZE = 16 * 1024 * 1024
READY_TIMEOUT = 20  # seconds: long enough for a loaded 2-core machine, short enough to fail a hang

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _require_root():
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            raise RuntimeError("the egress test network needs root, and under CI nothing may skip")
        raise unittest.SkipTest("the egress test network needs root (network namespaces, port 53/80/443)")


def _dns_query_packet(qid, name, qtype):
    labels = b"".join(bytes([len(l)]) + l.encode("ascii") for l in name.rstrip(".").split("."))
    # Header: id, flags = recursion desired, one question, no other records.
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", qtype, 1)


def _skip_name(msg, pos):
    """Returns the offset just past a (possibly compressed) domain name."""
    while True:
        length = msg[pos]
        if length & 0xC0 == 0xC0:  # a pointer ends the name
            return pos + 2
        pos += 1 + length
        if length == 0:
            return pos


def _dns_parse_answer(msg, qid, qtype):
    """Returns the addresses of type qtype in a response; [] for NXDOMAIN or no data."""
    rid, flags, qdcount, ancount = struct.unpack("!HHHH", msg[:8])
    if rid != qid or not flags & 0x8000:
        raise ValueError("not the answer to our query")
    rcode = flags & 0xF
    if rcode not in (0, 3):  # NOERROR, NXDOMAIN
        raise ValueError(f"DNS error rcode {rcode}")
    pos = 12
    for _ in range(qdcount):
        pos = _skip_name(msg, pos) + 4
    addresses = []
    for _ in range(ancount):
        pos = _skip_name(msg, pos)
        rtype, _, _, rdlength = struct.unpack("!HHIH", msg[pos:pos + 10])
        pos += 10
        if rtype == qtype:
            family = socket.AF_INET if qtype == 1 else socket.AF_INET6
            addresses.append(socket.inet_ntop(family, msg[pos:pos + rdlength]))
        pos += rdlength
    return addresses


class EgressWorld:
    """The test network: a namespace with nginx (HTTP and HTTPS) and dnsmasq, plus a test CA.

    Use as a context manager or call start()/stop(), e.g. from setUpClass/tearDownClass.
    """

    dns_server = f"{DNS_V4}:53"

    def __init__(self):
        self.netns = f"agentos-egress-{os.getpid()}"
        self.netns_path = f"/run/netns/{self.netns}"
        self.servers_netns = f"{self.netns}-net"
        self.tmp = None
        self.ca_cert = None
        self.access_log = None
        self.nginx_log = None
        self.hosts_file = None
        self.dns_log = None
        self.big_sha256 = None
        self.answers = dict(INITIAL_ANSWERS)
        self._netns_added = []
        self.nginx = None
        self.dnsmasq = None
        self.host_service = None
        self.digest = None
        self.model = None
        self.fcgiwrap = None  # git-http-backend behind nginx, where fcgiwrap is installed
        self.git_repo = None

    # --- running things in the namespace ---

    def wrap(self, argv):
        """argv, run with only its network namespace switched to the test network's host side."""
        return ["nsenter", f"--net={self.netns_path}", *argv]

    def _wrap_server(self, argv):
        return ["nsenter", f"--net=/run/netns/{self.servers_netns}", *argv]

    def run(self, argv, **kw):
        """subprocess.run of wrap(argv), capturing text output, with a timeout against hangs."""
        return subprocess.run(self.wrap(argv), **{"capture_output": True, "text": True, "timeout": 60, **kw})

    def socket(self, family=socket.AF_INET, type=socket.SOCK_STREAM):
        """A socket that lives in the test network's host side, for probing it from this process.

        A socket belongs to the namespace of the thread that created it, so a throwaway thread
        switches namespace (setns applies to the calling thread only) and makes it: the test's own
        threads never leave the host network.
        """
        result = {}

        def make():
            try:
                with open(self.netns_path) as ns:
                    if _libc.setns(ns.fileno(), _CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), "setns to the test network")
                result["socket"] = socket.socket(family, type)
            except BaseException as e:  # handed to the caller's thread
                result["error"] = e

        t = threading.Thread(target=make)
        t.start()
        t.join()
        if "error" in result:
            raise result["error"]
        return result["socket"]

    # --- DNS ---

    def query_dns(self, name, rtype="A", timeout=1.0):
        """Asks the test network's dnsmasq; returns the A or AAAA addresses ([] for none)."""
        qtype = {"A": 1, "AAAA": 28}[rtype]
        qid = random.randrange(1 << 16)
        with self.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            host, port = self.dns_server.rsplit(":", 1)
            s.connect((host, int(port)))
            s.send(_dns_query_packet(qid, name, qtype))
            while True:
                try:
                    return _dns_parse_answer(s.recv(4096), qid, qtype)
                except ValueError as e:
                    if "not the answer" not in str(e):
                        raise

    def set_answer(self, name, address):
        """Makes dnsmasq answer name with address (None: no answer), and returns once it does."""
        if address is None:
            self.answers.pop(name, None)
        else:
            self.answers[name] = address
        self._write_hosts()
        self.dnsmasq.send_signal(signal.SIGHUP)  # dnsmasq rereads --addn-hosts files on SIGHUP
        rtype = "AAAA" if address and ipaddress.ip_address(address).version == 6 else "A"
        want = [address] if address else []
        self._wait_until(lambda: self._answers_now(name, rtype) == want, self.dnsmasq,
                         f"dnsmasq to answer {name} {rtype} with {want}", self.dns_log)

    def _answers_now(self, name, rtype):
        try:
            return self.query_dns(name, rtype, timeout=0.2)
        except OSError:  # not listening yet (refused) or no reply in time
            return None

    def _write_hosts(self):
        # Written aside and renamed so that dnsmasq never reads half a file.
        tmp = self.hosts_file.with_suffix(".new")
        tmp.write_text("".join(f"{addr} {name}\n" for name, addr in sorted(self.answers.items())))
        tmp.replace(self.hosts_file)

    # --- access log ---

    def access_entries(self):
        """nginx's access log so far, one dict per request: host, uri, auth, method, status, ..."""
        text = self.access_log.read_text() if self.access_log.exists() else ""
        return [json.loads(line) for line in text.splitlines() if line]

    def wait_for_access(self, match, timeout=10):
        """Returns the first access-log entry for which match(entry) is true, waiting for it: nginx
        logs a request after sending the response, so a client can finish before the line exists."""
        found = []

        def seen():
            found[:] = [e for e in self.access_entries() if match(e)][:1]
            return bool(found)

        self._wait_until(seen, self.nginx, "an access-log entry", self.access_log, timeout)
        return found[0]

    # --- lifecycle ---

    def start(self):
        _require_root()
        try:
            self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="agentos-egress-", dir="/var/tmp"))
            os.chmod(self.tmp, 0o755)  # agents run as other users and must read the CA cert
            self._make_netns()
            self._make_certs()
            self.digest = self._start_fixture(self._wrap_server, "digest", "127.0.0.1", DIGEST_PORT)
            self.model = self._start_fixture(self._wrap_server, "model", "127.0.0.1", MODEL_PORT)
            self._start_git()
            self._start_nginx()
            self._start_dnsmasq()
            self.host_service = self._start_fixture(self.wrap, "hello", "::", HOST_SERVICE_PORT)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """Stops the servers and removes the namespace and the temporary directory; idempotent."""
        for proc in (self.nginx, self.dnsmasq, self.host_service, self.digest, self.model, self.fcgiwrap):
            if proc and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc and proc.stdout:
                proc.stdout.close()
        self.nginx = self.dnsmasq = self.host_service = self.digest = self.model = self.fcgiwrap = None
        for netns in self._netns_added[::-1]:
            # Anything still in a namespace was started by us (an nginx worker orphaned by a
            # killed master, a test's stray client): end it, or the namespace would stay alive.
            pids = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True)
            for pid in pids.stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            subprocess.run(["ip", "netns", "del", netns], check=True)
        self._netns_added = []
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _make_netns(self):
        for netns in (self.netns, self.servers_netns):
            subprocess.run(["ip", "netns", "add", netns], check=True)
            self._netns_added.append(netns)
            subprocess.run(["ip", "-n", netns, "link", "set", "lo", "up"], check=True)
        host, net = ["ip", "-n", self.netns], ["ip", "-n", self.servers_netns]
        subprocess.run([*host, "link", "add", "up0", "type", "veth", "peer", "name", "net0", "netns",
                        self.servers_netns], check=True)
        # nodad: a tentative address (duplicate detection pending) can be neither bound nor routed via.
        for ip, dev, v4, v6 in ((host, "up0", HOST_V4, HOST_V6), (net, "net0", LINK_V4, LINK_V6)):
            subprocess.run([*ip, "addr", "add", f"{v4}/24", "dev", dev], check=True)
            subprocess.run([*ip, "-6", "addr", "add", f"{v6}/64", "dev", dev, "nodad"], check=True)
            subprocess.run([*ip, "link", "set", dev, "up"], check=True)
        subprocess.run([*host, "route", "add", INTERNET_V4, "via", LINK_V4], check=True)
        subprocess.run([*host, "-6", "route", "add", INTERNET_V6, "via", LINK_V6], check=True)
        for addr in (API_V4, OTHER_V4, BIG_V4, DNS_V4):
            subprocess.run([*net, "addr", "add", f"{addr}/32", "dev", "lo"], check=True)
        subprocess.run([*net, "-6", "addr", "add", f"{SERVER_V6}/128", "dev", "lo", "nodad"], check=True)

    def _make_certs(self):
        d = self.tmp
        (d / "ca.cnf").write_text(
            "[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = ca_ext\n"
            "[dn]\nCN = agentos egress test CA\n"
            "[ca_ext]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
            "subjectKeyIdentifier = hash\n")
        sans = ",".join([*(f"DNS:{n}" for n in CERT_NAMES), *(f"IP:{a}" for a in CERT_IPS)])
        (d / "server.ext").write_text(
            f"basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature,keyEncipherment\n"
            f"extendedKeyUsage = serverAuth\nsubjectAltName = {sans}\n"
            f"subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid,issuer\n")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc"]
        steps = [
            ["req", "-x509", *ec, "-config", "ca.cnf", "-days", "2", "-keyout", "ca.key", "-out", "ca.crt"],
            ["req", "-new", *ec, "-subj", "/CN=api.example.test", "-keyout", "server.key", "-out", "server.csr"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-extfile", "server.ext", "-out", "server.crt"],
        ]
        for step in steps:
            r = subprocess.run(["openssl", *step], cwd=d, capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"openssl {' '.join(step)} failed:\n{r.stderr}")
        os.chmod(d / "ca.key", 0o600)
        os.chmod(d / "server.key", 0o600)
        os.chmod(d / "ca.crt", 0o644)
        self.ca_cert = d / "ca.crt"

    def _start_git(self):
        """A bare repository with one commit, served by git-http-backend (fcgiwrap) behind nginx's
        /git/: a real git HTTPS server."""
        if not os.path.exists(FCGIWRAP):
            return
        d = self.tmp
        src, self.git_repo = d / "git-src", d / "git" / "repo.git"
        env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.test",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.test", "HOME": str(d)}
        subprocess.run(["git", "init", "-q", "-b", "main", str(src)], check=True, env=env)
        (src / "README").write_text("cloned through the gateway\n")
        subprocess.run(["git", "-C", str(src), "add", "README"], check=True, env=env)
        subprocess.run(["git", "-C", str(src), "commit", "-q", "-m", "first"], check=True, env=env)
        subprocess.run(["git", "clone", "-q", "--bare", str(src), str(self.git_repo)], check=True, env=env)
        sock = d / "fcgiwrap.sock"
        with open(d / "fcgiwrap.log", "ab") as out:
            self.fcgiwrap = subprocess.Popen(self._wrap_server([FCGIWRAP, "-c", "2", "-s", f"unix:{sock}"]),
                                             stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        self._wait_until(sock.exists, self.fcgiwrap, "fcgiwrap's socket", d / "fcgiwrap.log")
        os.chmod(sock, 0o666)  # nginx's workers (nobody) connect to it

    def _git_location(self):
        if not self.fcgiwrap:
            return ""
        return f"""
        location ~ ^/git(/.*) {{
            client_max_body_size 64m;
            include /etc/nginx/fastcgi_params;
            fastcgi_pass unix:{self.tmp}/fcgiwrap.sock;
            fastcgi_param SCRIPT_FILENAME {GIT_HTTP_BACKEND};
            fastcgi_param GIT_PROJECT_ROOT {self.tmp}/git;
            fastcgi_param GIT_HTTP_EXPORT_ALL "";
            fastcgi_param PATH_INFO $1;
        }}"""

    def _start_nginx(self):
        d = self.tmp
        www = d / "www"
        www.mkdir()
        big = os.urandom(BIG_SIZE)  # random, so that no layer can compress it away
        (www / "big").write_bytes(big)
        self.big_sha256 = hashlib.sha256(big).hexdigest()
        self.access_log = d / "access.log"
        self.nginx_log = d / "nginx-error.log"
        listen = "".join(
            f"    listen {a}:443 ssl;\n    listen {a}:80;\n"
            for a in (API_V4, OTHER_V4, BIG_V4, f"[{SERVER_V6}]"))
        (d / "nginx.conf").write_text(f"""\
daemon off;
master_process on;
user root;
worker_processes 1;
pid {d}/nginx.pid;
error_log {self.nginx_log} info;
events {{ worker_connections 256; }}
http {{
    # Debian's build defaults its temp paths to /var/lib/nginx; keep everything in our directory.
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    # JSON lines, so that tests can parse which host got which Authorization header.
    log_format egress escape=json '{{"host":"$host","uri":"$request_uri","auth":"$http_authorization",'
        '"method":"$request_method","status":"$status","scheme":"$scheme","sni":"$ssl_server_name",'
        '"server_addr":"$server_addr","remote_addr":"$remote_addr","bytes":"$body_bytes_sent",'
        '"path":"$uri"}}';
    access_log {self.access_log} egress;
    default_type text/plain;
    sendfile on;
    # "Location: /echo" as written; nginx would otherwise make it absolute.
    absolute_redirect off;
    server {{
{listen}        server_name _;
        ssl_certificate {d}/server.crt;
        ssl_certificate_key {d}/server.key;
        root {www};
        location = /echo {{
            return 200 "host=$host\\nauth=$http_authorization\\nx-test=$http_x_test\\nmethod=$request_method\\nuri=$request_uri\\n";
        }}
        location = /redirect {{ return 302 https://other.example.test/echo; }}
        location = /redirect-same {{ return 302 /echo; }}
        location = /big {{ default_type application/octet-stream; }}
        # A route's base path: what a route's requests may reach, and nothing beside it.
        location /base/ {{
            return 200 "base\\nhost=$host\\nauth=$http_authorization\\nuri=$request_uri\\n";
        }}
        location = /digest {{
            client_max_body_size 64m;
            proxy_pass http://127.0.0.1:{DIGEST_PORT};
        }}
{self._git_location()}
        # A model provider's API; streamed answers pass as they come.
        location /llm/ {{
            proxy_pass http://127.0.0.1:{MODEL_PORT};
            proxy_buffering off;
        }}
        location / {{ return 404; }}
    }}
}}
""")
        # -e: the error log before the config is read (Debian's default is /var/log/nginx).
        with open(d / "nginx.out", "ab") as out:
            self.nginx = subprocess.Popen(
                self._wrap_server([NGINX, "-p", str(d), "-c", str(d / "nginx.conf"), "-e", str(self.nginx_log)]),
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)

        def accepts():
            with self.socket() as s:
                s.settimeout(1)
                return s.connect_ex((API_V4, 443)) == 0

        self._wait_until(accepts, self.nginx, f"nginx to accept on {API_V4}:443", self.nginx_log,
                         also=d / "nginx.out")

    def _start_dnsmasq(self):
        d = self.tmp
        self.hosts_file = d / "hosts"
        self.dns_log = d / "dnsmasq.log"
        self._write_hosts()
        argv = [DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null", "--user=root", "--group=root",
                f"--listen-address={DNS_V4}", "--bind-interfaces", "--port=53",
                "--no-resolv", "--no-hosts", f"--addn-hosts={self.hosts_file}",
                # Names under .test are ours alone: unknown ones get NXDOMAIN rather than REFUSED.
                "--local=/test/",
                # TTL 0 and no negative cache: a client must see a changed answer at once.
                "--local-ttl=0", "--no-negcache",
                "--log-queries", f"--log-facility={self.dns_log}", f"--pid-file={d}/dnsmasq.pid"]
        with open(d / "dnsmasq.out", "ab") as out:
            self.dnsmasq = subprocess.Popen(self._wrap_server(argv), stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=subprocess.STDOUT)
        self._wait_until(lambda: self._answers_now("api.example.test", "A") == [API_V4], self.dnsmasq,
                         "dnsmasq to answer", self.dns_log, also=d / "dnsmasq.out")

    def _start_fixture(self, wrap, mode, address, port):
        """http_fixture.py in a namespace, once it says it listens."""
        log = self.tmp / f"{mode}.log"
        with open(log, "ab") as err:
            proc = subprocess.Popen(wrap([PYTHON, str(HTTP_FIXTURE), mode, address, str(port)]),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, text=True)
        ready, _, _ = select.select([proc.stdout], [], [], READY_TIMEOUT)
        if not ready or proc.stdout.readline() != "ready\n":
            proc.kill()
            proc.wait()
            raise RuntimeError(f"http_fixture {mode} on {address}:{port} never became ready:\n{log.read_text()}")
        return proc

    def _wait_until(self, condition, proc, what, log, timeout=READY_TIMEOUT, also=None):
        """Retries condition until it holds; an exited process or the deadline is an error."""
        deadline = time.monotonic() + timeout
        while not condition():
            if proc.poll() is not None or time.monotonic() > deadline:
                logs = "".join(p.read_text(errors="replace") for p in (log, also) if p and p.exists())
                why = f"exited with {proc.returncode}" if proc.poll() is not None else f"no success in {timeout}s"
                raise RuntimeError(f"waiting for {what}: {why}\n{logs}")
            try:
                proc.wait(timeout=0.02)  # paces the retries and notices a crash at once
            except subprocess.TimeoutExpired:
                pass
