/* Reporting from BPF programs: a ring buffer of events, and a counter of the events it had no room
 * for, which the daemon records, so that no denial is lost silently. Include after bpf_helpers.h. */
#ifndef AGENTOS_EVENTS_BPF_H
#define AGENTOS_EVENTS_BPF_H

/* Declares the ring buffer `events` and the one-slot counter `lost` (names differ per program,
 * since each program's maps are its own). */
#define AGENTOS_EVENT_MAPS(events, lost)                                                            \
	struct {                                                                                    \
		__uint(type, BPF_MAP_TYPE_RINGBUF);                                                 \
		__uint(max_entries, 256 * 1024);                                                    \
	} events SEC(".maps");                                                                      \
	struct {                                                                                    \
		__uint(type, BPF_MAP_TYPE_ARRAY);                                                   \
		__uint(max_entries, 1);                                                             \
		__type(key, __u32);                                                                 \
		__type(value, __u64);                                                               \
	} lost SEC(".maps")

/* Declares `name`, the set of cgroups (by id) a hook governs; the value is unused. */
#define AGENTOS_GOVERNED_CGROUPS(name)                                                              \
	struct {                                                                                    \
		__uint(type, BPF_MAP_TYPE_HASH);                                                    \
		__uint(max_entries, 65536);                                                         \
		__type(key, __u64);                                                                 \
		__type(value, __u32);                                                               \
	} name SEC(".maps")

static __always_inline void agentos_count_lost(void *lost_map)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(lost_map, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
}

#endif
