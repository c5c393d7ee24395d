// SPDX-License-Identifier: GPL-2.0
/* A test harness for the socket hooks' decision: BPF_PROG_TEST_RUN feeds it a query, it answers
 * with agentos_net_decide(), the very code the hooks run. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "net_decision.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* The query, as raw_tp arguments (a sleepable "syscall" program could not use the LPM trie):
 * ctx[0] cgroup id, ctx[1] op | proto << 8 | port << 16 (port in network order), ctx[2..3] the
 * 16 address bytes. */
SEC("raw_tp")
int decide(__u64 *ctx)
{
	__u64 cg = ctx[0], packed = ctx[1];
	__u64 words[2] = {ctx[2], ctx[3]};
	__u8 addr[16];
	__builtin_memcpy(addr, words, 16);
	return agentos_net_decide(cg, packed & 0xff, (packed >> 8) & 0xff, (packed >> 16) & 0xffff, addr);
}
