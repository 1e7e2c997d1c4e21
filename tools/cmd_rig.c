/* cmd_rig.c - svcplanectl rig up|down|status|exec|path. */
#define _GNU_SOURCE
#include "rig.h"
#include "rig_cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: svcplanectl rig up FILE          build the topology FILE describes\n"
	"       svcplanectl rig down NAME|FILE   remove it (namespaces, links, processes, cgroups,\n"
	"                                        mounts, state)\n"
	"       svcplanectl rig status NAME      list its namespaces and addresses\n"
	"       svcplanectl rig exec NAME MEMBER [--] CMD [ARG...]   run CMD in a member's namespace\n"
	"                                        and cgroup (a pod's: its node's)\n"
	"       svcplanectl rig path NAME MEMBER cgroup|bpf-pin   the cgroup dir or bpffs pin dir\n"
	"                                        of MEMBER's node (--cgroup-path, --bpf-pin-path)\n";

/* NAME, or the name inside rig file FILE. */
static int rig_name(const char *arg, char *name, size_t sz)
{
	struct rig r;
	char err[256];

	if (!strchr(arg, '/') && !strchr(arg, '.')) {
		snprintf(name, sz, "%s", arg);
		return 0;
	}
	if (rig_parse_file(arg, &r, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -EINVAL;
	}
	snprintf(name, sz, "%s", r.name);
	return 0;
}

static int status(const char *name)
{
	char p[256], line[512];
	FILE *f;

	snprintf(p, sizeof(p), "/run/svcplane/rig/%s/hosts", name);
	f = fopen(p, "r");
	if (!f) {
		fprintf(stderr, "rig %s is not up\n", name);
		return 1;
	}
	while (fgets(line, sizeof(line), f))
		fputs(line, stdout);
	fclose(f);
	return 0;
}

/* Enter @member's cgroup, then its network namespace, and exec @argv: the
 * command runs under its node's socket hooks as the node's processes do. */
static int exec_in(const char *name, const char *member, char **argv)
{
	char ns[64], p[128], cg[256], pin[256];
	int fd, err;

	rig_ns_name(name, member, ns, sizeof(ns));
	snprintf(p, sizeof(p), "/run/netns/%s", ns);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		fprintf(stderr, "rig %s: no member %s (%s)\n", name, member, strerror(errno));
		return 2;
	}
	if ((err = rig_cg_member(name, member, cg, sizeof(cg), pin, sizeof(pin)))) {
		fprintf(stderr, "rig %s: member %s: no cgroup (%s)\n", name, member, strerror(-err));
		return 2;
	}
	if ((err = rig_cg_join(cg))) {
		fprintf(stderr, "rig %s: %s/cgroup.procs: %s\n", name, cg, strerror(-err));
		return 1;
	}
	if (setns(fd, CLONE_NEWNET) == -1) {
		perror("setns");
		return 1;
	}
	/* svcplanectl run here reads the node's pinned bpf maps. */
	if (pin[0])
		setenv("SVCPLANE_BPF_PIN_PATH", pin, 0);
	execvp(argv[0], argv);
	fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
	return 127;
}

/* rig path NAME MEMBER cgroup|bpf-pin: one line, the directory. */
static int path(const char *name, const char *member, const char *what)
{
	char cg[256], pin[256];
	int err;

	if (strcmp(what, "cgroup") && strcmp(what, "bpf-pin")) {
		fprintf(stderr, "rig path: want cgroup or bpf-pin, not '%s'\n", what);
		return 2;
	}
	err = rig_cg_member(name, member, cg, sizeof(cg), pin, sizeof(pin));
	if (err == -ENOENT) {
		fprintf(stderr, "rig %s: no member %s (or the rig is not up)\n", name, member);
		return 2;
	}
	if (err) {
		fprintf(stderr, "rig %s: member %s: %s\n", name, member, strerror(-err));
		return 1;
	}
	if (!strcmp(what, "bpf-pin") && !pin[0]) {
		fprintf(stderr, "rig %s: %s is not on a node: no pin dir\n", name, member);
		return 2;
	}
	puts(strcmp(what, "cgroup") ? pin : cg);
	return 0;
}

int cmd_rig(int argc, char **argv)
{
	char name[RIG_NAME_MAX + 8], err[256];
	struct rig r;

	if (argc < 3) {
		fputs(usage, argc == 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
		return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	if (!strcmp(argv[1], "up")) {
		if (rig_parse_file(argv[2], &r, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return 2;
		}
		if (rig_up(&r))
			return 1;
		return status(r.name);
	}
	if (rig_name(argv[2], name, sizeof(name)))
		return 2;
	if (!rig_name_ok(name)) {
		fprintf(stderr, "rig: bad rig name '%s'\n", name);
		return 2;
	}
	if (!strcmp(argv[1], "down"))
		return rig_down(name) ? 1 : 0;
	if (!strcmp(argv[1], "status"))
		return status(name);
	if (!strcmp(argv[1], "exec") && argc >= 5) {
		char **cmd = argv + 4;

		if (!strcmp(cmd[0], "--"))
			cmd++;
		if (!cmd[0]) {
			fputs(usage, stderr);
			return 2;
		}
		return exec_in(name, argv[3], cmd);
	}
	if (!strcmp(argv[1], "path") && argc == 5)
		return path(name, argv[3], argv[4]);
	fputs(usage, stderr);
	return 2;
}
