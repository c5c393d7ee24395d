"""A small HTTP server for the egress tests, run as `http_fixture.py MODE ADDRESS PORT`; it prints
"ready" once it listens (its readiness signal).

  hello   answers any GET with "host service": a service of the gateway's own host, listening on
          every interface (ADDRESS "::", both families)
  digest  answers a POST with the length and SHA-256 of the body it received: the upstream that
          shows a body arrived whole, behind nginx
"""
import hashlib
import http.server
import socket
import socketserver
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    mode = "hello"

    def do_GET(self):
        if self.mode != "hello":
            return self.reply(b"GET is for hello\n", 405)
        self.reply(b"host service\n")

    def do_POST(self):
        if self.mode != "digest":
            return self.reply(b"POST is for digest\n", 405)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.reply(f"bytes={len(body)}\nsha256={hashlib.sha256(body).hexdigest()}\n".encode())

    def reply(self, body, status=200):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def server_bind(self):
        # Not HTTPServer's: it looks its own name up, which waits on DNS that a test network lacks.
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        socketserver.TCPServer.server_bind(self)


def main():
    mode, address, port = sys.argv[1:]
    if mode not in ("hello", "digest"):
        sys.exit(f"unknown mode {mode}")
    Handler.mode = mode
    Server.address_family = socket.AF_INET6 if ":" in address else socket.AF_INET
    server = Server((address, int(port)), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
