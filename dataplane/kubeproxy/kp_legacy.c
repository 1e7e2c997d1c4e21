/* kp_legacy.c - run iptables-legacy-save / -restore (and ip6tables-) to find
 * and remove kube-proxy's legacy chains; the script itself is kp_chains.c's. */
#define _GNU_SOURCE
#include "kp_legacy.h"
#include "kp_chains.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const save_tool[2] = { "iptables-legacy-save", "ip6tables-legacy-save" };
static const char *const restore_tool[2] = { "iptables-legacy-restore", "ip6tables-legacy-restore" };
static const char *const names_file[2] = { "/proc/net/ip_tables_names", "/proc/net/ip6_tables_names" };

#define OUT_MAX (256u << 20)	/* a save of 100k services is ~50 MiB */

/* Are legacy tables in use in this network namespace for family @f? */
static bool in_use(int f)
{
	FILE *p = fopen(names_file[f], "re");
	int c = p ? fgetc(p) : EOF;

	if (p)
		fclose(p);
	return c != EOF;
}

/* Run @argv with @in (may be NULL) on its stdin; its stdout and stderr into
 * *@out (malloc'd, NUL-terminated). Returns its exit status (≥ 0), -ENOENT
 * when the tool is not installed, or -errno. */
static int run(const char *const argv[], const char *in, char **out)
{
	int inp[2], outp[2], st;
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	pid_t pid;
	ssize_t n;

	*out = NULL;
	if (!buf)
		return -ENOMEM;
	if (pipe2(inp, O_CLOEXEC) == -1) {
		free(buf);
		return -errno;
	}
	if (pipe2(outp, O_CLOEXEC) == -1) {
		n = -errno;
		close(inp[0]);
		close(inp[1]);
		free(buf);
		return (int)n;
	}
	pid = fork();
	if (pid == 0) {
		dup2(inp[0], 0);
		dup2(outp[1], 1);
		dup2(outp[1], 2);
		execvp(argv[0], (char *const *)argv);
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(inp[0]);
	close(outp[1]);
	if (pid == -1) {
		close(inp[1]);
		close(outp[0]);
		free(buf);
		return -EAGAIN;
	}
	/* A restore reads all its input before it writes more than a line.
	 * (The agent ignores SIGPIPE; a tool that died early fails the write.) */
	for (size_t off = 0, l = in ? strlen(in) : 0; off < l; off += (size_t)n)
		if ((n = write(inp[1], in + off, l - off)) <= 0)
			break;
	close(inp[1]);
	while ((n = read(outp[0], buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (len + 1 == cap && cap < OUT_MAX) {
			char *b = realloc(buf, cap * 2);

			if (!b)
				break;
			buf = b;
			cap *= 2;
		}
	}
	close(outp[0]);
	buf[len] = '\0';
	if (waitpid(pid, &st, 0) == -1) {
		free(buf);
		return -errno;
	}
	*out = buf;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
		free(buf);
		*out = NULL;
		return -ENOENT;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The removal script for family @f (NULL when nothing is kube-proxy's). */
static int script_for(int f, char **script, size_t *chains, size_t *jumps)
{
	const char *argv[] = { save_tool[f], NULL };
	char *save;
	int rc;

	*script = NULL;
	*chains = *jumps = 0;
	if (!in_use(f))
		return 0;
	rc = run(argv, NULL, &save);
	if (rc < 0)
		return rc;
	rc = rc ? -EIO : kp_legacy_script(save, strlen(save), script, chains, jumps);
	free(save);
	return rc;
}

int kp_legacy_find(struct kp_legacy_found *out)
{
	memset(out, 0, sizeof(*out));
	for (int f = 0; f < 2; f++) {
		char *script;
		int e = script_for(f, &script, &out->chains[f], &out->jumps[f]);

		free(script);
		if (e)
			return e;
	}
	return 0;
}

int kp_legacy_remove(struct kp_legacy_found *out, const struct sp_log *lg)
{
	int err = 0;

	memset(out, 0, sizeof(*out));
	for (int f = 0; f < 2; f++) {
		const char *argv[] = { restore_tool[f], "--noflush", "--wait", "5", NULL };
		const char *tool = save_tool[f];
		char *script = NULL, *res = NULL;
		size_t chains, jumps;
		int e = script_for(f, &script, &chains, &jumps);

		if (e == 0 && script) {
			tool = restore_tool[f];
			e = run(argv, script, &res);
			if (e > 0) {
				res[strcspn(res, "\n")] = '\0';
				sp_log_err(lg, "take-over: %s: exit %d: %s", tool, e, res);
				e = -EIO;
			} else if (e == 0) {
				out->chains[f] = chains;
				out->jumps[f] = jumps;
			}
		} else if (e == -EIO) {
			sp_log_err(lg, "take-over: %s failed", tool);
		}
		if (e && e != -EIO)
			sp_log_err(lg, "take-over: %s: %s", tool,
				   e == -ENOENT ? "not installed (kube-proxy's iptables-legacy rules need it)"
						: strerror(-e));
		free(script);
		free(res);
		err = err ? err : e;
	}
	return err;
}
