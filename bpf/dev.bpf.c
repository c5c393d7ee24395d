// SPDX-License-Identifier: GPL-2.0
/* cgroup/dev: which device nodes an agent may open, by type and number, whatever path reaches
 * them (the sandbox's own /dev, a granted directory that holds a node, the host's /dev in the
 * host view). The sandbox's few character devices are always allowed; [devices] grants add to
 * them per agent; mknod is always refused. A process outside any governed agent is not judged. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "agentos_bpf.h"
#include "events.bpf.h"

char LICENSE[] SEC("license") = "GPL";

AGENTOS_GOVERNED_CGROUPS(dev_agents);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct agentos_dev_key);
	__type(value, __u32); /* unused */
} dev_grants SEC(".maps");

AGENTOS_EVENT_MAPS(dev_events, dev_lost);

/* null, zero, full, random, urandom; tty and ptmx; the pseudo-terminals of its own devpts. */
static __always_inline int baseline(__u32 major, __u32 minor)
{
	if (major == 1)
		return minor == 3 || minor == 5 || minor == 7 || minor == 8 || minor == 9;
	if (major == 5)
		return minor == 0 || minor == 2;
	return major >= 136 && major <= 143;
}

SEC("cgroup/dev")
int agentos_dev(struct bpf_cgroup_dev_ctx *ctx)
{
	__u64 cg = bpf_get_current_cgroup_id();
	if (!bpf_map_lookup_elem(&dev_agents, &cg))
		return 1;
	__u32 type = ctx->access_type & 0xffff, access = ctx->access_type >> 16;
	if (!(access & BPF_DEVCG_ACC_MKNOD) && type == BPF_DEVCG_DEV_CHAR) {
		if (baseline(ctx->major, ctx->minor))
			return 1;
		struct agentos_dev_key key = {.cgroup_id = cg, .major = ctx->major, .minor = ctx->minor};
		if (bpf_map_lookup_elem(&dev_grants, &key))
			return 1;
	}
	struct agentos_dev_event *e = bpf_ringbuf_reserve(&dev_events, sizeof(*e), 0);
	if (e) {
		e->cgroup_id = cg;
		e->access = access;
		e->type = type;
		e->major = ctx->major;
		e->minor = ctx->minor;
		bpf_ringbuf_submit(e, 0);
	} else {
		agentos_count_lost(&dev_lost);
	}
	return 0;
}
