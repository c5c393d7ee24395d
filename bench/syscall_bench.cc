// The per-call cost of the confinement layers: open()+close() of a file and a TCP connect() to a
// loopback port where nothing listens. bench/run.sh runs this unconfined, inside an agent, beside
// running agents, and under one layer alone (applied here, as the sandbox applies it), to tell
// the layers' costs apart.
//   syscall_bench FILE PORT [--layer=seccomp|landlock] [google-benchmark flags]
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sys/prctl.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "policy/policy.h"
#include "sandbox/landlock.h"
#include "sandbox/launch_spec.h"
#include "sandbox/seccomp.h"

namespace {

std::string g_file;
uint16_t g_port = 0;

void BM_OpenClose(benchmark::State& state) {
  for (auto _ : state) {
    int fd = ::open(g_file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      state.SkipWithError("open failed");
      break;
    }
    ::close(fd);
  }
}

void BM_Connect(benchmark::State& state) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(g_port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (auto _ : state) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    // Nothing listens on PORT: a connect the hooks let through is refused by TCP, and leaves no
    // connection behind to wait in TIME_WAIT. EPERM would be the hooks saying no.
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 || errno != ECONNREFUSED) {
      state.SkipWithError(errno == EPERM ? "connect denied" : "connect did not end in ECONNREFUSED");
      ::close(fd);
      break;
    }
    ::close(fd);
  }
}

}  // namespace

BENCHMARK(BM_OpenClose);
BENCHMARK(BM_Connect);

// The agents' seccomp filter, or the Landlock rules an agent granted read of FILE's directory gets
// (in the host's view, where nothing else stands between them), on this process alone.
int apply_layer(const std::string& layer) {
  using namespace agentos;
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  if (layer == "seccomp") {
    auto f = sandbox::build_baseline_filter();
    return f ? sandbox::install_filter(*f) : EINVAL;
  }
  std::string dir = g_file.substr(0, g_file.rfind('/'));
  auto p = policy::parse_policy("[agent]\ncommand = [\"/usr/bin/true\"]\n[filesystem]\nview = \"host\"\nread = [\"/usr\", \"" +
                                    dir + "\"]\n",
                                "bench.toml");
  if (!p.policy) return EINVAL;
  auto spec = sandbox::make_launch_spec(*p.policy, "bench", 65534, 65534, {});
  if (!spec || spec->landlock.abi == 0) return ENOSYS;
  const char* what = "";
  int ruleset = -1;
  if (int e = sandbox::prepare_landlock(spec->landlock, &ruleset, &what)) return e;
  return sandbox::enforce_landlock(ruleset, &what);
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  g_file = argv[1];
  g_port = static_cast<uint16_t>(std::atoi(argv[2]));
  if (argc > 3 && std::string(argv[3]).starts_with("--layer=")) {
    if (int e = apply_layer(std::string(argv[3]).substr(8))) {
      std::fprintf(stderr, "syscall_bench: cannot apply %s: %s\n", argv[3], std::strerror(e));
      return 1;
    }
    argv[3] = argv[2];
    argv[2] = argv[1];
    ++argv;
    --argc;
  }
  argv[2] = argv[0];
  int n = argc - 2;
  benchmark::Initialize(&n, argv + 2);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
