"""Scale, for bench/run.sh: 64, then 256, mostly idle agents. Each is a broker client making one
tool call a second, in its own sandbox with a private network namespace (the default). With each
count running it measures the daemon's RSS and CPU, the monitors' memory and CPU, the kernel's
memory per agent (from /proc/meminfo, against the same reading with none running), and the broker
round trip of one more agent calling 200 times a second, compared with that agent alone.

    scale.py WORK BIN DAEMON_PID COUNTS AGENTCTL [ARG...]  ->  JSON on stdout
"""
import json
import os
import statistics
import subprocess
import sys
import time

work, bin_dir, daemon, counts, *ctl = sys.argv[1:]
counts = [int(n) for n in counts.split(",")]
TICK = os.sysconf("SC_CLK_TCK")
KERNEL_FIELDS = ("Slab", "KernelStack", "PageTables", "Percpu")


def policy(name, args):
    path = f"{work}/scale-{name}.toml"
    with open(path, "w") as f:
        f.write(f"""[agent]
name = "{name}"
command = {json.dumps([f"{bin_dir}/broker_bench", *args])}
[filesystem]
read = ["/usr"]
exec = ["{bin_dir}"]
[tools]
allow = ["kv.get"]
calls_per_minute = 1000000000
""")
    return path


def meminfo():
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, value = line.split(":")
            out[key] = int(value.split()[0])  # KiB
    return out


def monitors():
    """The daemon's per-agent monitors (they name themselves agentos-monitor)."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() == "agentos-monitor":
                    pids.append(pid)
        except OSError:
            pass
    return pids


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICK
        except OSError:
            pass
    return total


def kib(pid, field, source="status"):
    try:
        with open(f"/proc/{pid}/{source}") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def broker_round_trips(rounds=3):
    """p50/p99 of one agent calling 200 times a second for 5 s, per round."""
    out = []
    for _ in range(rounds):
        path = policy("scale-probe", ["paced", "200", "5", f"{time.time() + 0.5:.3f}"])
        run = subprocess.run([*ctl, "run", "--policy", path], check=True, capture_output=True, text=True)
        out.append(json.loads(run.stdout.strip().splitlines()[-1]))
    return out


def measure(n):
    # Steady state first: the agents have made their first calls and faulted in what they use.
    time.sleep(3)
    mons = monitors()
    cpu0, mcpu0, t0 = cpu_seconds([daemon]), cpu_seconds(mons), time.monotonic()
    time.sleep(10)
    seconds = time.monotonic() - t0
    mem = meminfo()
    return {
        "agents": n,
        "daemon_rss_kib": kib(daemon, "VmRSS"),
        "daemon_cpu": (cpu_seconds([daemon]) - cpu0) / seconds,
        "monitors": len(mons),
        "monitors_pss_kib": sum(kib(m, "Pss", "smaps_rollup") for m in mons),
        "monitors_cpu": (cpu_seconds(mons) - mcpu0) / seconds,
        "kernel_kib": sum(mem.get(k, 0) for k in KERNEL_FIELDS),
        "used_kib": mem["MemTotal"] - mem["MemAvailable"],
        "broker": broker_round_trips(),
    }


results = [measure(0)]
running = 0
for n in counts:
    t0 = time.monotonic()
    for i in range(running, n):
        subprocess.run([*ctl, "run", "--detach", "--policy", policy(f"scale-{i}", ["paced", "1", "86400", "0"])],
                       check=True, stdout=subprocess.DEVNULL)
    started = time.monotonic() - t0
    results.append(measure(n) | {"started": n - running, "start_seconds": started})
    running = n
for i in range(running):
    subprocess.run([*ctl, "stop", f"scale-{i}"], check=False, stdout=subprocess.DEVNULL)
print(json.dumps({"kernel_fields": KERNEL_FIELDS, "runs": results}))
