#include "egress/resolver.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cstring>

namespace agentos::egress {
namespace {

struct Query {
  Resolver::Callback done;
};

}  // namespace

Result<std::unique_ptr<Resolver>> Resolver::create(EventLoop& loop, const std::string& servers) {
  static const int init = ares_library_init(ARES_LIB_INIT_ALL);
  if (init != ARES_SUCCESS) return error(std::string("c-ares: ") + ares_strerror(init));
  std::unique_ptr<Resolver> r(new Resolver(loop));
  ares_options opts{};
  opts.sock_state_cb = on_socket_state;
  opts.sock_state_cb_data = r.get();
  opts.lookups = const_cast<char*>("b");  // DNS only: what the gateway checks is what DNS says
  opts.timeout = 2000;
  opts.tries = 2;
  int rc = ares_init_options(&r->channel_, &opts, ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
  if (rc != ARES_SUCCESS) return error(std::string("c-ares: ") + ares_strerror(rc));
  if (!servers.empty()) {
    rc = ares_set_servers_ports_csv(r->channel_, servers.c_str());
    if (rc != ARES_SUCCESS) return error("DNS servers \"" + servers + "\": " + ares_strerror(rc));
  }
  r->timeouts_ = loop.every(kTimeoutCheck, [raw = r.get()] { ares_process_fd(raw->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD); });
  return r;
}

Resolver::~Resolver() {
  sockets_.clear();  // before c-ares closes them
  if (channel_) ares_destroy(channel_);  // pending callbacks run with ARES_EDESTRUCTION
}

void Resolver::on_socket_state(void* self, ares_socket_t fd, int readable, int writable) {
  auto* r = static_cast<Resolver*>(self);
  if (!readable && !writable) {
    r->sockets_.erase(fd);
    return;
  }
  uint32_t ev = (readable ? uint32_t{EPOLLIN} : 0u) | (writable ? uint32_t{EPOLLOUT} : 0u);
  if (auto it = r->sockets_.find(fd); it != r->sockets_.end()) {
    (void)it->second.modify(ev);
    return;
  }
  auto w = r->loop_.watch(fd, ev, [r, fd](uint32_t e) {
    ares_process_fd(r->channel_, (e & (EPOLLIN | EPOLLERR | EPOLLHUP)) ? fd : ARES_SOCKET_BAD,
                    (e & EPOLLOUT) ? fd : ARES_SOCKET_BAD);
  });
  if (w) r->sockets_.emplace(fd, std::move(*w));
}

void Resolver::on_answer(void* arg, int status, int, ares_addrinfo* res) {
  std::unique_ptr<Query> q(static_cast<Query*>(arg));
  if (status != ARES_SUCCESS) {
    if (res) ares_freeaddrinfo(res);
    q->done(error(status == ARES_ENOTFOUND || status == ARES_ENODATA ? "no such name" : ares_strerror(status)));
    return;
  }
  std::vector<Address> out;
  for (ares_addrinfo_node* n = res ? res->nodes : nullptr; n; n = n->ai_next)
    if (n->ai_family == AF_INET || n->ai_family == AF_INET6) {
      Address a = from_sockaddr(n->ai_addr);
      if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
    }
  if (res) ares_freeaddrinfo(res);
  if (out.empty()) q->done(error("no address for this name"));
  else q->done(std::move(out));
}

void Resolver::resolve(const std::string& name, Callback done) {
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_flags = ARES_AI_NOSORT;
  // c-ares may answer from within this call (a malformed name, say); defer it to the loop so
  // callers never see their callback run before resolve() returns.
  auto* q = new Query{[this, done = std::move(done)](Result<std::vector<Address>> r) mutable {
    loop_.defer([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
  }};
  ares_getaddrinfo(channel_, name.c_str(), nullptr, &hints, on_answer, q);
}


}  // namespace agentos::egress
