// The per-call cost of the confinement layers: open()+close() of a file and a TCP connect() on
// loopback. bench/run.sh runs this unconfined, inside an agent, and beside running agents.
//   syscall_bench FILE PORT [google-benchmark flags]
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

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
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      state.SkipWithError("connect failed");
      ::close(fd);
      break;
    }
    ::close(fd);
  }
}

}  // namespace

BENCHMARK(BM_OpenClose);
BENCHMARK(BM_Connect);

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  g_file = argv[1];
  g_port = static_cast<uint16_t>(std::atoi(argv[2]));
  argv[2] = argv[0];
  int n = argc - 2;
  benchmark::Initialize(&n, argv + 2);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
