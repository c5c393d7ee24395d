// What both guards do with their maps: pin them on the bpffs, swap an agent's rules at once, and
// read a drop counter.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace agentos::enforce {

// Mounts the bpffs on /sys/fs/bpf if nothing has (systemd does at boot; this host has none) and
// creates pin_dir, which must lie beneath it.
[[nodiscard]] Status ensure_pin_dir(const std::string& pin_dir);

// Deletes an agent's rules (of one generation, or of all) from a map whose Key has cgroup_id and
// generation: the map, not a copy of the policy, says what is in force.
template <class Key>
void drop_rules(int map, uint64_t cgroup_id, std::optional<uint32_t> generation) {
  std::vector<Key> doomed;
  Key k{}, next{};
  for (void* prev = nullptr; bpf_map_get_next_key(map, prev, &next) == 0; prev = &k) {
    if (next.cgroup_id == cgroup_id && (!generation || next.generation == *generation)) doomed.push_back(next);
    k = next;
  }
  for (auto& d : doomed) bpf_map_delete_elem(map, &d);
}

// Starts governing an agent: `put` writes its rules under generation 0, then its entry in
// `agents_fd` (an agentos_agent with `flags`) makes the programs look at them. `drop_all` clears
// what an earlier agent with the same cgroup id left, first, and what this one wrote if it fails.
[[nodiscard]] Status govern(int agents_fd, uint64_t cgroup_id, uint32_t flags, const std::function<Status()>& put,
                            const std::function<void()>& drop_all);

// Replaces an agent's rules atomically: `put(next)` writes the new rules under the next
// generation, one update of the agent's entry in `agents_fd` (an agentos_agent) switches to it,
// then `drop(old)` removes the old rules. A program reads the generation once per check, so no
// check ever sees both rule sets or neither.
[[nodiscard]] Status flip_generation(int agents_fd, uint64_t cgroup_id, const std::function<Status(uint32_t)>& put,
                                     const std::function<void(uint32_t)>& drop);

// The growth of a one-slot u64 counter map since the last call (`seen` keeps the last value).
[[nodiscard]] uint64_t take_counter(int counter_fd, uint64_t* seen);

// A guard's denials: its ring buffer, read at most kEventsPerDrain at a time, and the counter of
// those the ring had no room for. An agent can make denials faster than the daemon handles them;
// reading until the ring is empty would then never end, and the daemon would serve nothing else.
// The rest waits for the event loop's next turn (the ring's fd stays readable); what overflows the
// ring meanwhile is counted as lost.
inline constexpr int kEventsPerDrain = 256;
template <class Event>
class EventStream {
 public:
  using Handler = std::function<void(const Event&)>;
  EventStream() = default;
  ~EventStream() { ring_buffer__free(ring_); }
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  // `ring_fd`: the BPF_MAP_TYPE_RINGBUF; `lost_fd`: its one-slot u64 counter of overflows.
  [[nodiscard]] Status open(int ring_fd, int lost_fd, Handler handler) {
    handler_ = std::move(handler);
    lost_fd_ = lost_fd;
    ring_ = ring_buffer__new(ring_fd, sample, this, nullptr);
    return ring_ ? Status{} : sys_error("ring buffer");
  }
  [[nodiscard]] int fd() const { return ring_buffer__epoll_fd(ring_); }  // readable when events wait
  void drain() {
    left_ = kEventsPerDrain;
    ring_buffer__consume(ring_);
  }
  [[nodiscard]] uint64_t take_lost() { return take_counter(lost_fd_, &lost_seen_); }  // since the last call

 private:
  static int sample(void* ctx, void* data, size_t size) {
    auto* s = static_cast<EventStream*>(ctx);
    if (size >= sizeof(Event) && s->handler_) s->handler_(*static_cast<const Event*>(data));
    return --s->left_ > 0 ? 0 : -EAGAIN;  // this one is consumed either way; a negative stops the read
  }
  ring_buffer* ring_ = nullptr;
  Handler handler_;
  int left_ = 0;
  int lost_fd_ = -1;
  uint64_t lost_seen_ = 0;
};

// A loaded program and the cgroup hook it goes on.
struct CgroupProgram {
  int fd;
  bpf_attach_type type;
  std::string name;
};
[[nodiscard]] CgroupProgram cgroup_program(bpf_program* prog);

// Attaches every program to the cgroup directory `cg` (BPF_F_ALLOW_MULTI, not through a link, so
// they outlive this process: a daemon that dies leaves every agent governed), or none: a failed
// Nth attach detaches the ones before it. Only once all are attached are an earlier daemon's
// programs of the same names detached, so there is no unguarded instant either way.
[[nodiscard]] Status attach_replacing(const std::vector<CgroupProgram>& programs, int cg);


}  // namespace agentos::enforce
