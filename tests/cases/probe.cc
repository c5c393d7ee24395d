// agentos-probe: runs one action and says whether the kernel allowed it. The integration tests
// run it inside agents and, as the positive control, outside them.
//   output: "ok [detail]" and exit 0, or "denied <ERRNO> <message>" and exit 1; 2 for bad usage.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <net/if.h>
#include <netdb.h>
#include <sched.h>
#include <signal.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <string>

#include "probe.h"

extern char** environ;

namespace probe {

int result(long rc) {
  if (rc >= 0) {
    std::printf("ok\n");
    return 0;
  }
  int e = errno;
  std::printf("denied %s %s\n", strerrorname_np(e), std::strerror(e));
  return 1;
}

}  // namespace probe

namespace {

using probe::result;

int do_read(const char* path) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return result(-1);
  char c;
  long rc = ::read(fd, &c, 1);
  ::close(fd);
  return result(rc);
}

int do_write(const char* path) {
  int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return result(-1);
  long rc = ::write(fd, "probe\n", 6);
  ::close(fd);
  return result(rc);
}

int do_ls(const char* path) {
  DIR* d = ::opendir(path);
  if (!d) return result(-1);
  std::string self = std::to_string(::dirfd(d));  // hidden when listing /proc/self/fd
  while (dirent* e = ::readdir(d))
    if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..") &&
        (std::strcmp(path, "/proc/self/fd") || self != e->d_name))
      std::printf("%s\n", e->d_name);
  ::closedir(d);
  return 0;
}

int do_ns() {
  for (const char* ns : {"cgroup", "ipc", "mnt", "net", "pid", "user", "uts"}) {
    char buf[64];
    std::string link = std::string("/proc/self/ns/") + ns;
    ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
    if (n < 0) return result(-1);
    std::printf("%.*s\n", static_cast<int>(n), buf);
  }
  return 0;
}

int do_status_lines() {
  std::ifstream in("/proc/self/status");
  for (std::string l; std::getline(in, l);)
    if (l.starts_with("Cap") || l.starts_with("NoNewPrivs") || l.starts_with("Seccomp:") || l.starts_with("Uid") ||
        l.starts_with("Gid") || l.starts_with("Groups"))
      std::printf("%s\n", l.c_str());
  return 0;
}

int do_connect(const char* host, const char* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return result(-1);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(std::atoi(port)));
  if (::inet_pton(AF_INET, host, &a.sin_addr) != 1) return 2;
  return result(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a));
}

// The name's IPv4 addresses as libc finds them (nsswitch, resolv.conf): "ok ADDR..." or "failed WHY".
int do_resolve(const char* name) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(name, nullptr, &hints, &res); rc != 0) {
    std::printf("failed %s\n", ::gai_strerror(rc));
    return 1;
  }
  std::printf("ok");
  for (addrinfo* a = res; a; a = a->ai_next) {
    char text[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr, text, sizeof text);
    std::printf(" %s", text);
  }
  std::printf("\n");
  ::freeaddrinfo(res);
  return 0;
}

bool parse_addr(const char* host, const char* port, sockaddr_storage* ss, socklen_t* len) {
  *ss = {};
  auto* a4 = reinterpret_cast<sockaddr_in*>(ss);
  auto* a6 = reinterpret_cast<sockaddr_in6*>(ss);
  uint16_t p = htons(static_cast<uint16_t>(std::atoi(port)));
  if (::inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = p;
    *len = sizeof *a4;
    return true;
  }
  if (::inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = p;
    *len = sizeof *a6;
    return true;
  }
  return false;
}

// how: tcp (connect), udp (unconnected sendto), sendmsg, sendmmsg, tfo (TCP Fast Open), bind,
// bind-udp, bind-listen, or listen (on a socket never bound, so the kernel picks the port; host and port are its family).
int do_net(const char* how, const char* host, const char* port) {
  sockaddr_storage ss;
  socklen_t len;
  if (!parse_addr(host, port, &ss, &len)) return 2;
  std::string h = how;
  int type = h == "udp" || h == "bind-udp" ? SOCK_DGRAM : SOCK_STREAM;
  int fd = ::socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return result(-1);
  auto* sa = reinterpret_cast<sockaddr*>(&ss);
  if (h == "tcp") return result(::connect(fd, sa, len));
  if (h == "udp") return result(::sendto(fd, "x", 1, 0, sa, len));
  if (h == "tfo") return result(::sendto(fd, "x", 1, MSG_FASTOPEN, sa, len));
  if (h == "bind" || h == "bind-udp") return result(::bind(fd, sa, len));
  if (h == "bind-listen") return ::bind(fd, sa, len) == 0 ? result(::listen(fd, 1)) : result(-1);
  if (h == "sendmsg" || h == "sendmmsg") {  // unconnected UDP through the other send paths
    ::close(fd);
    fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    iovec iov{const_cast<char*>("x"), 1};
    mmsghdr m{};
    m.msg_hdr.msg_name = sa;
    m.msg_hdr.msg_namelen = len;
    m.msg_hdr.msg_iov = &iov;
    m.msg_hdr.msg_iovlen = 1;
    if (h == "sendmsg") return result(::sendmsg(fd, &m.msg_hdr, 0));
    return ::sendmmsg(fd, &m, 1, 0) == 1 ? result(0) : result(-1);
  }
  if (h == "listen") return result(::listen(fd, 1));  // never bound: the kernel picks a port
  // Odd forms of an address: an IPv6 UDP socket sending to or connecting to an IPv4 sockaddr,
  // and a TCP connect whose address is cut short.
  if (h == "udp6-to4" || h == "udp6-connect4") {
    ::close(fd);
    fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (h == "udp6-connect4") return result(::connect(fd, sa, len));
    return result(::sendto(fd, "x", 1, 0, sa, len));
  }
  if (h == "tcp-short") return result(::connect(fd, sa, len - 4));
  if (h == "udp-unspec") {  // connected to a grant, then dissolved: the next send names no address
    ::close(fd);
    fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (::connect(fd, sa, len) != 0) return result(-1);
    sockaddr unspec{};
    unspec.sa_family = AF_UNSPEC;
    if (::connect(fd, &unspec, sizeof unspec) != 0) return result(-1);
    return result(::send(fd, "x", 1, 0));
  }
  return 2;
}

int do_socket(const std::string& kind) {
  int fd = -1;
  if (kind == "raw") fd = ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
  else if (kind == "packet") fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  else if (kind == "uevent") fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, 15 /* NETLINK_KOBJECT_UEVENT */);
  else if (kind == "route") fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, 0 /* NETLINK_ROUTE */);
  else if (kind == "unix") fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  else if (kind == "tcp") fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
  else if (kind == "udp") fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  else if (kind == "udplite") fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 136 /* IPPROTO_UDPLITE */);
  else if (kind == "mptcp") fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 262 /* IPPROTO_MPTCP */);
  else if (kind.starts_with("pair-")) {  // socketpair(): unix, vsock, netlink-audit
    int sv[2];
    int rc = kind == "pair-unix"      ? ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)
             : kind == "pair-vsock"   ? ::socketpair(40 /* AF_VSOCK */, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)
             : kind == "pair-netlink" ? ::socketpair(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 9 /* NETLINK_AUDIT */, sv)
                                      : (errno = EINVAL, -1);
    return result(rc);
  } else return 2;
  return result(fd);
}

// personality(READ_IMPLIES_EXEC) would make readable memory executable; the query (0xffffffff)
// is harmless. memfd_secret hides memory from the kernel's checks.
int do_personality(const std::string& what) {
  unsigned long persona = what == "query" ? 0xffffffffUL : what == "linux" ? 0UL : 0x0400000UL;
  return result(::syscall(SYS_personality, persona));
}

// Swaps two paths (RENAME_EXCHANGE) as fast as it can until STOP exists: a race against a check.
int do_flip(const char* a, const char* b, const char* stop) {
  struct stat st;
  while (::stat(stop, &st) != 0)
    for (int i = 0; i < 1000; ++i) ::syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */);
  return result(0);
}

// One JSON-RPC line to the agent's broker; prints the answer line.
int do_mcp(const char* line) {
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, "/run/agentos/broker.sock");
  if (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return result(-1);
  std::string out = std::string(line) + "\n";
  if (::send(s, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) return result(-1);
  std::string answer;
  char c;
  while (::read(s, &c, 1) == 1 && c != '\n') answer += c;
  std::printf("%s\n", answer.c_str());
  return answer.empty() ? 1 : 0;
}

int do_memfd_secret() { return result(::syscall(447 /* memfd_secret */, 0)); }

int do_ifaces() {
  struct if_nameindex* ifs = ::if_nameindex();
  if (!ifs) return result(-1);
  for (auto* i = ifs; i->if_index; ++i) std::printf("%s\n", i->if_name);
  ::if_freenameindex(ifs);
  return 0;
}

int do_x32() {
  // getpid through the x32 ABI: a filter that checked only the number would let it through.
  return result(::syscall(0x40000000 | SYS_getpid));
}

int do_int80() {
  long ret;
  asm volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");  // i386 getpid
  if (ret < 0) {
    errno = static_cast<int>(-ret);
    return result(-1);
  }
  return result(ret);
}

int do_io_uring() {
  io_uring_params p{};
  long fd = ::syscall(SYS_io_uring_setup, 1, &p);
  return result(fd);
}

int do_bpf() {
  bpf_attr attr{};
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = 1;
  return result(::syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr));
}

int do_perf() {
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  attr.exclude_kernel = 1;
  return result(::syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
}

int do_open_by_handle() {
  // A made-up handle: without the seccomp rule this fails later, with EINVAL/ESTALE/EPERM
  // from the kernel's own check, so the tests compare errnos inside and out.
  struct {
    file_handle fh;
    unsigned char bytes[128];
  } h{};
  h.fh.handle_bytes = 8;
  h.fh.handle_type = 1;
  return result(::syscall(SYS_open_by_handle_at, AT_FDCWD, &h.fh, O_RDONLY));
}

int do_tiocsti() {
  char c = 'x';
  return result(::ioctl(0, TIOCSTI, &c));
}

int do_exec(const char* path) {
  char* argv[] = {const_cast<char*>(path), const_cast<char*>("hostname"), nullptr};
  ::execv(path, argv);
  return result(-1);
}

// Writes a copy of an executable (e.g. this probe) and runs it: code the agent made itself.
int do_copy_exec(const char* src, const char* dst) {
  int in = ::open(src, O_RDONLY | O_CLOEXEC);
  int out = ::open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (in < 0 || out < 0) return result(-1);
  char buf[65536];
  for (ssize_t n; (n = ::read(in, buf, sizeof buf)) > 0;)
    if (::write(out, buf, static_cast<size_t>(n)) != n) return result(-1);
  ::close(in);
  ::close(out);
  return do_exec(dst);
}

// Waits until PATH exists (created from outside, e.g. after the daemon was killed), then acts.
int wait_for_file(const char* path) {
  std::string dir = path;
  dir = dir.substr(0, dir.rfind('/'));
  int in = ::inotify_init1(IN_CLOEXEC);
  if (in < 0 || ::inotify_add_watch(in, dir.c_str(), IN_CREATE | IN_MOVED_TO) < 0) return -1;
  std::printf("ready\n");
  std::fflush(stdout);
  char buf[4096];
  while (::access(path, F_OK) != 0)
    if (::read(in, buf, sizeof buf) < 0 && errno != EINTR) return -1;
  ::close(in);
  return 0;
}

// Connects each time DIR/1, DIR/2, ... appears, printing each result: one agent, many checks.
int do_connect_each(const char* dir, const char* host, const char* port) {
  int in = ::inotify_init1(IN_CLOEXEC);
  if (in < 0 || ::inotify_add_watch(in, dir, IN_CREATE | IN_MOVED_TO) < 0) return result(-1);
  std::printf("ready\n");
  std::fflush(stdout);
  char buf[4096];
  for (int i = 1;; ++i) {
    std::string path = std::string(dir) + "/" + std::to_string(i);
    while (::access(path.c_str(), F_OK) != 0)
      if (::read(in, buf, sizeof buf) < 0 && errno != EINTR) return result(-1);
    do_net("tcp", host, port);
    std::fflush(stdout);
  }
}

// Connects, then waits for PATH and sends on the same connection: what a revoked grant leaves.
int do_hold(const char* path, const char* host, const char* port) {
  sockaddr_storage ss;
  socklen_t len;
  if (!parse_addr(host, port, &ss, &len)) return 2;
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (result(::connect(fd, reinterpret_cast<sockaddr*>(&ss), len)) != 0) return 1;
  std::fflush(stdout);
  if (wait_for_file(path) != 0) return result(-1);
  return result(::send(fd, "x", 1, MSG_NOSIGNAL));
}

int do_pause() {
  std::printf("ready\n");
  std::fflush(stdout);
  for (;;) ::pause();
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc < 2) return 2;
  std::string cmd = argv[1];
  auto arg = [&](int i) -> const char* { return i < argc ? argv[i] : ""; };
  probe::Actions cmds = {
      {"read", [&] { return do_read(arg(2)); }},
      {"write", [&] { return do_write(arg(2)); }},
      {"exists", [&] { struct stat st; return result(::stat(arg(2), &st)); }},
      {"ls", [&] { return do_ls(arg(2)); }},
      {"ns", [&] { return do_ns(); }},
      {"status", [&] { return do_status_lines(); }},
      {"connect", [&] { return do_connect(arg(2), arg(3)); }},
      {"resolve", [&] { return do_resolve(arg(2)); }},
      {"ifaces", [&] { return do_ifaces(); }},
      {"kill", [&] { return result(::kill(std::atoi(arg(2)), 0)); }},
      {"unshare-user", [&] { return result(::unshare(CLONE_NEWUSER)); }},
      {"mount", [&] { return result(::mount("tmpfs", "/tmp", "tmpfs", 0, nullptr)); }},
      {"bpf", [&] { return do_bpf(); }},
      {"cgroup-move", [&] {  // into another cgroup: PATH/cgroup.procs
         int fd = ::open((std::string(arg(2)) + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
         return fd < 0 ? result(-1) : result(::write(fd, "0\n", 2));
       }},
      {"setns", [&] {  // into a namespace it holds a descriptor of: its own, the only one it can name
         int fd = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
         return fd < 0 ? result(-1) : result(::setns(fd, CLONE_NEWNET));
       }},
      {"keyctl", [&] { return result(::syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1)); }},
      {"ptrace", [&] { return result(::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr)); }},
      {"perf", [&] { return do_perf(); }},
      {"io_uring", [&] { return do_io_uring(); }},
      {"open_by_handle", [&] { return do_open_by_handle(); }},
      {"tiocsti", [&] { return do_tiocsti(); }},
      {"x32", [&] { return do_x32(); }},
      {"int80", [&] { return do_int80(); }},
      {"tty", [&] { int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC); return result(fd); }},
      {"open-rw", [&] { int fd = ::open(arg(2), O_RDWR | O_CLOEXEC); return result(fd); }},
      {"open-r", [&] { int fd = ::open(arg(2), O_RDONLY | O_CLOEXEC); return result(fd); }},
      {"env", [&] { for (char** e = environ; *e; ++e) std::printf("%s\n", *e); return 0; }},
      {"fds", [&] { return do_ls("/proc/self/fd"); }},
      {"hostname", [&] { char h[256]{}; ::gethostname(h, sizeof h - 1); std::printf("%s\n", h); return 0; }},
      {"pause", [&] { return do_pause(); }},
      {"net", [&] { return do_net(arg(2), arg(3), arg(4)); }},
      {"socket", [&] { return do_socket(arg(2)); }},
      {"personality", [&] { return do_personality(arg(2)); }},
      {"memfd_secret", [&] { return do_memfd_secret(); }},
      {"flip", [&] { return do_flip(arg(2), arg(3), arg(4)); }},
      {"cat", [&] {  // prints the file's text
         std::ifstream in(arg(2));
         if (!in) return result(-1);
         std::cout << in.rdbuf() << std::flush;
         return 0;
       }},
      {"mcp", [&] { return do_mcp(arg(2)); }},
      {"connect-each", [&] { return do_connect_each(arg(2), arg(3), arg(4)); }},
      {"hold", [&] { return do_hold(arg(2), arg(3), arg(4)); }},
      {"flood", [&] {  // N connects in a row; prints how many were refused
         int n = std::atoi(arg(5)), refused = 0;
         for (int i = 0; i < n; ++i) {
           sockaddr_storage ss;
           socklen_t len;
           if (!parse_addr(arg(3), arg(4), &ss, &len)) return 2;
           int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
           if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno == EPERM) ++refused;
           ::close(fd);
         }
         std::printf("refused %d\n", refused);
         return 0;
       }},
      {"after", [&] {
         if (wait_for_file(arg(2)) != 0) return result(-1);
         return do_net(arg(3), arg(4), arg(5));
       }},
      {"exec", [&] { return do_exec(arg(2)); }},
      {"copy-exec", [&] { return do_copy_exec(arg(2), arg(3)); }},
  };
  probe::add_fs_actions(cmds, arg);
  auto it = cmds.find(cmd);
  if (it == cmds.end()) {
    std::fprintf(stderr, "agentos-probe: unknown action %s\n", cmd.c_str());
    return 2;
  }
  return it->second();
}
