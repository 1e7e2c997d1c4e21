/* svcplanectl.h - the subcommand table's entry points, one per tools/cmd_*.c. */
#ifndef SP_TOOLS_SVCPLANECTL_H
#define SP_TOOLS_SVCPLANECTL_H

#include <stdbool.h>

int cmd_model(int argc, char **argv);
int cmd_rig(int argc, char **argv);
int cmd_echod(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_explain(int argc, char **argv);

/* Flags of a command whose only option is --json (and --help). Returns -1 to
 * go on (optind at the first operand), or the exit code to return now. */
int ctl_json_flag(int argc, char **argv, const char *usage, bool *json);

struct sp_model;
/* What the backend with state here has programmed, into @m (cmd_dump.c).
 * Returns 0, or the exit code after one line on stderr (3: no state here). */
int ctl_read_back(struct sp_model *m);

#endif
