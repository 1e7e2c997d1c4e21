/* rig_cgroup.h - a rig's cgroups and bpffs (svcplanectl rig). `ip netns exec`
 * mounts a fresh sysfs, so inside it there is no cgroup2 and no bpffs: the rig
 * mounts its own under its state directory, in the machine's mount namespace
 * (pins there outlive a killed agent), and runs each node's processes and its
 * pods' in one cgroup per node, clients and the fabric in another:
 *
 *   /run/svcplane/rig/NAME/bpffs                      a bpffs instance
 *   /run/svcplane/rig/NAME/bpffs/NODE                 NODE's pin dir (--bpf-pin-path)
 *   /run/svcplane/rig/NAME/cgroup                     a view of the cgroup2 hierarchy
 *   /run/svcplane/rig/NAME/cgroup/svcplane-rig-NAME   the rig's cgroup
 *     .../svcplane-rig-NAME/NODE                      NODE and its pods (--cgroup-path)
 *     .../svcplane-rig-NAME/clients                   clients and the fabric
 *
 * The rig touches no cgroup it did not create and no other bpffs. */
#ifndef SP_TOOLS_RIG_CGROUP_H
#define SP_TOOLS_RIG_CGROUP_H

#include <stdbool.h>
#include <stddef.h>

struct rig;

#define RIG_STATE_DIR "/run/svcplane/rig"
#define RIG_CG_PREFIX "svcplane-rig-"	/* the rig's cgroup: RIG_CG_PREFIX NAME */
#define RIG_CG_CLIENTS "clients"	/* cgroup of clients and the fabric */

/* STATE/FILE (or STATE alone for a NULL @file) of rig @rig. */
void rig_state_path(const char *rig, const char *file, char *buf, size_t sz);

/* Is anything mounted under the rig's state dir (a rig up, or one left by a
 * crash)? */
bool rig_cg_present(const char *rig);

/* Mount the bpffs and the cgroup2 view, create the rig's cgroups and pin dirs,
 * write the member → cgroup table (STATE/members). Returns 0 or -errno, after
 * one line on stderr; what it made is left for rig_cg_teardown(). */
int rig_cg_setup(const struct rig *r);

/* The cgroup dir and pin dir of @member (a pod: its node's). @pin is "" for
 * clients and the fabric. Returns 0, -ENOENT (no such member, or the rig is
 * not up) or -errno. */
int rig_cg_member(const char *rig, const char *member, char *cg, size_t cgsz, char *pin,
		  size_t pinsz);

/* Move the calling process into cgroup directory @cg. Returns 0 or -errno. */
int rig_cg_join(const char *cg);

/* Make sure the rig's cgroup view is mounted (rig down after a crash may find
 * it gone), so rig_cg_kill() and rig_cg_teardown() can see its cgroups.
 * Returns 0 or -errno. */
int rig_cg_view(const char *rig);

/* Send @sig to every process in the rig's cgroups but the caller; returns how
 * many there were. */
int rig_cg_kill(const char *rig, int sig);

/* Remove the rig's cgroups (children first), unmount everything mounted under
 * its state dir and remove that dir. Works from the name alone; idempotent.
 * Returns 0 or the first -errno (after one line on stderr). */
int rig_cg_teardown(const char *rig);

#endif
