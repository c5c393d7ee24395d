"""Real account servers on loopback for the calendar and email tools, from Debian's packages:
Radicale (CalDAV), dovecot (IMAP) and aiosmtpd (SMTP, with AUTH). Each user "alice" with the
password PASSWORD; dovecot serves a Maildir seeded with messages, aiosmtpd records what it gets."""
import base64
import http.client
import json
import os
import pathlib
import socket
import subprocess
import sys
import textwrap

from harness import follow_until

USER = "alice"
PASSWORD = "correct horse battery staple"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Radicale:
    def __init__(self, root):
        self.root = root
        self.port = free_port()
        self.collection = f"/{USER}/work/"
        self.url = f"http://127.0.0.1:{self.port}{self.collection}"

    def start(self):
        self.root.mkdir(parents=True)
        (self.root / "users").write_text(f"{USER}:{PASSWORD}\n")
        (self.root / "config").write_text(textwrap.dedent(f"""
            [server]
            hosts = 127.0.0.1:{self.port}
            [auth]
            type = htpasswd
            htpasswd_filename = {self.root}/users
            htpasswd_encryption = plain
            [rights]
            type = owner_only
            [storage]
            filesystem_folder = {self.root}/collections
            [logging]
            level = info
            """))
        self.proc = subprocess.Popen(["/usr/bin/python3", "-m", "radicale", "--config", str(self.root / "config")],
                                     stdout=subprocess.DEVNULL, stderr=open(self.root / "log", "w"))
        follow_until(self.root / "log", "Radicale server ready", proc=self.proc)  # after it listens
        status, _ = self.request("MKCALENDAR", self.collection)
        if status != 201:
            raise RuntimeError(f"MKCALENDAR answered {status}")

    def request(self, method, path, body=None, headers=None):
        """The positive control's view: the server itself, with the account's password."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        c.request(method, path, body=body, headers={"Authorization": f"Basic {auth}", **(headers or {})})
        r = c.getresponse()
        data = r.read().decode()
        c.close()
        return r.status, data

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Dovecot:
    def __init__(self, root, messages):
        self.root = root
        self.port = free_port()
        self.url = f"imap://127.0.0.1:{self.port}/"
        self.messages = messages  # raw RFC 5322 texts, oldest first

    def start(self):
        for d in ("run", "state", f"home/{USER}/Maildir/new", f"home/{USER}/Maildir/cur", f"home/{USER}/Maildir/tmp"):
            (self.root / d).mkdir(parents=True)
        for i, m in enumerate(self.messages):
            (self.root / f"home/{USER}/Maildir/new/{1700000000 + i}.M{i}P1.test").write_text(m)
        subprocess.run(["chown", "-R", "65534:65534", str(self.root / "home")], check=True)
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        (self.root / "dovecot.conf").write_text(textwrap.dedent(f"""
            protocols = imap
            listen = 127.0.0.1
            base_dir = {self.root}/run
            state_dir = {self.root}/state
            log_path = {self.root}/dovecot.log
            ssl = no
            disable_plaintext_auth = no
            auth_mechanisms = plain login
            first_valid_uid = 1000
            passdb {{
              driver = passwd-file
              args = scheme=PLAIN username_format=%u {self.root}/passwd
            }}
            userdb {{
              driver = static
              args = uid=65534 gid=65534 home={self.root}/home/%u
            }}
            mail_location = maildir:~/Maildir
            service imap-login {{
              inet_listener imap {{
                address = 127.0.0.1
                port = {self.port}
              }}
              inet_listener imaps {{
                port = 0
              }}
            }}
            """))
        self.proc = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", str(self.root / "dovecot.conf")],
                                     stdout=subprocess.DEVNULL, stderr=open(self.root / "stderr", "w"))
        # The master logs this once its listeners are open, before it serves.
        follow_until(self.root / "dovecot.log", " starting up", proc=self.proc)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


SMTP_SERVER = textwrap.dedent("""
    import json, pathlib, sys
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
    port, user, password, out = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3].encode(), pathlib.Path(sys.argv[4])
    class Record:
        n = 0
        async def handle_DATA(self, server, session, envelope):
            Record.n += 1
            (out / f"{Record.n}.json").write_text(json.dumps({
                "from": envelope.mail_from, "to": envelope.rcpt_tos, "authenticated": session.authenticated,
                "data": envelope.content.decode("utf-8", "replace")}))
            return "250 OK"
    def check(server, session, envelope, mechanism, data):
        return AuthResult(success=isinstance(data, LoginPassword) and data.login == user and data.password == password)
    c = Controller(Record(), hostname="127.0.0.1", port=port, authenticator=check,
                   auth_required=True, auth_require_tls=False)
    c.start()
    print("ready", flush=True)
    sys.stdin.read()
    c.stop()
""")


class Smtp:
    def __init__(self, root):
        self.root = root
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"

    def start(self):
        self.root.mkdir(parents=True)
        self.proc = subprocess.Popen(["/usr/bin/python3", "-c", SMTP_SERVER, str(self.port), USER, PASSWORD, str(self.root)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     stderr=open(self.root / "log", "w"))
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("aiosmtpd did not start")

    def received(self):
        return [json.loads(p.read_text()) for p in sorted(self.root.glob("*.json"), key=lambda p: int(p.stem))]

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
