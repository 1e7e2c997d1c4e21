/* cmd_rig.c - svcplanectl rig up|down|status|exec. */
#define _GNU_SOURCE
#include "rig.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: svcplanectl rig up FILE          build the topology FILE describes\n"
	"       svcplanectl rig down NAME|FILE   remove it (namespaces, links, processes, state)\n"
	"       svcplanectl rig status NAME      list its namespaces and addresses\n"
	"       svcplanectl rig exec NAME MEMBER [--] CMD [ARG...]   run CMD in a member's namespace\n";

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

static int exec_in(const char *name, const char *member, char **argv)
{
	char ns[64], p[128];
	int fd;

	rig_ns_name(name, member, ns, sizeof(ns));
	snprintf(p, sizeof(p), "/run/netns/%s", ns);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		fprintf(stderr, "rig %s: no member %s (%s)\n", name, member, strerror(errno));
		return 2;
	}
	if (setns(fd, CLONE_NEWNET) == -1) {
		perror("setns");
		return 1;
	}
	execvp(argv[0], argv);
	fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
	return 127;
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
	fputs(usage, stderr);
	return 2;
}
