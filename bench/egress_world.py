"""For bench/run.sh: the egress tests' private little Internet (nginx and dnsmasq in a network
namespace of their own, tests/integration/egress_env.py). Prints the namespace's path and the test
CA's, then keeps it up until its standard input closes."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from egress_env import EgressWorld  # noqa: E402

world = EgressWorld().start()
try:
    print(world.netns_path, world.ca_cert, flush=True)
    sys.stdin.read()
finally:
    world.stop()
