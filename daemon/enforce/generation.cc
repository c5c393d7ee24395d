#include "enforce/generation.h"

#include <bpf/bpf.h>

#include "agentos_bpf.h"

namespace agentos::enforce {

Status flip_generation(int agents_fd, uint64_t cg, const std::function<Status(uint32_t)>& put,
                       const std::function<void(uint32_t)>& drop) {
  agentos_agent a{};
  if (bpf_map_lookup_elem(agents_fd, &cg, &a) != 0) return sys_error("agent is not governed");
  uint32_t next = a.generation + 1;
  if (auto s = put(next); !s) {
    drop(next);
    return s;
  }
  // Only the generation changes; the flags (ARMED) are the programs' to set.
  agentos_agent flipped = a;
  flipped.generation = next;
  if (bpf_map_update_elem(agents_fd, &cg, &flipped, BPF_EXIST) != 0) {
    auto e = sys_error("switch generation");
    drop(next);
    return e;
  }
  drop(a.generation);
  return {};
}

uint64_t take_counter(int counter_fd, uint64_t* seen) {
  uint32_t zero = 0;
  uint64_t total = 0;
  if (bpf_map_lookup_elem(counter_fd, &zero, &total) != 0) return 0;
  uint64_t fresh = total - *seen;
  *seen = total;
  return fresh;
}

}  // namespace agentos::enforce
