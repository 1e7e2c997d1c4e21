/* svcplanectl.c - the operator's tool: a {name, fn, help} table of subcommands. */
#include "svcplanectl.h"
#include "../common/version.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct cmd cmds[] = {
	{ "model", cmd_model, "print the model a set of manifests gives (what the agent would program)" },
	{ "dump", cmd_dump, "show what is programmed in this network namespace now" },
	{ "diff", cmd_diff, "compare the manifests' desired state with what is programmed (exit 1 on drift)" },
	{ "inspect", cmd_inspect, "read a rule dump from any node (kube-proxy iptables-save, nft [-j] list ruleset): services, endpoints, findings" },
	{ "explain", cmd_explain, "one packet's path: matched rule, candidate endpoints, masquerade, drop/reject" },
	{ "rig", cmd_rig, "build and remove network-namespace test topologies" },
	{ "echod", cmd_echod, "echo server for rig pods: answers with its name and the peer address" },
};

int ctl_json_flag(int argc, char **argv, const char *usage, bool *json)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt != 'j') {
			fputs(usage, opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : 2;
		}
		*json = true;
	}
	return -1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: svcplanectl COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\n'svcplanectl COMMAND --help' for a command's flags.\n");
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("svcplanectl %s\n", SP_VERSION);
		return 0;
	}
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "svcplanectl: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
