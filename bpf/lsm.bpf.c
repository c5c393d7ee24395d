// SPDX-License-Identifier: GPL-2.0
/* BPF LSM programs: the kernel says no to any file, exec or escape route an agent's policy does
 * not grant. An agent is known by its cgroup, which it cannot leave or forge.
 *
 * File grants are checked on the object reached, never on a path string: each hook walks the
 * dentry ancestry of what is being opened, executed, mapped or changed, up to the nearest granted
 * inode (crossing mounts that show a filesystem from its root), so symlinks, "..", renames, bind
 * mounts, /proc/PID/root and files created after the policy loaded all resolve to what they
 * really are. Filesystems mounted in the
 * agent's own user namespace (its private /tmp, /proc and root) are its own. */
#include <linux/bpf.h>
#include <linux/errno.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "agentos_bpf.h"
#include "events.bpf.h"
#include "kernel_types.h"

#define FMODE_READ 0x1
#define FMODE_WRITE 0x2
#define FMODE_EXEC 0x20
#define PROT_EXEC 0x4
#define MAX_DEPTH 48 /* deeper paths are refused: the walk must end for the verifier */


char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64); /* cgroup id */
	__type(value, struct agentos_agent);
} lsm_agents SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct agentos_fs_key);
	__type(value, __u32); /* AGENTOS_FS_* */
} fs_grants SEC(".maps");

AGENTOS_EVENT_MAPS(lsm_events, lsm_lost);

/* The agent this task belongs to, once armed: from its first execve on. Before it, only the
 * launcher's own setup code runs in the cgroup (it never execs anything but the agent). */
static __always_inline struct agentos_agent *agent(__u64 *cg)
{
	*cg = bpf_get_current_cgroup_id();
	struct agentos_agent *a = bpf_map_lookup_elem(&lsm_agents, cg);
	return a && (a->flags & AGENTOS_AGENT_ARMED) ? a : 0;
}

/* Reports what the policy does not allow; refuses it unless the agent is in audit mode. */
static __always_inline int deny(struct agentos_agent *a, __u64 cg, __u32 op, __u32 want, struct dentry *d)
{
	__u32 audit = (a->flags & AGENTOS_AGENT_AUDIT) ? 1 : 0;
	struct agentos_lsm_event *e = bpf_ringbuf_reserve(&lsm_events, sizeof(*e), 0);
	if (e) {
		e->cgroup_id = cg;
		e->op = op;
		e->want = want;
		e->audit = audit;
		e->pad = 0;
		e->dev = d ? BPF_CORE_READ(d, d_sb, s_dev) : 0;
		e->ino = d ? BPF_CORE_READ(d, d_inode, i_ino) : 0;
		bpf_ringbuf_submit(e, 0);
	} else {
		agentos_count_lost(&lsm_lost);
	}
	return audit ? 0 : -EPERM;
}

/* Mounted inside the agent's own user namespace: its private /tmp, /proc and root. */
static __always_inline int own_fs(struct super_block *sb)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	return BPF_CORE_READ(sb, s_user_ns) == BPF_CORE_READ(t, cred, user_ns);
}

/* The rights of the nearest granted ancestor of d (itself included). m may be null (path_link),
 * in which case the walk stays within d's filesystem. */
static __always_inline __u32 rights_of(struct dentry *d, struct vfsmount *vm, __u64 cg, __u32 gen)
{
	struct mount *m = vm ? (struct mount *)((void *)vm - bpf_core_field_offset(struct mount, mnt)) : 0;
	struct agentos_fs_key key;
	__builtin_memset(&key, 0, sizeof(key));
	key.cgroup_id = cg;
	key.generation = gen; /* read once: a check sees the old grants or the new, never a mix */
	for (int i = 0; i < MAX_DEPTH && d; i++) {
		key.dev = BPF_CORE_READ(d, d_sb, s_dev);
		key.ino = BPF_CORE_READ(d, d_inode, i_ino);
		__u32 *r = bpf_map_lookup_elem(&fs_grants, &key);
		if (r)
			return *r;
		struct dentry *up = BPF_CORE_READ(d, d_parent);
		if (up != d) {
			d = up;
			continue;
		}
		/* The root of this filesystem: continue from where its mount is attached, but only if
		 * that mount shows the filesystem from its root. A bind mount of a subdirectory is
		 * attached somewhere its objects do not live: crossing there would let a bind mount of
		 * an ungranted directory into a granted one pass as granted. */
		if (!m || BPF_CORE_READ(m, mnt.mnt_root) != d)
			return 0;
		struct mount *parent = BPF_CORE_READ(m, mnt_parent);
		if (parent == m)
			return 0;
		d = BPF_CORE_READ(m, mnt_mountpoint);
		m = parent;
	}
	return 0;
}

static __always_inline int need(struct dentry *d, struct vfsmount *vm, __u32 want, __u32 op)
{
	__u64 cg;
	struct agentos_agent *a = agent(&cg);
	if (!a)
		return 0;
	if (own_fs(BPF_CORE_READ(d, d_sb)))
		return (want & AGENTOS_FS_EXEC) ? deny(a, cg, op, want, d) : 0; /* nothing it wrote runs */
	if ((rights_of(d, vm, cg, a->generation) & want) == want)
		return 0;
	return deny(a, cg, op, want, d);
}

SEC("lsm/file_open")
int BPF_PROG(file_open, struct file *file, int ret)
{
	if (ret)
		return ret;
	unsigned int mode = BPF_CORE_READ(file, f_mode);
	__u32 want = (mode & FMODE_READ ? AGENTOS_FS_READ : 0) | (mode & FMODE_WRITE ? AGENTOS_FS_WRITE : 0) |
		     (mode & FMODE_EXEC ? AGENTOS_FS_EXEC : 0);
	if (!want)
		return 0;
	return need(BPF_CORE_READ(file, f_path.dentry), BPF_CORE_READ(file, f_path.mnt), want, AGENTOS_LSM_OPEN);
}

SEC("lsm/bprm_check_security")
int BPF_PROG(bprm_check, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return ret;
	__u64 cg = bpf_get_current_cgroup_id();
	struct agentos_agent *a = bpf_map_lookup_elem(&lsm_agents, &cg);
	if (a && !(a->flags & AGENTOS_AGENT_ARMED))
		a->flags |= AGENTOS_AGENT_ARMED; /* the agent's own first exec; nothing races it */
	struct file *f = BPF_CORE_READ(bprm, file);
	return need(BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt), AGENTOS_FS_EXEC, AGENTOS_LSM_EXEC);
}

/* Mapping a file executable: allowed where exec is granted, and for read-only grants (the system's
 * own libraries); never for what the agent can write, nor for its private files. */
static __always_inline int map_exec(struct file *f)
{
	__u64 cg;
	struct agentos_agent *a = f ? agent(&cg) : 0;
	if (!a)
		return 0;
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	if (own_fs(BPF_CORE_READ(d, d_sb)))
		return deny(a, cg, AGENTOS_LSM_MMAP_EXEC, AGENTOS_FS_EXEC, d);
	__u32 have = rights_of(d, BPF_CORE_READ(f, f_path.mnt), cg, a->generation);
	if ((have & AGENTOS_FS_EXEC) || ((have & AGENTOS_FS_READ) && !(have & AGENTOS_FS_WRITE)))
		return 0;
	return deny(a, cg, AGENTOS_LSM_MMAP_EXEC, AGENTOS_FS_EXEC, d);
}

SEC("lsm/mmap_file")
int BPF_PROG(mmap_file, struct file *file, unsigned long reqprot, unsigned long prot, unsigned long flags, int ret)
{
	if (ret)
		return ret;
	return (prot & PROT_EXEC) ? map_exec(file) : 0;
}

SEC("lsm/file_mprotect")
int BPF_PROG(file_mprotect, struct vm_area_struct *vma, unsigned long reqprot, unsigned long prot, int ret)
{
	if (ret)
		return ret;
	return (prot & PROT_EXEC) ? map_exec(BPF_CORE_READ(vma, vm_file)) : 0;
}

/* Changes to the tree: the directory being changed needs a write grant. */
#define MODIFY_HOOK(name, ...)                                                                      \
	SEC("lsm/" #name)                                                                           \
	int BPF_PROG(name, const struct path *dir, ##__VA_ARGS__, int ret)                         \
	{                                                                                           \
		if (ret)                                                                            \
			return ret;                                                                 \
		return need(BPF_CORE_READ(dir, dentry), BPF_CORE_READ(dir, mnt), AGENTOS_FS_WRITE,  \
			    AGENTOS_LSM_MODIFY);                                                    \
	}

MODIFY_HOOK(path_unlink, struct dentry *dentry)
MODIFY_HOOK(path_mkdir, struct dentry *dentry, __u16 mode)
MODIFY_HOOK(path_rmdir, struct dentry *dentry)
MODIFY_HOOK(path_mknod, struct dentry *dentry, __u16 mode, unsigned int dev)
MODIFY_HOOK(path_symlink, struct dentry *dentry, const char *old_name)
MODIFY_HOOK(path_truncate)
MODIFY_HOOK(path_chmod, __u16 mode)
MODIFY_HOOK(path_chown, __u32 uid, __u32 gid)

SEC("lsm/path_rename")
int BPF_PROG(path_rename, const struct path *old_dir, struct dentry *old_dentry, const struct path *new_dir,
	     struct dentry *new_dentry, unsigned int flags, int ret)
{
	if (ret)
		return ret;
	int r = need(BPF_CORE_READ(old_dir, dentry), BPF_CORE_READ(old_dir, mnt), AGENTOS_FS_WRITE, AGENTOS_LSM_MODIFY);
	return r ? r : need(BPF_CORE_READ(new_dir, dentry), BPF_CORE_READ(new_dir, mnt), AGENTOS_FS_WRITE, AGENTOS_LSM_MODIFY);
}

/* A hard link needs write where it is made, and read of what it links to: no ungranted file
 * can be pulled into a granted directory. */
SEC("lsm/path_link")
int BPF_PROG(path_link, struct dentry *old_dentry, const struct path *new_dir, struct dentry *new_dentry, int ret)
{
	if (ret)
		return ret;
	int r = need(BPF_CORE_READ(new_dir, dentry), BPF_CORE_READ(new_dir, mnt), AGENTOS_FS_WRITE, AGENTOS_LSM_MODIFY);
	return r ? r : need(old_dentry, BPF_CORE_READ(new_dir, mnt), AGENTOS_FS_READ | AGENTOS_FS_WRITE, AGENTOS_LSM_MODIFY);
}

/* Extended attributes and timestamps have no path hook: the inode hooks see no mount, so their
 * walk stays within the file's own filesystem (a grant above a mount point does not reach). */
SEC("lsm/inode_setxattr")
int BPF_PROG(inode_setxattr, struct user_namespace *mnt_userns, struct dentry *dentry, const char *name,
	     const void *value, __u64 size, int flags, int ret)
{
	if (ret)
		return ret;
	return need(dentry, 0, AGENTOS_FS_WRITE, AGENTOS_LSM_MODIFY);
}

SEC("lsm/inode_removexattr")
int BPF_PROG(inode_removexattr, struct user_namespace *mnt_userns, struct dentry *dentry, const char *name, int ret)
{
	if (ret)
		return ret;
	return need(dentry, 0, AGENTOS_FS_WRITE, AGENTOS_LSM_MODIFY);
}

/* utimes: mode, owner and size changes come through the path hooks above, with their mounts. */
#define ATTR_SIZE 8
#define ATTR_ATIME 16
#define ATTR_MTIME 32
static __always_inline int set_times(struct dentry *dentry, struct iattr *attr)
{
	unsigned int valid = BPF_CORE_READ(attr, ia_valid);
	if (!(valid & (ATTR_ATIME | ATTR_MTIME)) || (valid & ATTR_SIZE))
		return 0;
	return need(dentry, 0, AGENTOS_FS_WRITE, AGENTOS_LSM_MODIFY);
}

/* Linux 6.3 added a leading idmap argument; the guard loads the variant the kernel's BTF has. */
SEC("lsm/inode_setattr")
int BPF_PROG(inode_setattr, struct dentry *dentry, struct iattr *attr, int ret)
{
	return ret ? ret : set_times(dentry, attr);
}

SEC("lsm/inode_setattr")
int BPF_PROG(inode_setattr_idmap, struct mnt_idmap *idmap, struct dentry *dentry, struct iattr *attr, int ret)
{
	return ret ? ret : set_times(dentry, attr);
}

/* Escape routes: none of these is ever an agent's to use. */
#define DENY_HOOK(name, op, ...)                                                                    \
	SEC("lsm/" #name)                                                                           \
	int BPF_PROG(name, ##__VA_ARGS__, int ret)                                                  \
	{                                                                                           \
		__u64 cg;                                                                           \
		if (ret)                                                                            \
			return ret;                                                                 \
		struct agentos_agent *a = agent(&cg);                                               \
		return a ? deny(a, cg, op, 0, 0) : 0;                                               \
	}

DENY_HOOK(sb_mount, AGENTOS_LSM_MOUNT, const char *dev_name, const struct path *path, const char *type,
	  unsigned long flags, void *data)
DENY_HOOK(move_mount, AGENTOS_LSM_MOUNT, const struct path *from_path, const struct path *to_path)
DENY_HOOK(sb_umount, AGENTOS_LSM_MOUNT, struct vfsmount *mnt, int flags)
DENY_HOOK(sb_pivotroot, AGENTOS_LSM_MOUNT, const struct path *old_path, const struct path *new_path)
DENY_HOOK(bpf, AGENTOS_LSM_BPF, int cmd, union bpf_attr *attr, unsigned int size)
/* A nested user namespace would hand the agent capabilities over new mounts and sockets. */
DENY_HOOK(userns_create, AGENTOS_LSM_USERNS, const struct cred *cred)

/* ptrace and signals reach only the agent's own processes (its own cgroup). */
static __always_inline int same_agent(struct task_struct *other, __u32 op)
{
	__u64 cg;
	struct agentos_agent *a = agent(&cg);
	if (!a)
		return 0;
	if (BPF_CORE_READ(other, cgroups, dfl_cgrp, kn, id) == cg)
		return 0;
	return deny(a, cg, op, 0, 0);
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(ptrace_access_check, struct task_struct *child, unsigned int mode, int ret)
{
	return ret ? ret : same_agent(child, AGENTOS_LSM_PTRACE);
}

SEC("lsm/task_kill")
int BPF_PROG(task_kill, struct task_struct *p, struct kernel_siginfo *info, int sig, const struct cred *cred, int ret)
{
	return ret ? ret : same_agent(p, AGENTOS_LSM_SIGNAL);
}

/* Unix sockets: a peer bound to a path is reachable only through a write grant covering that
 * path (connecting needs write permission, as for the kernel's own check), or if it is the agent's
 * own file; any other peer (abstract or unnamed) only if an agent process created it. */
static __always_inline int unix_peer(struct sock *other)
{
	__u64 cg;
	struct agentos_agent *a = agent(&cg);
	if (!a || !other)
		return 0;
	struct unix_sock *u = (struct unix_sock *)other;
	struct dentry *d = BPF_CORE_READ(u, path.dentry);
	if (d) {
		if (own_fs(BPF_CORE_READ(d, d_sb)))
			return 0;
		if (rights_of(d, BPF_CORE_READ(u, path.mnt), cg, a->generation) & AGENTOS_FS_WRITE)
			return 0;
		return deny(a, cg, AGENTOS_LSM_UNIX, AGENTOS_FS_WRITE, d);
	}
	if (BPF_CORE_READ(other, sk_cgrp_data.cgroup, kn, id) == cg)
		return 0;
	return deny(a, cg, AGENTOS_LSM_UNIX, 0, 0);
}

SEC("lsm/unix_stream_connect")
int BPF_PROG(unix_stream_connect, struct sock *sock, struct sock *other, struct sock *newsk, int ret)
{
	return ret ? ret : unix_peer(other);
}

SEC("lsm/unix_may_send")
int BPF_PROG(unix_may_send, struct socket *sock, struct socket *other, int ret)
{
	return ret ? ret : unix_peer(BPF_CORE_READ(other, sk));
}

/* listen() on the host's network: only on a port the agent bound, which the cgroup bind hook
 * checked. An unbound socket would get a port from the kernel, past every bind check. */
SEC("lsm/socket_listen")
int BPF_PROG(socket_listen, struct socket *sock, int backlog, int ret)
{
	__u64 cg;
	if (ret)
		return ret;
	struct agentos_agent *a = agent(&cg);
	if (!a || !(a->flags & AGENTOS_AGENT_HOST_NET))
		return 0;
	struct sock *sk = BPF_CORE_READ(sock, sk);
	unsigned short family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if ((family != AF_INET && family != AF_INET6) || BPF_CORE_READ(sk, __sk_common.skc_num))
		return 0;
	return deny(a, cg, AGENTOS_LSM_LISTEN, 0, 0);
}
