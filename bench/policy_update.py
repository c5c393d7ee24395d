"""Policy-update latency, for bench/run.sh: from `agentctl policy apply` to the new rule taking
effect in a running agent, for a one-rule policy and a 1,000-rule one. The agent (verdict_watch,
on the host network) reports the instant its connect() verdict on one destination flips; this side
notes the instant it started agentctl, or, for the daemon's own share, the instant it sent the same
request on the API socket itself. Both sides read CLOCK_MONOTONIC.

    policy_update.py WORK BIN PORT ROUNDS SOCKET AGENTCTL  ->  JSON on stdout
(WORK holds agentos_pb2.py, from protoc.)
"""
import json
import select
import socket
import struct
import subprocess
import sys
import time

work, bin_dir, port, rounds, api, agentctl = sys.argv[1:]
port, rounds = int(port), int(rounds)
ctl = [agentctl, "--socket", api]
sys.path.insert(0, work)
import agentos_pb2  # noqa: E402


def policy(case, granted, others):
    rules = [f"tcp://127.0.0.1:{p}" for p in others] + ([f"tcp://127.0.0.1:{port}"] if granted else [])
    path = f"{work}/policy-{case}-{'grant' if granted else 'revoke'}.toml"
    with open(path, "w") as f:
        f.write(f"""[agent]
name = "policy-bench-{case}"
command = {json.dumps([f"{bin_dir}/verdict_watch", str(port), str(4 * rounds)])}
[filesystem]
read = ["/usr"]
exec = ["{bin_dir}"]
[network]
namespace = "host"
connect = {json.dumps(rules)}
""")
    return path


def apply(path):
    t0 = time.monotonic()
    subprocess.run([*ctl, "policy", "apply", path], check=True, stdout=subprocess.DEVNULL)
    return t0, time.monotonic()


def apply_by_api(path):
    """The request agentctl would send, on a connection opened beforehand: the daemon's share."""
    req = agentos_pb2.Request()
    with open(path) as f:
        req.policy_apply.files.add(path=path, content=f.read())
    payload = req.SerializeToString()
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(api)
        t0 = time.monotonic()
        s.sendall(struct.pack("<I", len(payload)) + payload)
        reply = b""
        while True:
            while len(reply) < 4 or len(reply) < 4 + struct.unpack("<I", reply[:4])[0]:
                chunk = s.recv(65536)
                if not chunk:
                    sys.exit("policy_update: the daemon closed the API connection")
                reply += chunk
            size = struct.unpack("<I", reply[:4])[0]
            resp = agentos_pb2.Response.FromString(reply[4:4 + size])
            reply = reply[4 + size:]
            if resp.HasField("error"):
                sys.exit(f"policy_update: apply refused: {resp.error}")
            if resp.final:
                return t0, time.monotonic()


def next_verdict(agent, want):
    if not select.select([agent.stdout], [], [], 10)[0]:
        sys.exit(f"policy_update: the agent did not report '{want}' within 10 s")
    verdict, at = agent.stdout.readline().split()
    if verdict != want:
        sys.exit(f"policy_update: the agent reported '{verdict}', expected '{want}'")
    return float(at)


out = {}
# 999 other destinations beside the one that changes: the 1,000-rule policy has them all.
for case, others in (("single", []), ("thousand", [p for p in range(30000, 31000) if p != port][:999])):
    grant, revoke = policy(case, True, others), policy(case, False, others)
    apply(revoke)
    agent = subprocess.Popen([*ctl, "run", f"policy-bench-{case}"], stdout=subprocess.PIPE, text=True)
    next_verdict(agent, "denied")
    result = {"rules": len(others) + 1}
    for _ in range(rounds):  # each way of applying in turn, so drift hits both alike
        for how, call in (("agentctl", apply), ("api", apply_by_api)):
            for path, want in ((grant, "allowed"), (revoke, "denied")):
                t0, t1 = call(path)
                effect = (next_verdict(agent, want) - t0) * 1000
                result.setdefault(f"{how}_{'grant' if want == 'allowed' else 'revoke'}_ms", []).append(effect)
                result.setdefault(f"{how}_return_ms", []).append((t1 - t0) * 1000)
    if agent.wait(timeout=10) != 0:
        sys.exit(f"policy_update: the {case} agent failed")
    out[case] = result

# The same client's round trip for a request that changes nothing: its own start-up and connection.
noop = []
for _ in range(rounds):
    t0 = time.monotonic()
    subprocess.run([*ctl, "status"], check=True, stdout=subprocess.DEVNULL)
    noop.append((time.monotonic() - t0) * 1000)
out["noop_ms"] = noop
print(json.dumps(out))
