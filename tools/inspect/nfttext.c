/* nfttext.c - `nft list ruleset` text dumps. kube-proxy's tables are rewritten
 * as nft -j objects (nfttext_kp.c) for the JSON reader. svcplane's own are
 * read by nft itself: the dump is loaded into a private, unnamed network
 * namespace that lives only as long as this call (never the node's own
 * ruleset), then read over netlink as on a live node (svcplane_tables.c) and
 * handed back as an inspection in JSON; that needs the nft binary, and
 * CAP_SYS_ADMIN or unprivileged user namespaces (without them the error says
 * why). */
#define _GNU_SOURCE
#include "inspect.h"
#include "nfttext_kp.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define NFT_BIN "nft"

/* Without CAP_SYS_ADMIN: a user namespace where this user is root, then the
 * network namespace inside it (what `unshare -U -r` does). */
static int private_netns_unprivileged(void)
{
	char map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();
	int fd;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNET))
		return -1;
	if ((fd = open("/proc/self/setgroups", O_WRONLY)) >= 0) {
		(void)!write(fd, "deny", 4);
		close(fd);
	}
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	if ((fd = open("/proc/self/uid_map", O_WRONLY)) < 0 || write(fd, map, strlen(map)) < 0)
		return -1;
	close(fd);
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
	if ((fd = open("/proc/self/gid_map", O_WRONLY)) < 0 || write(fd, map, strlen(map)) < 0)
		return -1;
	close(fd);
	return 0;
}

#define INSPECTION_KEY "svcplane-inspection"

static int write_all(int fd, const char *buf, size_t len);

/* In the child, with svcplane's tables loaded: the inspection to @out_fd. */
static int write_inspection(int out_fd, int err_fd)
{
	struct sp_inspect in;
	cJSON *o = cJSON_CreateObject();
	char *txt = NULL;
	int e = sp_inspect_init(&in);

	if (!e)
		e = sp_inspect_svcplane_live(&in);
	if (e)
		dprintf(err_fd, "reading the loaded svcplane tables: %s\n", strerror(-e));
	if (!e && o && cJSON_AddItemToObject(o, INSPECTION_KEY, sp_inspect_to_json(&in, true)))
		txt = cJSON_PrintUnformatted(o);
	if (!e && (!txt || write_all(out_fd, txt, strlen(txt))))
		e = -ENOMEM;
	free(txt);
	cJSON_Delete(o);
	sp_inspect_fini(&in);
	return e ? 6 : 0;
}

/* In the child: a private netns, `nft -f -` from @in_fd, then the inspection
 * of svcplane's tables to @out_fd. nft's complaints go to @err_fd. */
static void __attribute__((noreturn)) load_and_list(int in_fd, int out_fd, int err_fd)
{
	pid_t pid;
	int st;

	dup2(err_fd, STDERR_FILENO);
	if (unshare(CLONE_NEWNET) && (errno != EPERM || private_netns_unprivileged())) {
		dprintf(err_fd, "cannot make a private network namespace to load the dump in (%s)\n",
			strerror(errno));
		_exit(3);
	}
	pid = fork();
	if (pid == 0) {
		dup2(in_fd, STDIN_FILENO);
		close(out_fd);
		execlp(NFT_BIN, NFT_BIN, "-f", "-", (char *)NULL);
		dprintf(err_fd, "cannot run %s (%s)\n", NFT_BIN, strerror(errno));
		_exit(4);
	}
	close(in_fd);
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		_exit(5);
	_exit(write_inspection(out_fd, err_fd));
}

/* First line of what nft said, for the one-line error. */
static void first_line(int fd, char *out, size_t sz)
{
	char buf[512];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *nl;

	buf[n > 0 ? n : 0] = '\0';
	if ((nl = strchr(buf, '\n')))
		*nl = '\0';
	snprintf(out, sz, "%s", buf[0] ? buf : "nft failed without a message");
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Does the dump hold a table of svcplane's ("table ip svcplane {" at a line start)? */
static bool has_svcplane_table(const char *buf, size_t len)
{
	static const char *const heads[] = { "table ip svcplane {", "table ip6 svcplane {" };

	for (size_t i = 0; i < len; i++) {
		if (i && buf[i - 1] != '\n')
			continue;
		for (int h = 0; h < 2; h++)
			if (len - i >= strlen(heads[h]) && !memcmp(buf + i, heads[h], strlen(heads[h])))
				return true;
	}
	return false;
}

/* The child's inspection of svcplane tables, into @in. */
static int read_inspection(const char *json, size_t len, struct sp_inspect *in, char *err, size_t errsz)
{
	cJSON *o = cJSON_ParseWithLength(json, len);
	int e = -EINVAL;

	if (!o)
		snprintf(err, errsz, "the loaded svcplane tables could not be read back");
	else
		e = sp_inspect_from_json(cJSON_GetObjectItemCaseSensitive(o, INSPECTION_KEY), in, err, errsz);
	cJSON_Delete(o);
	in->format = "nft list ruleset (svcplane tables)";
	return e;
}

/* kube-proxy's tables: our own reading of nft's text, then the JSON reader. */
static int kube_proxy_text(const char *buf, size_t len, struct sp_inspect *in, char *err, size_t errsz)
{
	char *json;
	size_t jlen;
	int e = sp_nft_text_to_json(buf, len, &json, &jlen, err, errsz);

	if (e)
		return e;
	e = sp_inspect_nft_json(json, jlen, in, err, errsz);
	free(json);
	in->format = "nft list ruleset (kube-proxy nftables mode)";
	return e;
}

int sp_inspect_nft_text(const char *buf, size_t len, struct sp_inspect *in, char *err, size_t errsz)
{
	bool svcplane = has_svcplane_table(buf, len);
	int to_nft[2] = { -1, -1 }, from_nft[2] = { -1, -1 }, err_fd = memfd_create("nft-stderr", MFD_CLOEXEC);
	char *json = NULL, nft_err[400];
	size_t jlen = 0, cap = 0;
	pid_t pid = -1;
	int st, e = -EINVAL;
	void (*old_pipe)(int);

	if (!svcplane) {
		if (err_fd >= 0)
			close(err_fd);
		return kube_proxy_text(buf, len, in, err, errsz);
	}
	if (err_fd < 0 || pipe2(to_nft, O_CLOEXEC) || pipe2(from_nft, O_CLOEXEC)) {
		snprintf(err, errsz, "cannot set up pipes for nft (%s)", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid == 0) {
		/* The exec'd nft processes need these without CLOEXEC. */
		int ifd = dup(to_nft[0]), ofd = dup(from_nft[1]), efd = dup(err_fd);

		close(to_nft[1]);	/* or nft -f never sees the end of its input */
		close(from_nft[0]);

		load_and_list(ifd, ofd, efd);
	}
	if (pid < 0) {
		snprintf(err, errsz, "cannot start nft (%s)", strerror(errno));
		goto out;
	}
	close(to_nft[0]);
	close(from_nft[1]);
	to_nft[0] = from_nft[1] = -1;
	old_pipe = signal(SIGPIPE, SIG_IGN);
	write_all(to_nft[1], buf, len);	/* a short write shows as nft's error */
	signal(SIGPIPE, old_pipe);
	close(to_nft[1]);
	to_nft[1] = -1;
	for (;;) {
		ssize_t n;

		if (cap - jlen < 65536) {
			char *bigger = realloc(json, cap ? cap * 2 : 1 << 20);

			if (!bigger) {
				e = -ENOMEM;
				goto out;
			}
			json = bigger;
			cap = cap ? cap * 2 : 1 << 20;
		}
		n = read(from_nft[0], json + jlen, cap - jlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		jlen += (size_t)n;
	}
	waitpid(pid, &st, 0);
	pid = -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		first_line(err_fd, nft_err, sizeof(nft_err));
		snprintf(err, errsz, "nft could not read the text dump: %s", nft_err);
		goto out;
	}
	e = read_inspection(json, jlen, in, err, errsz);
out:
	for (int i = 0; i < 2; i++) {
		if (to_nft[i] >= 0)
			close(to_nft[i]);
		if (from_nft[i] >= 0)
			close(from_nft[i]);
	}
	if (pid > 0)	/* after the pipes close, so a writing child is not stuck */
		waitpid(pid, &st, 0);
	if (err_fd >= 0)
		close(err_fd);
	free(json);
	return e;
}
