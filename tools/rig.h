/* rig.h - network-namespace test topologies (svcplanectl rig): nodes with a
 * pod bridge, pods, a fabric router, clients; echo servers in pods. */
#ifndef SP_TOOLS_RIG_H
#define SP_TOOLS_RIG_H

#include <stdbool.h>
#include <stddef.h>

#define RIG_MAX_NODES 16
#define RIG_MAX_PODS 128
#define RIG_MAX_CLIENTS 16
#define RIG_NAME_MAX 24

struct rig_pod {
	char name[RIG_NAME_MAX];
	int node;		/* 1-based node number */
	int index;		/* 0-based among the node's pods: address .10 + index */
	unsigned ports[8];	/* echod ports (TCP and UDP); none: no echod */
	int nports;
};

struct rig {
	char name[RIG_NAME_MAX];
	char nodes[RIG_MAX_NODES][RIG_NAME_MAX];	/* node N is nodes[N-1] */
	int nnodes;
	struct rig_pod pods[RIG_MAX_PODS];
	int npods;
	char clients[RIG_MAX_CLIENTS][RIG_NAME_MAX];
	int nclients;
};

/* Parse a rig description (YAML). Returns 0, or -EINVAL with one line in @err
 * naming the file and field. */
int rig_parse_file(const char *path, struct rig *r, char *err, size_t errsz);

/* A rig or member name: 1 to RIG_NAME_MAX-1 of [a-z0-9-], not starting with '-'. */
bool rig_name_ok(const char *s);

/* Namespace name of a member ("fabric", a node, pod or client name). */
void rig_ns_name(const char *rig, const char *member, char *buf, size_t sz);

int rig_up(const struct rig *r);
/* Remove every namespace sp-<name>-*, the processes in them, and the rig's
 * state; works after a crash, from the namespace names alone. */
int rig_down(const char *name);

int cmd_rig(int argc, char **argv);

#endif
