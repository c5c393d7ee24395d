/* Everything that crosses the BPF/user-space boundary, in one place, fixed-width only. Included by
 * the BPF programs (C) and the daemon (C++); the layouts are checked at compile time on both sides. */
#ifndef AGENTOS_BPF_H
#define AGENTOS_BPF_H

#include <linux/types.h>

#define AGENTOS_OP_CONNECT 1 /* connect(), and sendto()/sendmsg() to an address */
#define AGENTOS_OP_BIND 2
#define AGENTOS_OP_CREATE 3 /* socket(): only in events */

#define AGENTOS_PROTO_TCP 6
#define AGENTOS_PROTO_UDP 17

/* Agents whose sockets the hooks govern: those sharing the host's network namespace. */
struct agentos_agent {
	__u32 generation; /* which of the agent's rules are in force; flipped to replace them */
	__u32 flags; /* AGENTOS_AGENT_* */
};
#define AGENTOS_AGENT_HOST_NET 1 /* shares the host's network namespace */
#define AGENTOS_AGENT_AUDIT 4 /* log what would be refused, and allow it */
#define AGENTOS_AGENT_ARMED 2 /* set by the LSM at the agent's first execve: the sandbox's own
                               * setup (mounts, before any agent code) is not the agent's doing */

/* A connect or bind grant, in an LPM trie: everything up to the address must match exactly, the
 * address to the grant's prefix. IPv4 is stored IPv4-mapped (::ffff:a.b.c.d), so an IPv4-mapped
 * IPv6 destination gets the verdict of its IPv4 form. */
struct agentos_net_key {
	__u32 prefixlen; /* AGENTOS_NET_FIXED_BITS + address prefix length */
	__u32 generation;
	__u64 cgroup_id;
	__u8 op;
	__u8 proto;
	__u16 port; /* network byte order */
	__u8 addr[16];
	__u32 pad; /* zero; the struct's alignment */
};
#define AGENTOS_NET_FIXED_BITS 128 /* generation, cgroup_id, op, proto, port */

/* File grants for the LSM programs: the rights an agent has beneath one granted inode. */
#define AGENTOS_FS_READ 1
#define AGENTOS_FS_WRITE 2 /* create, delete, rename, link, truncate, chmod, chown, setxattr */
#define AGENTOS_FS_EXEC 4

struct agentos_fs_key {
	__u64 cgroup_id;
	__u64 dev; /* the kernel's dev_t (super_block.s_dev), not stat()'s encoding */
	__u64 ino;
	__u32 generation; /* as agentos_agent.generation: flipped to replace the grants at once */
	__u32 pad; /* zero */
};

/* What the LSM programs refused, for the audit log. */
#define AGENTOS_LSM_OPEN 1
#define AGENTOS_LSM_EXEC 2
#define AGENTOS_LSM_MMAP_EXEC 3
#define AGENTOS_LSM_MODIFY 4
#define AGENTOS_LSM_MOUNT 5
#define AGENTOS_LSM_PTRACE 6
#define AGENTOS_LSM_SIGNAL 7
#define AGENTOS_LSM_BPF 8
#define AGENTOS_LSM_UNIX 9
#define AGENTOS_LSM_LISTEN 10
#define AGENTOS_LSM_USERNS 11

struct agentos_lsm_event {
	__u64 cgroup_id;
	__u64 dev;
	__u64 ino;
	__u32 op;
	__u32 want;
	__u32 audit; /* 1: allowed, as the agent's policy is in audit mode */
	__u32 pad;
};

/* A denial, for the audit log. */
struct agentos_net_event {
	__u64 cgroup_id;
	__u8 op;
	__u8 proto;
	__u16 port; /* network byte order */
	__u16 family; /* of the socket; for AGENTOS_OP_CREATE */
	__u16 type; /* for AGENTOS_OP_CREATE */
	__u8 addr[16];
	__u32 audit; /* 1: allowed, as the agent's policy is in audit mode */
	__u32 pad;
};

/* Unix sockets for agents that see the host's filesystem where BPF LSM is missing (bpf/unix.bpf.c):
 * a connect or send to a path is refused unless it is the agent's own broker socket; abstract
 * addresses are left to Landlock's scoping. */
#define AGENTOS_UNIX_CONNECT 1
#define AGENTOS_UNIX_SENDMSG 2
#define AGENTOS_UNIX_PATH_MAX 108 /* sun_path */
#define AGENTOS_BROKER_SOCKET "/run/agentos/broker.sock" /* == sandbox::kBrokerSocket */

struct agentos_unix_event {
	__u64 cgroup_id;
	__u32 op; /* AGENTOS_UNIX_* */
	__u32 len; /* of the path, as given */
	char path[AGENTOS_UNIX_PATH_MAX];
	__u32 pad;
};

/* Device nodes (bpf/dev.bpf.c, cgroup/dev): every agent may open the sandbox's own few character
 * devices (null, zero, full, random, urandom, tty, ptmx and its pseudo-terminals) and what its
 * policy's [devices] grants, by type and number; nothing else, and never mknod. */
#define AGENTOS_DEV_CHAR 2 /* == BPF_DEVCG_DEV_CHAR */

struct agentos_dev_key {
	__u64 cgroup_id;
	__u32 major;
	__u32 minor;
};

struct agentos_dev_event {
	__u64 cgroup_id;
	__u32 access; /* BPF_DEVCG_ACC_*: 1 mknod, 2 read, 4 write */
	__u32 type; /* BPF_DEVCG_DEV_*: 1 block, 2 char */
	__u32 major;
	__u32 minor;
};

#ifdef __cplusplus
static_assert(sizeof(struct agentos_dev_key) == 16, "agentos_dev_key layout");
static_assert(sizeof(struct agentos_dev_event) == 24, "agentos_dev_event layout");
static_assert(sizeof(struct agentos_unix_event) == 128, "agentos_unix_event layout");
static_assert(sizeof(struct agentos_fs_key) == 32, "agentos_fs_key layout");
static_assert(sizeof(struct agentos_lsm_event) == 40, "agentos_lsm_event layout");
static_assert(sizeof(struct agentos_net_key) == 40, "agentos_net_key layout");
static_assert(__builtin_offsetof(struct agentos_net_key, cgroup_id) == 8, "agentos_net_key layout");
static_assert(__builtin_offsetof(struct agentos_net_key, addr) == 20, "agentos_net_key layout");
static_assert(sizeof(struct agentos_agent) == 8, "agentos_agent layout");
static_assert(sizeof(struct agentos_net_event) == 40, "agentos_net_event layout");
#else
_Static_assert(sizeof(struct agentos_dev_key) == 16, "agentos_dev_key layout");
_Static_assert(sizeof(struct agentos_dev_event) == 24, "agentos_dev_event layout");
_Static_assert(sizeof(struct agentos_unix_event) == 128, "agentos_unix_event layout");
_Static_assert(sizeof(struct agentos_fs_key) == 32, "agentos_fs_key layout");
_Static_assert(sizeof(struct agentos_lsm_event) == 40, "agentos_lsm_event layout");
_Static_assert(sizeof(struct agentos_net_key) == 40, "agentos_net_key layout");
_Static_assert(__builtin_offsetof(struct agentos_net_key, addr) == 20, "agentos_net_key layout");
_Static_assert(sizeof(struct agentos_net_event) == 40, "agentos_net_event layout");
#endif

#endif
