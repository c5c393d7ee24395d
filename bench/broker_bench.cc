// The broker's round trip, as an agent sees it: a trivial tool call (kv.get of a missing key) over
// /run/agentos/broker.sock. Prints one JSON line.
//   broker_bench closed SECONDS START       one call at a time, each sent when the last answered
//   broker_bench paced RATE SECONDS START   RATE calls a second on a fixed schedule; latency counts
//                                           from the scheduled time, so a stall is not hidden
//   broker_bench flood SECONDS START        64 calls in flight at once, to load the broker
// START (CLOCK_REALTIME seconds) lines up agents started one after another.
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

double clock_s(clockid_t id) {
  timespec t;
  ::clock_gettime(id, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}
double now() { return clock_s(CLOCK_MONOTONIC); }

void sleep_until(double monotonic) {
  timespec t{static_cast<time_t>(monotonic), static_cast<long>((monotonic - static_cast<double>(static_cast<time_t>(monotonic))) * 1e9)};
  while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, nullptr) != 0) {
  }
}

// Reads until `lines` answers arrived; false on EOF. Counts the answers that are refusals (a
// JSON-RPC error or a tool error): the bench must measure calls, not the quota saying no.
bool read_answers(int fd, int lines, long& refused) {
  std::string got;
  while (lines > 0) {
    char tmp[65536];
    ssize_t n = ::read(fd, tmp, sizeof tmp);
    if (n <= 0) return false;
    for (ssize_t i = 0; i < n; ++i) lines -= tmp[i] == '\n';
    got.append(tmp, static_cast<size_t>(n));
  }
  for (const char* bad : {R"("error":)", R"("isError":true)"}) {
    for (size_t at = got.find(bad); at != std::string::npos; at = got.find(bad, at + 1)) ++refused;
  }
  return true;
}

bool send_all(int fd, const std::string& s) { return ::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size()); }

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  int rest = mode == "paced" ? 3 : 2;
  if ((mode != "closed" && mode != "paced" && mode != "flood") || argc != rest + 2) {
    std::fprintf(stderr, "usage: broker_bench closed|flood SECONDS START | paced RATE SECONDS START\n");
    return 2;
  }
  double rate = mode == "paced" ? std::atof(argv[2]) : 0;
  double seconds = std::atof(argv[rest]);
  double start_at = std::atof(argv[rest + 1]);

  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, "/run/agentos/broker.sock");
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("connect /run/agentos/broker.sock");
    return 1;
  }
  const std::string call =
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"kv.get","arguments":{"key":"none"}}})"
      "\n";
  std::string batch;
  for (int i = 0; i < 64; ++i) batch += call;

  sleep_until(now() + std::max(0.0, start_at - clock_s(CLOCK_REALTIME)));
  std::vector<double> lat;
  long calls = 0, refused = 0;
  bool ok = true;
  double start = now(), end = start + seconds;
  for (double due = start; ok && now() < end;) {
    if (mode == "flood") {
      ok = send_all(fd, batch) && read_answers(fd, 64, refused);
      calls += ok ? 64 : 0;
      continue;
    }
    double t = now();
    if (mode == "paced") {
      sleep_until(due);
      t = due;
      due += 1 / rate;
    }
    ok = send_all(fd, call) && read_answers(fd, 1, refused);
    if (!ok) break;
    lat.push_back((now() - t) * 1e6);
    ++calls;
  }
  double took = now() - start;
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, static_cast<size_t>(p / 100 * static_cast<double>(lat.size())))];
  };
  std::printf("{\"mode\": \"%s\", \"calls\": %ld, \"refused\": %ld, \"seconds\": %.3f, \"p50_us\": %.1f, "
              "\"p99_us\": %.1f, \"max_us\": %.1f, \"ok\": %s}\n",
              mode.c_str(), calls, refused, took, pct(50), pct(99), lat.empty() ? 0.0 : lat.back(),
              ok ? "true" : "false");
  return ok && refused == 0 ? 0 : 1;
}
