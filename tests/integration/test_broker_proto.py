"""The broker's protobuf protocol (proto/broker.proto) from real agents: after its preface line, a
connection lists and calls tools, detaches calls and awaits them, and delegates, under the same
grants as MCP; a bad request is an error, never a way around them."""
import json
import os
import subprocess
import textwrap

from harness import SOURCE
from test_broker import OWNER, BrokerTest

# Run inside agents: each argument is one BrokerRequest as JSON ({"id": 1, "call_tool": {...}});
# it prints each BrokerResponse as JSON, one line each, until it has as many as asked for.
CLIENT = textwrap.dedent("""
    import json, socket, struct, sys
    sys.path.insert(0, sys.argv[1])
    import broker_pb2
    from google.protobuf import json_format
    want, requests = int(sys.argv[2]), sys.argv[3:]
    s = socket.socket(socket.AF_UNIX)
    s.connect("/run/agentos/broker.sock")
    s.sendall(b"agentos-broker-protobuf/1\\n")
    for r in requests:
        payload = json_format.Parse(r, broker_pb2.BrokerRequest()).SerializeToString()
        s.sendall(struct.pack("<I", len(payload)) + payload)
    f = s.makefile("rb")
    for _ in range(want):
        n, = struct.unpack("<I", f.read(4))
        r = broker_pb2.BrokerResponse.FromString(f.read(n))
        print(json_format.MessageToJson(r, indent=None), flush=True)
""")


class ProtobufApi(BrokerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pb = cls.tmp / "pb"
        cls.pb.mkdir()
        subprocess.run(["protoc", f"-I{SOURCE / 'proto'}", f"--python_out={cls.pb}", "broker.proto"], check=True)
        os.chmod(cls.pb, 0o755)
        os.chmod(cls.pb / "broker_pb2.py", 0o644)

    def talk(self, tools, want, *requests, name="pb-agent"):
        pol = self.policy(name, command=["/usr/bin/true"], read=[str(self.pb)], exec=["/usr/bin"], extra=tools)
        r = self.daemon.ctl("run", "--policy", str(pol), "--", "/usr/bin/python3", "-c", CLIENT, str(self.pb), str(want),
                            *[json.dumps(q) for q in requests], user=OWNER)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return [json.loads(line) for line in r.stdout.splitlines()]

    def test_list_and_call_under_the_same_grants(self):
        tools = '[tools]\nallow = ["kv"]\n'
        listed, stored, got, refused = self.talk(
            tools, 4, {"id": "1", "listTools": {}},
            {"id": "2", "callTool": {"tool": "kv.set", "argumentsJson": '{"key": "k", "value": "v"}'}},
            {"id": "3", "callTool": {"tool": "kv.get", "argumentsJson": '{"key": "k"}'}},
            {"id": "4", "callTool": {"tool": "fs.read", "argumentsJson": '{"path": "x"}'}})
        self.assertEqual(listed["id"], "1")
        self.assertEqual(sorted(t["name"] for t in listed["tools"]["tools"]), ["kv.delete", "kv.get", "kv.list", "kv.set"])
        self.assertEqual(stored["id"], "2")
        self.assertNotIn("isError", stored["result"])  # false is proto3's default
        self.assertEqual(json.loads(got["result"]["valueJson"]), {"found": True, "value": "v"})
        self.assertTrue(refused["result"]["isError"])
        self.assertIn("fs.read is not granted", json.loads(refused["result"]["valueJson"])["error"])
        # The same audit trail as MCP calls.
        ops = [e["operation"] for e in self.broker_audit() if e["agent_name"] == "pb-agent"]
        self.assertTrue(any(o.startswith("tool kv.set") for o in ops), ops)
        self.assertTrue(any("fs.read is not granted" in o for o in ops), ops)

    def test_detached_calls_are_awaited(self):
        tools = '[tools]\nallow = ["kv"]\n'
        started, early, result, unknown = self.talk(
            tools, 4,
            {"id": "1", "callTool": {"tool": "kv.set", "argumentsJson": '{"key": "d", "value": "w"}', "detach": True}},
            {"id": "2", "callTool": {"tool": "kv.get", "argumentsJson": '{"key": "d"}', "detach": True}},
            {"id": "3", "await": {"call": "2"}},
            {"id": "4", "await": {"call": "99"}})
        self.assertEqual(started, {"id": "1", "started": {"call": "1"}})
        self.assertEqual(early, {"id": "2", "started": {"call": "2"}})
        self.assertEqual(result["id"], "3")
        self.assertEqual(json.loads(result["result"]["valueJson"]), {"found": True, "value": "w"})
        self.assertEqual(unknown["id"], "4")
        self.assertIn("no detached call 99", unknown["error"]["message"])

    def test_bad_requests_are_errors(self):
        bad_args, no_tool, empty = self.talk(
            '[tools]\nallow = ["kv"]\n', 3,
            {"id": "1", "callTool": {"tool": "kv.get", "argumentsJson": "[1, 2]"}},
            {"id": "2", "callTool": {"tool": "no.such"}},
            {"id": "3"})
        self.assertEqual(bad_args["error"]["code"], -32602)
        self.assertIn("no tool", no_tool["error"]["message"])
        self.assertEqual(empty["error"]["code"], -32600)

    def test_delegate_message_needs_the_grant(self):
        refused, = self.talk('[tools]\nallow = ["kv"]\n', 1, {"id": "1", "delegate": {"agent": "other", "task": "t"}})
        self.assertTrue(refused["result"]["isError"])
        self.assertIn("agent.delegate is not granted", json.loads(refused["result"]["valueJson"])["error"])
