/* rig_cgroup.c - a rig's bpffs, cgroup2 view, cgroups and pin dirs (layout in
 * rig_cgroup.h). Everything lives under the rig's state dir or is a cgroup
 * named RIG_CG_PREFIX NAME, so rig down finds it from the name alone. */
#define _GNU_SOURCE
#include "rig_cgroup.h"
#include "rig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define MOUNTS_MAX 32

void rig_state_path(const char *rig, const char *file, char *buf, size_t sz)
{
	snprintf(buf, sz, RIG_STATE_DIR "/%s%s%s", rig, file ? "/" : "", file ? file : "");
}

/* STATE/cgroup/svcplane-rig-NAME[/SUB] */
static void cg_path(const char *rig, const char *sub, char *buf, size_t sz)
{
	snprintf(buf, sz, RIG_STATE_DIR "/%s/cgroup/" RIG_CG_PREFIX "%s%s%s", rig, rig,
		 sub ? "/" : "", sub ? sub : "");
}

/* STATE/bpffs/NODE */
static void pin_path(const char *rig, const char *node, char *buf, size_t sz)
{
	snprintf(buf, sz, RIG_STATE_DIR "/%s/bpffs/%s", rig, node);
}

static void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* Mount points at or under @dir, in /proc/mounts order (later ones on top).
 * Returns how many, or -errno. */
static int mounts_under(const char *dir, char list[][256], int max)
{
	FILE *f = fopen("/proc/mounts", "re");
	char line[1024], mp[512];
	size_t dl = strlen(dir);
	int n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && n < max) {
		if (sscanf(line, "%*s %511s", mp) != 1)
			continue;
		if (strncmp(mp, dir, dl) || (mp[dl] && mp[dl] != '/'))
			continue;
		snprintf(list[n++], 256, "%s", mp);
	}
	fclose(f);
	return n;
}

bool rig_cg_present(const char *rig)
{
	char dir[256], list[1][256];

	rig_state_path(rig, NULL, dir, sizeof(dir));
	return mounts_under(dir, list, 1) > 0;
}

static bool is_cgroup2(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

static int mkdir_ok(const char *path)
{
	if (mkdir(path, 0755) == -1 && errno != EEXIST) {
		int err = -errno;

		fprintf(stderr, "rig: mkdir %s: %s\n", path, strerror(errno));
		return err;
	}
	return 0;
}

static int mount_at(const char *src, const char *path, const char *type)
{
	int err;

	if ((err = mkdir_ok(path)))
		return err;
	if (mount(src, path, type, 0, NULL) == -1) {
		err = -errno;
		fprintf(stderr, "rig: mount %s at %s: %s\n", type, path, strerror(errno));
		return err;
	}
	return 0;
}

int rig_cg_setup(const struct rig *r)
{
	char p[256];
	FILE *f;
	int err;

	rig_state_path(r->name, "bpffs", p, sizeof(p));
	if ((err = mount_at("bpffs", p, "bpf")))
		return err;
	rig_state_path(r->name, "cgroup", p, sizeof(p));
	if ((err = mount_at("none", p, "cgroup2")))
		return err;
	cg_path(r->name, NULL, p, sizeof(p));
	if ((err = mkdir_ok(p)))
		return err;
	cg_path(r->name, RIG_CG_CLIENTS, p, sizeof(p));
	if ((err = mkdir_ok(p)))
		return err;
	for (int i = 0; i < r->nnodes; i++) {
		cg_path(r->name, r->nodes[i], p, sizeof(p));
		if ((err = mkdir_ok(p)))
			return err;
		pin_path(r->name, r->nodes[i], p, sizeof(p));
		if ((err = mkdir_ok(p)))
			return err;
	}

	rig_state_path(r->name, "members", p, sizeof(p));
	f = fopen(p, "we");
	if (!f) {
		err = -errno;
		fprintf(stderr, "rig: %s: %s\n", p, strerror(errno));
		return err;
	}
	fprintf(f, "# member cgroup pin-dir (under cgroup/" RIG_CG_PREFIX "%s and bpffs)\n",
		r->name);
	fprintf(f, "fabric " RIG_CG_CLIENTS " -\n");
	for (int i = 0; i < r->nnodes; i++)
		fprintf(f, "%s %s %s\n", r->nodes[i], r->nodes[i], r->nodes[i]);
	for (int i = 0; i < r->npods; i++) {
		const char *node = r->nodes[r->pods[i].node - 1];

		fprintf(f, "%s %s %s\n", r->pods[i].name, node, node);
	}
	for (int i = 0; i < r->nclients; i++)
		fprintf(f, "%s " RIG_CG_CLIENTS " -\n", r->clients[i]);
	if (fclose(f) == EOF) {
		err = -errno;
		fprintf(stderr, "rig: %s: %s\n", p, strerror(-err));
		return err;
	}
	return 0;
}

int rig_cg_member(const char *rig, const char *member, char *cg, size_t cgsz, char *pin,
		  size_t pinsz)
{
	char p[256], line[256], m[RIG_NAME_MAX + 1], grp[RIG_NAME_MAX + 1], pn[RIG_NAME_MAX + 1];
	FILE *f;
	int err = -ENOENT;

	rig_state_path(rig, "members", p, sizeof(p));
	f = fopen(p, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || sscanf(line, "%24s %24s %24s", m, grp, pn) != 3 ||
		    strcmp(m, member))
			continue;
		cg_path(rig, grp, cg, cgsz);
		if (strcmp(pn, "-"))
			pin_path(rig, pn, pin, pinsz);
		else if (pinsz)
			pin[0] = '\0';
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

int rig_cg_join(const char *cg)
{
	char p[300];
	int fd, err = 0;

	snprintf(p, sizeof(p), "%s/cgroup.procs", cg);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	if (write(fd, "0", 1) != 1)
		err = -errno;
	close(fd);
	return err;
}

int rig_cg_view(const char *rig)
{
	char p[256], dir[256];
	int err;

	rig_state_path(rig, "cgroup", p, sizeof(p));
	if (is_cgroup2(p))
		return 0;
	mkdir("/run/svcplane", 0755);
	mkdir(RIG_STATE_DIR, 0755);
	rig_state_path(rig, NULL, dir, sizeof(dir));
	if ((err = mkdir_ok(dir)))
		return err;
	return mount_at("none", p, "cgroup2");
}

/* Signal the processes of cgroup @dir and its children; returns how many. */
static int kill_tree(const char *dir, int sig)
{
	char p[512];
	DIR *d;
	struct dirent *de;
	FILE *f;
	int n = 0;

	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	f = fopen(p, "re");
	if (f) {
		long pid;

		while (fscanf(f, "%ld", &pid) == 1) {
			if (pid <= 1 || pid == getpid())
				continue;
			if (kill((pid_t)pid, sig) == 0 || errno != ESRCH)
				n++;
		}
		fclose(f);
	}
	d = opendir(dir);
	if (!d)
		return n;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		n += kill_tree(p, sig);
	}
	closedir(d);
	return n;
}

int rig_cg_kill(const char *rig, int sig)
{
	char p[256];

	cg_path(rig, NULL, p, sizeof(p));
	return kill_tree(p, sig);
}

/* rmdir cgroup @dir after its children. A cgroup whose last process has just
 * exited may still be busy for a moment: retry for up to 2 s. */
static int rmdir_tree(const char *dir)
{
	char p[512];
	DIR *d;
	struct dirent *de;
	int err = 0;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		int e;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if ((e = rmdir_tree(p)) && !err)
			err = e;
	}
	closedir(d);
	for (int tries = 0; rmdir(dir) == -1; tries++) {
		if (errno == ENOENT)
			return err;
		if (errno != EBUSY || tries == 40) {
			fprintf(stderr, "rig: rmdir %s: %s\n", dir, strerror(errno));
			return err ? err : -errno;
		}
		msleep(50);
	}
	return err;
}

/* Remove @dir and what it holds, staying on @dir's filesystem (anything still
 * mounted below is left alone). */
static int remove_tree(const char *dir, dev_t dev)
{
	char p[512];
	DIR *d;
	struct dirent *de;
	struct stat st;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (lstat(p, &st) == -1 || st.st_dev != dev)
			continue;
		if (S_ISDIR(st.st_mode))
			remove_tree(p, dev);
		else
			unlink(p);
	}
	closedir(d);
	return rmdir(dir) == -1 && errno != ENOENT ? -errno : 0;
}

int rig_cg_teardown(const char *rig)
{
	char dir[256], p[256], list[MOUNTS_MAX][256];
	struct stat st;
	int n, err = 0, e;

	/* The cgroups first: they are reached through the view. */
	rig_state_path(rig, "cgroup", p, sizeof(p));
	if (is_cgroup2(p)) {
		cg_path(rig, NULL, p, sizeof(p));
		err = rmdir_tree(p);
	}
	/* Then every mount under the state dir, topmost first; one that stays
	 * busy (a process with its cwd there) is detached. */
	rig_state_path(rig, NULL, dir, sizeof(dir));
	for (int pass = 0; pass < 4; pass++) {
		n = mounts_under(dir, list, MOUNTS_MAX);
		if (n <= 0)
			break;
		for (int i = n - 1; i >= 0; i--) {
			if (umount2(list[i], 0) == 0 || errno == EINVAL || errno == ENOENT)
				continue;
			if (umount2(list[i], MNT_DETACH) == -1) {
				e = -errno;
				fprintf(stderr, "rig: umount %s: %s\n", list[i], strerror(errno));
				if (!err)
					err = e;
			}
		}
	}
	if (stat(dir, &st) == 0 && (e = remove_tree(dir, st.st_dev)) && !err) {
		fprintf(stderr, "rig: rm %s: %s\n", dir, strerror(-e));
		err = e;
	}
	/* The last rig leaves no empty state directories behind (another rig's,
	 * or the userspace backend's state, keeps them: rmdir fails then). */
	if (!err && rmdir(RIG_STATE_DIR) == 0)
		rmdir("/run/svcplane");
	return err;
}
