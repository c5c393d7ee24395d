// SPDX-License-Identifier: GPL-2.0
/* Socket hooks for agents that share the host's network namespace: socket types, and the
 * destination of every connect, send and bind, against the agent's grants. Attached to the cgroup
 * that holds all agents; an agent is known by its cgroup, which it cannot leave or forge. */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "agentos_bpf.h"
#include "events.bpf.h"
#include "net_decision.bpf.h"

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define AF_NETLINK 16
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define NETLINK_ROUTE 0

char LICENSE[] SEC("license") = "GPL";

AGENTOS_EVENT_MAPS(events, lost);

static __always_inline void report(__u64 cg, __u8 op, __u8 proto, __u16 port, __u16 family, __u16 type,
				   const __u8 *addr, __u32 audit)
{
	struct agentos_net_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		agentos_count_lost(&lost);
		return;
	}
	e->cgroup_id = cg;
	e->op = op;
	e->proto = proto;
	e->port = port;
	e->family = family;
	e->type = type;
	__builtin_memcpy(e->addr, addr, 16);
	e->audit = audit;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int proto_of(struct bpf_sock_addr *ctx)
{
	if (ctx->type == SOCK_STREAM)
		return AGENTOS_PROTO_TCP;
	if (ctx->type == SOCK_DGRAM)
		return AGENTOS_PROTO_UDP;
	return 0;
}

/* 1: allowed; 0: denied (the caller gets EPERM). */
static __always_inline int check(struct bpf_sock_addr *ctx, __u8 op, const __u8 *addr)
{
	__u64 cg = bpf_get_current_cgroup_id();
	__u8 proto = proto_of(ctx);
	__u16 port = (__u16)ctx->user_port;
	int verdict = agentos_net_decide(cg, op, proto, port, addr);
	if (verdict == AGENTOS_NET_UNGOVERNED || verdict == AGENTOS_NET_ALLOW)
		return 1;
	/* Denied, or in audit mode told yes while the log says what its policy lacks. */
	report(cg, op, proto, port, ctx->family, ctx->type, addr, verdict == AGENTOS_NET_AUDIT);
	return verdict == AGENTOS_NET_AUDIT;
}

static __always_inline int check4(struct bpf_sock_addr *ctx, __u8 op)
{
	__u8 addr[16] = {};
	__u32 ip = ctx->user_ip4;
	addr[10] = 0xff;
	addr[11] = 0xff;
	__builtin_memcpy(&addr[12], &ip, 4);
	return check(ctx, op, addr);
}

static __always_inline int check6(struct bpf_sock_addr *ctx, __u8 op)
{
	__u32 words[4] = {ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3]};
	__u8 addr[16];
	__builtin_memcpy(addr, words, 16);
	return check(ctx, op, addr);
}

SEC("cgroup/connect4")
int connect4(struct bpf_sock_addr *ctx) { return check4(ctx, AGENTOS_OP_CONNECT); }

SEC("cgroup/connect6")
int connect6(struct bpf_sock_addr *ctx) { return check6(ctx, AGENTOS_OP_CONNECT); }

/* Unconnected UDP: every datagram's destination. */
SEC("cgroup/sendmsg4")
int sendmsg4(struct bpf_sock_addr *ctx) { return check4(ctx, AGENTOS_OP_CONNECT); }

SEC("cgroup/sendmsg6")
int sendmsg6(struct bpf_sock_addr *ctx) { return check6(ctx, AGENTOS_OP_CONNECT); }

SEC("cgroup/bind4")
int bind4(struct bpf_sock_addr *ctx) { return check4(ctx, AGENTOS_OP_BIND); }

SEC("cgroup/bind6")
int bind6(struct bpf_sock_addr *ctx) { return check6(ctx, AGENTOS_OP_BIND); }

/* Only TCP, UDP, Unix sockets and read-only routing netlink: no raw, packet or other families. */
SEC("cgroup/sock_create")
int sock_create(struct bpf_sock *sk)
{
	__u64 cg = bpf_get_current_cgroup_id();
	struct agentos_agent *agent = bpf_map_lookup_elem(&agents, &cg);
	if (!agent)
		return 1;
	__u32 family = sk->family, type = sk->type, protocol = sk->protocol;
	if (family == AF_UNIX)
		return 1;
	if ((family == AF_INET || family == AF_INET6) &&
	    ((type == SOCK_STREAM && (protocol == 0 || protocol == AGENTOS_PROTO_TCP)) ||
	     (type == SOCK_DGRAM && (protocol == 0 || protocol == AGENTOS_PROTO_UDP))))
		return 1;
	if (family == AF_NETLINK && protocol == NETLINK_ROUTE)
		return 1;
	__u8 none[16] = {};
	__u32 audit = (agent->flags & AGENTOS_AGENT_AUDIT) ? 1 : 0;
	report(cg, AGENTOS_OP_CREATE, (__u8)protocol, 0, (__u16)family, (__u16)type, none, audit);
	return audit;
}
