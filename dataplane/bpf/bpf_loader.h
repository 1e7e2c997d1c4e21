/* bpf_loader.h - the eBPF dataplane's programs and maps in the kernel: open
 * the skeleton, size and pin (or adopt) the maps under --bpf-pin-path, load,
 * attach the socket hooks to the --cgroup-path cgroup as pinned links (a
 * restarted agent replaces the programs in the links it finds, so traffic
 * never meets a missing hook), and remove all of it again. Read-only opens
 * take the pinned maps alone. */
#ifndef SP_DATAPLANE_BPF_LOADER_H
#define SP_DATAPLANE_BPF_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sp_log;

/* The maps, by role. */
enum sp_bpf_map {
	SPM_SERVICES,
	SPM_SLOTS,
	SPM_ENDPOINTS,
	SPM_AFFINITY,
	SPM_AFF_MATCH,
	SPM_REVERSE,
	SPM_SOCK_REV,
	SPM_ADDRS,
	SPM_PORT_INFO,
	SPM_CT,
	SPM_CONFIG,
	SPM_STATS,
	SPM_SRC_RANGES,
	SPM_MAGLEV,
	SPM_POD_IFS,
	SPM_META,
	SPM_CONN_REV,
	SPM_COUNT
};

struct sp_bpf_sizes {
	uint32_t lb_max;    /* services, endpoints, port info, affinity */
	uint32_t slots_max; /* endpoint slots (two revisions of each list fit) */
	uint32_t sock_max;  /* per-socket reverse entries */
	uint32_t conn_max;  /* TCP sockets connected to a service (conn_rev) */
	uint32_t ct_max;    /* connection tracking of the tc programs' flows */
	uint32_t maglev_size; /* entries of each Maglev table (a prime) */
};

struct sp_bpf_kernel {
	int map_fd[SPM_COUNT];
	uint32_t map_max[SPM_COUNT];
	void *skel;    /* struct sock_lb (agent opens only) */
	void *tc_skel; /* struct tc_nat (agent opens only) */
	int cgroup_fd;
	char cgroup_path[4096]; /* where the hooks are attached */
	char pin_dir[4096];
};

/* Name of map @m as pinned ("sp_services"). */
const char *sp_bpf_map_name(enum sp_bpf_map m);

/* Agent: load the programs (socket hooks, then the tc programs on the same
 * maps) and pin (or adopt) the maps; nothing is attached yet. Returns 0, or -errno with a one-line reason in @err naming what is
 * missing (no BPF syscall, no cgroup v2 at the path, a program the kernel
 * refuses, bpffs not mountable). */
int sp_bpf_kernel_load(struct sp_bpf_kernel *k, const char *pin_dir, const char *cgroup_path,
		       const struct sp_bpf_sizes *sizes, const struct sp_log *log, char *err,
		       size_t errsz);

/* Agent, once the maps hold the model: attach the hooks (or move the pinned
 * links to these programs, atomically), and detach links no program of
 * ours has any more. On failure, the hooks this call added are detached
 * again. Returns 0 or -errno with a one-line reason in @err. */
int sp_bpf_kernel_attach(struct sp_bpf_kernel *k, const struct sp_log *log, char *err,
			 size_t errsz);

/* After a write of service entries: meta's epoch moves on, so no socket
 * keeps an endpoint it has not checked against the entries now. 0 or -errno. */
int sp_bpf_kernel_bump_epoch(const struct sp_bpf_kernel *k);

/* The loaded tc program @name ("sp_tc_outside_in", …): its fd, or -ENOENT. */
int sp_bpf_kernel_tc_prog(const struct sp_bpf_kernel *k, const char *name);

/* svcplanectl: open the pinned maps under @pin_dir. Returns 1 (open), 0 (no
 * svcplane maps there), or -errno (EPERM, or maps of another layout: -EPROTO). */
int sp_bpf_kernel_open_pinned(struct sp_bpf_kernel *k, const char *pin_dir);

/* Detach and unpin everything under @pin_dir (the agent's --cleanup), also
 * when nothing is loaded. Returns 0 or the first -errno. */
int sp_bpf_kernel_remove(const char *pin_dir, const struct sp_log *log);

/* Close fds and free the skeleton; what is pinned stays in the kernel. */
void sp_bpf_kernel_close(struct sp_bpf_kernel *k);

/* The cgroup v2 mount point from /proc/mounts into @buf. Returns 0 or -ENOENT. */
int sp_bpf_cgroup2_root(char *buf, size_t sz);

#endif
