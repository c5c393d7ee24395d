/* The few kernel types the LSM programs read, as CO-RE relocatable stubs: libbpf matches each
 * field by name against the running kernel's BTF at load time, so no vmlinux.h is dumped from the
 * build host (systemd's restrict-fs.bpf.c does the same). */
#ifndef AGENTOS_KERNEL_TYPES_H
#define AGENTOS_KERNEL_TYPES_H

#include <linux/types.h>

#define CORE __attribute__((preserve_access_index))

#define AF_INET 2 /* from the socket headers, which BPF programs cannot include */
#define AF_INET6 10

struct user_namespace;
struct mnt_idmap;
struct cred;
struct kernel_siginfo;
struct msghdr;
union bpf_attr;

struct super_block {
	__u32 s_dev;
	unsigned long s_magic;
	struct user_namespace *s_user_ns;
} CORE;

struct inode {
	unsigned long i_ino;
	struct super_block *i_sb;
	__u16 i_mode;
} CORE;

struct dentry {
	struct dentry *d_parent;
	struct inode *d_inode;
	struct super_block *d_sb;
} CORE;

struct iattr {
	unsigned int ia_valid;
} CORE;

struct vfsmount {
	struct dentry *mnt_root;
	struct super_block *mnt_sb;
} CORE;

struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
} CORE;

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
} CORE;

struct file {
	struct path f_path;
	struct inode *f_inode;
	unsigned int f_mode;
} CORE;

struct linux_binprm {
	struct file *file;
} CORE;

struct vm_area_struct {
	struct file *vm_file;
} CORE;

struct cred {
	struct user_namespace *user_ns;
} CORE;

struct kernfs_node {
	__u64 id;
} CORE;

struct cgroup {
	struct kernfs_node *kn;
} CORE;

struct css_set {
	struct cgroup *dfl_cgrp;
} CORE;

struct task_struct {
	const struct cred *cred;
	struct css_set *cgroups;
} CORE;

struct sock_common {
	unsigned short skc_family;
	__u16 skc_num; /* the bound local port, host order; 0 until bound */
} CORE;

struct sock_cgroup_data {
	struct cgroup *cgroup;
} CORE;

struct sock {
	struct sock_common __sk_common;
	struct sock_cgroup_data sk_cgrp_data; /* the cgroup of the task that created it */
} CORE;

struct unix_sock {
	struct path path; /* set for a socket bound to a path */
} CORE;

struct socket {
	short type;
	struct sock *sk;
} CORE;

struct sockaddr {
	unsigned short sa_family;
	char sa_data[14];
};

/* The kernel's side of a cgroup sock_addr program's context (bpf_cast_to_kern_ctx). */
struct bpf_sock_addr_kern {
	struct sock *sk;
	struct sockaddr *uaddr;
	__u64 tmp_reg;
	void *t_ctx;
	__u32 uaddrlen;
} CORE;

#endif
