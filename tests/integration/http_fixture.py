"""A small HTTP server for the egress tests, run as `http_fixture.py MODE ADDRESS PORT`; it prints
"ready" once it listens (its readiness signal).

  hello   answers any GET with "host service": a service of the gateway's own host, listening on
          every interface (ADDRESS "::", both families)
  digest  answers a POST with the length and SHA-256 of the body it received: the upstream that
          shows a body arrived whole, behind nginx
  model   a model provider's API, as the official SDKs speak it: OpenAI's chat completions and
          Anthropic's messages, whole or streamed (server-sent events); the reply says what the
          last user message was and which credential came with it (behind nginx, under /llm/)
"""
import json
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
        if self.mode == "model":
            return self.model()
        if self.mode != "digest":
            return self.reply(b"POST is for digest\n", 405)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.reply(f"bytes={len(body)}\nsha256={hashlib.sha256(body).hexdigest()}\n".encode())

    def model(self):
        req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        last = req.get("messages", [{}])[-1].get("content", "")
        if isinstance(last, list):
            last = "".join(part.get("text", "") for part in last)
        key = self.headers.get("x-api-key") or self.headers.get("Authorization", "").removeprefix("Bearer ")
        words = ["echo:", last, "key:", key]
        if self.path.endswith("/chat/completions"):
            chunk = lambda delta, finish=None: {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                                                "model": req.get("model"), "choices": [{"index": 0, "delta": delta,
                                                                                       "finish_reason": finish}]}
            if req.get("stream"):
                events = [chunk({"role": "assistant", "content": ""})] + [chunk({"content": w + " "}) for w in words]
                return self.sse([("", e) for e in events + [chunk({}, "stop")]] + [("", "[DONE]")])
            return self.json({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": req.get("model"),
                              "choices": [{"index": 0, "finish_reason": "stop",
                                           "message": {"role": "assistant", "content": " ".join(words)}}],
                              "usage": {"prompt_tokens": 1, "completion_tokens": 4, "total_tokens": 5}})
        if self.path.endswith("/messages"):
            message = {"id": "msg_1", "type": "message", "role": "assistant", "model": req.get("model"),
                       "content": [], "stop_reason": None, "stop_sequence": None,
                       "usage": {"input_tokens": 1, "output_tokens": 0}}
            if req.get("stream"):
                events = [("message_start", {"type": "message_start", "message": message}),
                          ("content_block_start", {"type": "content_block_start", "index": 0,
                                                   "content_block": {"type": "text", "text": ""}})]
                events += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                    "delta": {"type": "text_delta", "text": w + " "}}) for w in words]
                events += [("content_block_stop", {"type": "content_block_stop", "index": 0}),
                           ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn",
                                              "stop_sequence": None}, "usage": {"output_tokens": 4}}),
                           ("message_stop", {"type": "message_stop"})]
                return self.sse(events)
            message.update(content=[{"type": "text", "text": " ".join(words)}], stop_reason="end_turn")
            return self.json(message)
        self.reply(b"no such API\n", 404)

    def json(self, doc):
        body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def sse(self, events):
        """Server-sent events, each written and flushed on its own, as a provider streams them."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for name, data in events:
            text = (f"event: {name}\n" if name else "") + "data: " + (data if isinstance(data, str) else json.dumps(data))
            self.wfile.write(text.encode() + b"\n\n")
            self.wfile.flush()
        self.close_connection = True

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
    if mode not in ("hello", "digest", "model"):
        sys.exit(f"unknown mode {mode}")
    Handler.mode = mode
    Server.address_family = socket.AF_INET6 if ":" in address else socket.AF_INET
    server = Server((address, int(port)), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
