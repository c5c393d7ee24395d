// SPDX-License-Identifier: GPL-2.0
/* cgroup sock_addr hooks for Unix sockets (Linux 6.7), for agents that see the host's filesystem
 * where BPF LSM is missing. Landlock governs no connect() to a socket file, so without these an
 * agent in the host's view reaches every socket its owner can (ssh-agent, D-Bus, the daemon's own
 * API). A connect or send to a path is refused unless it is the agent's own broker socket, which
 * lives in the agent's private /run/agentos where Landlock lets it change nothing. Abstract
 * addresses are left to Landlock's scoping. Paths are compared as given: no other spelling, no
 * relative path, no link the agent made is ever allowed, since only one exact string is.
 *
 * libbpf 1.1 predates these attach types: the programs carry a section libbpf knows for their
 * program type, and the guard sets the attach type (BPF_CGROUP_UNIX_*) before loading them. */
#include <linux/bpf.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "agentos_bpf.h"
#include "events.bpf.h"
#include "kernel_types.h"

char LICENSE[] SEC("license") = "GPL";

AGENTOS_GOVERNED_CGROUPS(unix_agents);

AGENTOS_EVENT_MAPS(unix_events, unix_lost);

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

struct sun {
	unsigned short family;
	char path[AGENTOS_UNIX_PATH_MAX];
};

static __always_inline int is_broker(const struct sun *a, __u32 len)
{
	const char want[] = AGENTOS_BROKER_SOCKET;
	const __u32 n = sizeof(want) - 1;
	for (__u32 i = 0; i < n; i++)
		if (a->path[i] != want[i])
			return 0;
	return len == 2 + n || (len > 2 + n && a->path[n] == 0);
}

static __always_inline int check(struct bpf_sock_addr *ctx, __u32 op)
{
	__u64 cg = bpf_get_current_cgroup_id();
	if (!bpf_map_lookup_elem(&unix_agents, &cg))
		return 1;
	struct bpf_sock_addr_kern *k = bpf_cast_to_kern_ctx(ctx);
	struct sun a = {};
	__u32 len = BPF_CORE_READ(k, uaddrlen);
	if (len > sizeof(a))
		len = sizeof(a);
	if (bpf_probe_read_kernel(&a, sizeof(a), BPF_CORE_READ(k, uaddr)) != 0)
		return 0;
	if (len <= 2 || a.path[0] == 0 || is_broker(&a, len))
		return 1; /* unnamed or abstract (Landlock scopes those), or its own broker */
	struct agentos_unix_event *e = bpf_ringbuf_reserve(&unix_events, sizeof(*e), 0);
	if (e) {
		e->cgroup_id = cg;
		e->op = op;
		e->len = len - 2;
		__builtin_memcpy(e->path, a.path, sizeof(e->path));
		e->pad = 0;
		bpf_ringbuf_submit(e, 0);
	} else {
		agentos_count_lost(&unix_lost);
	}
	return 0;
}

SEC("cgroup/connect4")
int unix_connect(struct bpf_sock_addr *ctx)
{
	return check(ctx, AGENTOS_UNIX_CONNECT);
}

SEC("cgroup/sendmsg4")
int unix_sendmsg(struct bpf_sock_addr *ctx)
{
	return check(ctx, AGENTOS_UNIX_SENDMSG);
}
