/* The socket hooks' decision, shared by the programs (net.bpf.c) and the test program that
 * exercises it through BPF_PROG_TEST_RUN (net_test.bpf.c). Include after bpf_helpers.h. */
#ifndef AGENTOS_NET_DECISION_BPF_H
#define AGENTOS_NET_DECISION_BPF_H

#include "agentos_bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64); /* cgroup id */
	__type(value, struct agentos_agent);
} agents SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 262144);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct agentos_net_key);
	__type(value, __u8);
} net_rules SEC(".maps");

#define AGENTOS_NET_UNGOVERNED 0 /* not an agent on the host network: not ours to judge */
#define AGENTOS_NET_ALLOW 1
#define AGENTOS_NET_DENY 2
#define AGENTOS_NET_AUDIT 3 /* not granted, allowed because the agent is in audit mode */

/* addr is IPv6, or IPv4 in its IPv4-mapped form. One read of the agent's generation: a check
 * sees the old rules or the new, never both or neither. */
static __always_inline int agentos_net_decide(__u64 cg, __u8 op, __u8 proto, __u16 port, const __u8 *addr)
{
	struct agentos_agent *agent = bpf_map_lookup_elem(&agents, &cg);
	if (!agent)
		return AGENTOS_NET_UNGOVERNED;
	struct agentos_net_key key;
	__builtin_memset(&key, 0, sizeof(key));
	key.prefixlen = AGENTOS_NET_FIXED_BITS + 128;
	key.generation = agent->generation;
	key.op = op;
	key.proto = proto;
	key.port = port;
	key.cgroup_id = cg;
	__builtin_memcpy(key.addr, addr, 16);
	if (proto && bpf_map_lookup_elem(&net_rules, &key))
		return AGENTOS_NET_ALLOW;
	return (agent->flags & AGENTOS_AGENT_AUDIT) ? AGENTOS_NET_AUDIT : AGENTOS_NET_DENY;
}

#endif
