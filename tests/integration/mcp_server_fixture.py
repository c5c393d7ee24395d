"""A small MCP server (stdio) for the tests: any MCP server the admin configures runs like this
one, in its own sandbox. Tools: echo, peek (tries to read a file), WhoAmI (a name that needs
lower-casing), crash (exits), deep (answers with 100,000 nested arrays), and one whose name
cannot be a grant."""
import json
import os
import sys

TOOLS = [
    {"name": "echo", "description": "Echo text back", "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}},
    {"name": "peek", "description": "Read a file", "inputSchema": {"type": "object", "properties": {"path": {"type": "string"}}}},
    {"name": "WhoAmI", "description": "The server's uid", "inputSchema": {"type": "object"}},
    {"name": "crash", "description": "Exit", "inputSchema": {"type": "object"}},
    {"name": "deep", "description": "A reply nested too deep", "inputSchema": {"type": "object"}},
    {"name": "bad name!", "description": "Cannot be granted", "inputSchema": {"type": "object"}},
]


def call(name, args):
    if name == "echo":
        return {"structuredContent": {"text": args.get("text", ""), "uid": os.getuid()}, "content": []}
    if name == "peek":
        try:
            with open(args["path"]) as f:
                return {"structuredContent": {"read": True, "text": f.read(100)}, "content": []}
        except OSError as e:
            return {"structuredContent": {"read": False, "error": e.strerror}, "content": [], "isError": True}
    if name == "WhoAmI":
        return {"content": [{"type": "text", "text": f"uid {os.getuid()}"}]}
    if name == "crash":
        os._exit(3)
    return None


print("fixture MCP server up", file=sys.stderr, flush=True)  # the log, never the protocol
for line in sys.stdin:
    msg = json.loads(line)
    if "id" not in msg:
        continue  # notifications
    method, params = msg.get("method"), msg.get("params", {})
    if method == "tools/call" and params.get("name") == "deep":  # written by hand: json.dumps would recurse
        print('{"jsonrpc":"2.0","id":%d,"result":{"structuredContent":%s}}' % (msg["id"], "[" * 100000 + "]" * 100000),
              flush=True)
        continue
    if method == "initialize":
        result = {"protocolVersion": params.get("protocolVersion"), "capabilities": {"tools": {}},
                  "serverInfo": {"name": "fixture", "version": "1"}}
    elif method == "tools/list":
        result = {"tools": TOOLS}
    elif method == "tools/call":
        result = call(params["name"], params.get("arguments", {}))
    else:
        result = None
    reply = {"jsonrpc": "2.0", "id": msg["id"]}
    reply.update({"result": result} if result is not None else {"error": {"code": -32601, "message": "no"}})
    print(json.dumps(reply), flush=True)
