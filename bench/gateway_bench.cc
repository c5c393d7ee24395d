// The egress gateway's cost: one HTTP request (connect, request, whole response) and a 16 MiB
// download, made directly or through the gateway. bench/run.sh runs it against nginx in a test
// network namespace: directly from outside any agent, and through the gateway from inside one.
//   gateway_bench direct ADDRESS HOST PORT   connect to ADDRESS, ask for HOST
//   gateway_bench proxy  HOST PORT           an absolute-form request to the gateway (HTTP_PROXY)
//   gateway_bench tunnel HOST PORT           CONNECT through the gateway, then the same request
//   gateway_bench transparent HOST PORT      as a client that ignores the proxy: HOST resolved
//                                            once (the gateway's DNS stub), then as direct
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace {

std::string g_mode, g_address, g_host;
uint16_t g_port = 0;

int dial(const char* address, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, address, &a.sin_addr);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& s) {
  return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
}

// One request on a fresh connection; the number of bytes of the response, or -1.
long request(const std::string& path) {
  std::string authority = g_host + ":" + std::to_string(g_port);
  std::string target = path;
  int fd;
  if (g_mode == "direct" || g_mode == "transparent") {
    fd = dial(g_address.c_str(), g_port);
  } else {
    fd = dial("127.0.0.1", 3128);
    if (g_mode == "proxy") target = "http://" + authority + path;
  }
  if (fd < 0) return -1;
  if (g_mode == "tunnel") {
    char reply[256];
    if (!send_all(fd, "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n") ||
        ::recv(fd, reply, sizeof reply, 0) <= 0 || std::strncmp(reply, "HTTP/1.1 200", 12) != 0) {
      ::close(fd);
      return -1;
    }
  }
  if (!send_all(fd, "GET " + target + " HTTP/1.1\r\nHost: " + authority + "\r\nConnection: close\r\n\r\n")) {
    ::close(fd);
    return -1;
  }
  static char buf[1 << 16];
  long total = 0;
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) total += n;
  ::close(fd);
  return total;
}

void BM_Request(benchmark::State& state) {
  for (auto _ : state)
    if (request("/echo") <= 0) {
      state.SkipWithError("request failed");
      break;
    }
}

void BM_Download16MiB(benchmark::State& state) {
  long bytes = 0;
  for (auto _ : state) {
    long n = request("/big");
    if (n < (16 << 20)) {
      state.SkipWithError("download failed");
      break;
    }
    bytes += n;
  }
  state.SetBytesProcessed(bytes);
}

}  // namespace

BENCHMARK(BM_Request)->UseRealTime();
BENCHMARK(BM_Download16MiB)->UseRealTime()->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (argc < 4 || (std::string(argv[1]) == "direct" && argc < 5)) {
    std::fprintf(stderr, "usage: gateway_bench direct ADDRESS HOST PORT | proxy|tunnel|transparent HOST PORT\n");
    return 2;
  }
  g_mode = argv[1];
  int i = 2;
  if (g_mode == "direct") g_address = argv[i++];
  g_host = argv[i++];
  g_port = static_cast<uint16_t>(std::atoi(argv[i]));
  if (g_mode == "transparent") {
    addrinfo hints{}, *res = nullptr;
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    if (::getaddrinfo(g_host.c_str(), nullptr, &hints, &res) != 0) {
      std::fprintf(stderr, "gateway_bench: cannot resolve %s\n", g_host.c_str());
      return 1;
    }
    char text[INET_ADDRSTRLEN];
    g_address = ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, text, sizeof text);
    ::freeaddrinfo(res);
  }
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
