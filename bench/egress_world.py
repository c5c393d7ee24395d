"""For bench/run.sh: the egress tests' private little Internet (nginx and dnsmasq in a network
namespaces of their own, tests/integration/egress_env.py). Prints the host side's namespace path,
the test CA's, the DNS server's address and other.example.test's, then keeps it up until its
standard input closes."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from egress_env import OTHER_V4, EgressWorld  # noqa: E402

world = EgressWorld().start()
try:
    print(world.netns_path, world.ca_cert, world.dns_server, OTHER_V4, flush=True)
    sys.stdin.read()
finally:
    world.stop()
