/* bpf_loader.c - skeleton open → size → pin/adopt maps → load → attach as
 * pinned cgroup links (replacing the programs of links found pinned), and the
 * way back out. Every failure is one line naming the missing piece. */
#include "bpf_loader.h"
#include "sock_lb.skel.h"
#include "tc_nat.skel.h"
#include "bpf_tc.h"
#include "../../bpf/maps.h"
#include "../../common/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static const char *const map_names[SPM_COUNT] = {
    [SPM_SERVICES] = "sp_services",
    [SPM_SLOTS] = "sp_slots",
    [SPM_ENDPOINTS] = "sp_endpoints",
    [SPM_AFFINITY] = "sp_affinity",
    [SPM_AFF_MATCH] = "sp_aff_match",
    [SPM_REVERSE] = "sp_reverse",
    [SPM_SOCK_REV] = "sp_sock_rev",
    [SPM_ADDRS] = "sp_addrs",
    [SPM_PORT_INFO] = "sp_port_info",
    [SPM_CT] = "sp_ct",
    [SPM_CONFIG] = "sp_config",
    [SPM_STATS] = "sp_stats",
    [SPM_SRC_RANGES] = "sp_src_ranges",
    [SPM_MAGLEV] = "sp_maglev",
    [SPM_POD_IFS] = "sp_pod_ifs",
    [SPM_META] = "sp_meta",
    [SPM_CONN_REV] = "sp_conn_rev",
};

const char *sp_bpf_map_name(enum sp_bpf_map m)
{
	return map_names[m];
}

static struct bpf_map *obj_map(struct bpf_object *o, enum sp_bpf_map m)
{
	return bpf_object__find_map_by_name(o, map_names[m]);
}

static struct bpf_map *skel_map(struct sock_lb *s, enum sp_bpf_map m)
{
	return obj_map(s->obj, m);
}

int sp_bpf_cgroup2_root(char *buf, size_t sz)
{
	FILE *f = fopen("/proc/mounts", "re");
	char dev[256], dir[4096], type[64];
	int e = -ENOENT;

	if (!f)
		return -errno;
	while (fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(buf, sz, "%s", dir);
			e = 0;
			break;
		}
	}
	fclose(f);
	return e;
}

static bool is_fs(const char *path, long magic)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == magic;
}

static bool dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	bool empty = true;

	if (!d)
		return false;
	while (empty && (de = readdir(d)))
		empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
	closedir(d);
	return empty;
}

/* @pin_dir on a bpffs: mount one at its parent when none is there (as a
 * DaemonSet's host path needs), then make the directories. */
static int ensure_pin_dir(const char *pin_dir, const struct sp_log *log, char *err, size_t errsz)
{
	char parent[4096], links[4200];
	char *slash;

	snprintf(parent, sizeof(parent), "%s", pin_dir);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent) {
		snprintf(err, errsz, "--bpf-pin-path %s: want a directory below a bpffs mount",
			 pin_dir);
		return -EINVAL;
	}
	*slash = '\0';
	if (mkdir(parent, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errsz, "--bpf-pin-path %s: %s: %s", pin_dir, parent, strerror(errno));
		return -errno;
	}
	if (!is_fs(parent, BPF_FS_MAGIC)) {
		/* Never over a directory that holds something (/run, …). */
		if (strcmp(parent, "/sys/fs/bpf") && !dir_empty(parent)) {
			snprintf(err, errsz,
				 "--bpf-pin-path %s: %s is not a bpffs and not empty: will "
				 "not mount a bpffs over it",
				 pin_dir, parent);
			return -ENOTDIR;
		}
		if (mount("bpffs", parent, "bpf", 0, "mode=0700") == -1) {
			int e = -errno;

			snprintf(err, errsz,
				 "--bpf-pin-path %s: no bpffs at %s and mounting one failed: %s",
				 pin_dir, parent, strerror(-e));
			return e;
		}
		sp_log_info(log, "bpf: mounted a bpffs at %s", parent);
	}
	snprintf(links, sizeof(links), "%s/links", pin_dir);
	if ((mkdir(pin_dir, 0700) == -1 && errno != EEXIST) ||
	    (mkdir(links, 0700) == -1 && errno != EEXIST)) {
		snprintf(err, errsz, "--bpf-pin-path %s: %s", pin_dir, strerror(errno));
		return -errno;
	}
	return 0;
}

static void pin_path(const char *dir, const char *name, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s/%s", dir, name);
}

/* The meta entry of the maps pinned in @dir into @out: 1, 0 when none are
 * pinned, or -errno. */
static int pinned_meta(const char *dir, struct sp_meta_val *out)
{
	char p[4200];
	uint32_t key = 0;
	int fd, e;

	memset(out, 0, sizeof(*out));
	pin_path(dir, map_names[SPM_META], p, sizeof(p));
	fd = bpf_obj_get(p);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	e = bpf_map_lookup_elem(fd, &key, out) ? -errno : 1;
	close(fd);
	return e;
}

/* The layout of the maps pinned in @dir: SP_BPF_LAYOUT's value, 0 when none
 * are pinned, or -errno. */
static int pinned_layout(const char *dir)
{
	struct sp_meta_val v;
	int e = pinned_meta(dir, &v);

	return e <= 0 ? e : (int)v.layout;
}

/* Does the pinned map @m have the sizes this agent wants? */
static bool pinned_fits(const char *dir, enum sp_bpf_map m, struct bpf_map *want)
{
	struct bpf_map_info info = {0};
	uint32_t len = sizeof(info);
	char p[4200];
	int fd;
	bool ok;

	pin_path(dir, map_names[m], p, sizeof(p));
	fd = bpf_obj_get(p);
	if (fd < 0)
		return errno == ENOENT;
	ok = !bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == bpf_map__type(want) &&
	     info.key_size == bpf_map__key_size(want) &&
	     info.value_size == bpf_map__value_size(want) &&
	     info.max_entries == bpf_map__max_entries(want) &&
	     info.map_flags == bpf_map__map_flags(want);
	close(fd);
	return ok;
}

/* Maps earlier layouts pinned under names no layout uses now. */
static const char *const retired_map_names[] = {"sp_node_addrs"};

static void unpin_maps(const char *dir)
{
	char p[4200];

	for (int m = 0; m < SPM_COUNT; m++) {
		pin_path(dir, map_names[m], p, sizeof(p));
		unlink(p);
	}
	for (size_t i = 0; i < sizeof(retired_map_names) / sizeof(retired_map_names[0]); i++) {
		pin_path(dir, retired_map_names[i], p, sizeof(p));
		unlink(p);
	}
}

/* Maps of another layout or size are replaced, never read as ours (the
 * Maglev tables' size is the inner maps', which only meta records). */
static void check_pinned(struct sock_lb *s, const char *dir, const struct sp_bpf_sizes *z,
			 const struct sp_log *log)
{
	struct sp_meta_val meta;
	int found = pinned_meta(dir, &meta);
	bool fits = found <= 0 || meta.maglev_size == z->maglev_size;

	for (int m = 0; m < SPM_COUNT; m++)
		fits &= pinned_fits(dir, m, skel_map(s, m));
	if (found <= 0 && fits)
		return; /* nothing pinned yet */
	if (found > 0 && meta.layout == SP_BPF_LAYOUT && fits)
		return;
	sp_log_warn(
	    log, "bpf: maps pinned under %s are of %s (layout %u, this agent's %d): replaced", dir,
	    found > 0 && meta.layout == SP_BPF_LAYOUT ? "other sizes" : "another layout",
	    found > 0 ? meta.layout : 0, SP_BPF_LAYOUT);
	unpin_maps(dir);
}

/* Every object declares every map: the same sizes in each. sp_maglev's
 * inner tables take their layout from @maglev_tmpl, a map of
 * --bpf-lb-maglev-table-size entries (libbpf 1.1 cannot resize the inner map
 * it declares); it must stay open until the object is loaded. */
static int set_sizes(struct bpf_object *o, const struct sp_bpf_sizes *z, int maglev_tmpl)
{
	static const enum sp_bpf_map lb[] = {SPM_SERVICES,  SPM_ENDPOINTS,  SPM_AFFINITY,
					     SPM_PORT_INFO, SPM_SRC_RANGES, SPM_MAGLEV};
	int e = 0;

	for (size_t i = 0; i < sizeof(lb) / sizeof(lb[0]) && !e; i++)
		e = bpf_map__set_max_entries(obj_map(o, lb[i]), z->lb_max);
	if (!e)
		e = bpf_map__set_max_entries(obj_map(o, SPM_SLOTS), z->slots_max);
	if (!e)
		e = bpf_map__set_max_entries(obj_map(o, SPM_AFF_MATCH), z->slots_max);
	if (!e)
		e = bpf_map__set_max_entries(obj_map(o, SPM_ADDRS), z->lb_max + 256);
	if (!e)
		e = bpf_map__set_max_entries(obj_map(o, SPM_REVERSE), z->sock_max);
	if (!e)
		e = bpf_map__set_max_entries(obj_map(o, SPM_CONN_REV), z->conn_max);
	if (!e)
		e = bpf_map__set_max_entries(obj_map(o, SPM_CT), z->ct_max);
	if (!e)
		e = bpf_map__set_inner_map_fd(obj_map(o, SPM_MAGLEV), maglev_tmpl);
	return e;
}

/* Pin paths of every map of @o under @dir: the first object loaded pins
 * them, the next reuse them. */
static int set_pins(struct bpf_object *o, const char *dir, char *err, size_t errsz)
{
	char p[4200];
	int e;

	for (int m = 0; m < SPM_COUNT; m++) {
		pin_path(dir, map_names[m], p, sizeof(p));
		if ((e = bpf_map__set_pin_path(obj_map(o, m), p))) {
			snprintf(err, errsz, "bpf: pin path %s: %s", p, strerror(-e));
			return e;
		}
	}
	return 0;
}

/* Is pinned link @l attached to the cgroup @cg_fd? */
static bool link_on_cgroup(struct bpf_link *l, int cg_fd)
{
	struct bpf_link_info info = {0};
	uint32_t len = sizeof(info);
	struct stat st;

	return !bpf_obj_get_info_by_fd(bpf_link__fd(l), &info, &len) && !fstat(cg_fd, &st) &&
	       info.type == BPF_LINK_TYPE_CGROUP && info.cgroup.cgroup_id == (uint64_t)st.st_ino;
}

/* One hook: replace the program of the link pinned for it (atomic: the hook
 * never runs without a program), or attach and pin a new link. */
static int attach_one(struct bpf_program *prog, int cg_fd, const char *dir,
		      const struct sp_log *log, char *err, size_t errsz)
{
	char p[4200];
	struct bpf_link *l;
	int e;

	snprintf(p, sizeof(p), "%s/links/%s", dir, bpf_program__name(prog));
	l = access(p, F_OK) ? NULL : bpf_link__open(p);
	if (l) {
		if (link_on_cgroup(l, cg_fd) && !bpf_link__update_program(l, prog)) {
			bpf_link__destroy(l); /* (closes our fd; the pin keeps it) */
			return 0;
		}
		/* Another cgroup, or a link the kernel will not update: a new one
		 * below replaces it. */
		sp_log_warn(log, "bpf: link %s not reusable: replaced", p);
		bpf_link__detach(l);
		bpf_link__destroy(l);
		unlink(p);
	}
	l = bpf_program__attach_cgroup(prog, cg_fd);
	if (!l) {
		e = -errno;
		snprintf(err, errsz, "cgroup hook %s: the kernel refused to attach it: %s",
			 bpf_program__section_name(prog), strerror(-e));
		return e;
	}
	if ((e = bpf_link__pin(l, p))) {
		snprintf(err, errsz, "bpf: pinning link %s: %s", p, strerror(-e));
		bpf_link__detach(l);
		bpf_link__destroy(l);
		return e;
	}
	bpf_link__destroy(l);
	return 0;
}

static int open_cgroup(const char *path, char *err, size_t errsz)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), e;

	if (fd < 0) {
		e = -errno;
		snprintf(err, errsz, "--cgroup-path %s: %s", path, strerror(-e));
		return e;
	}
	if (!is_fs(path, CGROUP2_SUPER_MAGIC)) {
		close(fd);
		snprintf(err, errsz, "--cgroup-path %s: not a cgroup v2 directory", path);
		return -ENOTDIR;
	}
	return fd;
}

/* The tc programs, on the maps the socket programs pinned. */
static int load_tc(struct sp_bpf_kernel *k, const struct sp_bpf_sizes *sizes, int maglev_tmpl,
		   char *err, size_t errsz)
{
	struct tc_nat *t = tc_nat__open();
	int e;

	if (!t) {
		e = -errno;
		snprintf(err, errsz, "bpf: opening the tc programs: %s", strerror(-e));
		return e;
	}
	k->tc_skel = t;
	if ((e = set_sizes(t->obj, sizes, maglev_tmpl))) {
		snprintf(err, errsz, "bpf: map sizes: %s", strerror(-e));
		return e;
	}
	if ((e = set_pins(t->obj, k->pin_dir, err, errsz)))
		return e;
	if ((e = tc_nat__load(t))) {
		snprintf(err, errsz,
			 "bpf: loading the tc programs: %s (the kernel's verifier log is "
			 "above; tc programs need CONFIG_NET_CLS_BPF and CONFIG_NET_SCH_INGRESS)",
			 strerror(-e));
		return e;
	}
	return 0;
}

int sp_bpf_kernel_tc_prog(const struct sp_bpf_kernel *k, const char *name)
{
	struct bpf_program *p;

	if (!k->tc_skel)
		return -ENOENT;
	p = bpf_object__find_program_by_name(((struct tc_nat *)k->tc_skel)->obj, name);
	return p ? bpf_program__fd(p) : -ENOENT;
}

/* @meta (layout and sizes as the caller has them) written with the epoch
 * after @now's: one further on, never 0. A meta that had none yet (fresh, or
 * lost beside adopted maps) starts at a random epoch, so no socket storage
 * that outlived an earlier meta can hold it. */
static int write_next_epoch(const struct sp_bpf_kernel *k, const struct sp_meta_val *now,
			    struct sp_meta_val *meta)
{
	uint32_t key = 0;

	meta->epoch = now->epoch + 1;
	if (!now->epoch && getrandom(&meta->epoch, sizeof(meta->epoch), 0) != sizeof(meta->epoch))
		meta->epoch = (uint32_t)time(NULL);
	if (!meta->epoch)
		meta->epoch = 1;
	return bpf_map_update_elem(k->map_fd[SPM_META], &key, meta, BPF_ANY) ? -errno : 0;
}

int sp_bpf_kernel_bump_epoch(const struct sp_bpf_kernel *k)
{
	struct sp_meta_val meta;
	uint32_t key = 0;

	if (bpf_map_lookup_elem(k->map_fd[SPM_META], &key, &meta))
		return -errno;
	return write_next_epoch(k, &meta, &meta);
}

int sp_bpf_kernel_load(struct sp_bpf_kernel *k, const char *pin_dir, const char *cgroup_path,
		       const struct sp_bpf_sizes *sizes, const struct sp_log *log, char *err,
		       size_t errsz)
{
	struct sp_meta_val meta = {.layout = SP_BPF_LAYOUT, .maglev_size = sizes->maglev_size};
	struct bpf_program *prog;
	struct sock_lb *s;
	char cg[4096];
	int e, tmpl = -1;

	memset(k, 0, sizeof(*k));
	k->cgroup_fd = -1;
	for (int m = 0; m < SPM_COUNT; m++)
		k->map_fd[m] = -1;
	snprintf(k->pin_dir, sizeof(k->pin_dir), "%s", pin_dir);
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, NULL) != 1) {
		e = errno ? -errno : -EOPNOTSUPP;
		snprintf(err, errsz,
			 "bpf: this kernel (or this process) cannot load cgroup socket "
			 "programs: %s (needs CONFIG_BPF_SYSCALL, CONFIG_CGROUP_BPF, CAP_BPF "
			 "and CAP_NET_ADMIN)",
			 strerror(-e));
		return e;
	}
	if (!cgroup_path || !*cgroup_path) {
		if (sp_bpf_cgroup2_root(cg, sizeof(cg))) {
			snprintf(err, errsz, "--cgroup-path: no cgroup v2 mount in /proc/mounts");
			return -ENOENT;
		}
		cgroup_path = cg;
	}
	if ((e = open_cgroup(cgroup_path, err, errsz)) < 0)
		return e;
	snprintf(k->cgroup_path, sizeof(k->cgroup_path), "%s", cgroup_path);
	k->cgroup_fd = e;
	if ((e = ensure_pin_dir(pin_dir, log, err, errsz)))
		goto err_close;
	s = sock_lb__open();
	if (!s) {
		e = -errno;
		snprintf(err, errsz, "bpf: opening the programs: %s", strerror(-e));
		goto err_close;
	}
	k->skel = s;
	tmpl = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sp_maglev_tmpl", 4, 4, sizes->maglev_size, NULL);
	if (tmpl < 0 || (e = set_sizes(s->obj, sizes, tmpl))) {
		e = tmpl < 0 ? -errno : e;
		snprintf(err, errsz, "bpf: map sizes: %s", strerror(-e));
		goto err_close;
	}
	check_pinned(s, pin_dir, sizes, log);
	if ((e = set_pins(s->obj, pin_dir, err, errsz)))
		goto err_close;
	if ((e = sock_lb__load(s))) {
		snprintf(err, errsz,
			 "bpf: loading the socket programs: %s (the kernel's verifier "
			 "log is above)",
			 strerror(-e));
		goto err_close;
	}
	if ((e = load_tc(k, sizes, tmpl, err, errsz)))
		goto err_close;
	close(tmpl);
	tmpl = -1;
	for (int m = 0; m < SPM_COUNT; m++) {
		k->map_fd[m] = bpf_map__fd(skel_map(s, m));
		k->map_max[m] = bpf_map__max_entries(skel_map(s, m));
	}
	/* An adopted meta's epoch goes on: what sockets remember is checked again. */
	{
		struct sp_meta_val now = {0};
		uint32_t key = 0;

		if (bpf_map_lookup_elem(k->map_fd[SPM_META], &key, &now))
			now.epoch = 0;
		e = write_next_epoch(k, &now, &meta);
	}
	if (e) {
		snprintf(err, errsz, "bpf: writing %s: %s", map_names[SPM_META], strerror(-e));
		goto err_close;
	}
	(void)prog;
	return 0;

err_close:
	if (tmpl >= 0)
		close(tmpl);
	sp_bpf_kernel_close(k);
	return e;
}

/* Link pins under @dir/links that name no program of @s: an older agent's
 * hooks, detached. */
static void remove_stale_links(struct sock_lb *s, const char *dir, const struct sp_log *log)
{
	char p[4200];
	DIR *d;
	struct dirent *de;

	snprintf(p, sizeof(p), "%s/links", dir);
	if (!(d = opendir(p)))
		return;
	while ((de = readdir(d))) {
		struct bpf_link *l;

		if (de->d_name[0] == '.' || bpf_object__find_program_by_name(s->obj, de->d_name))
			continue;
		snprintf(p, sizeof(p), "%s/links/%s", dir, de->d_name);
		if ((l = bpf_link__open(p))) {
			bpf_link__detach(l);
			bpf_link__destroy(l);
		}
		unlink(p);
		sp_log_warn(log, "bpf: stale link %s detached", p);
	}
	closedir(d);
}

int sp_bpf_kernel_attach(struct sp_bpf_kernel *k, const struct sp_log *log, char *err, size_t errsz)
{
	struct sock_lb *s = k->skel;
	struct bpf_program *prog;
	char created[16][64];
	int n_created = 0, e = 0;

	bpf_object__for_each_program(prog, s->obj)
	{
		char p[4200];
		bool had;

		snprintf(p, sizeof(p), "%s/links/%s", k->pin_dir, bpf_program__name(prog));
		had = access(p, F_OK) == 0;
		if ((e = attach_one(prog, k->cgroup_fd, k->pin_dir, log, err, errsz)))
			break;
		if (!had && n_created < 16)
			snprintf(created[n_created++], sizeof(created[0]), "%s",
				 bpf_program__name(prog));
	}
	if (e) {
		/* Nothing half attached: the hooks this call added go again. */
		for (int i = 0; i < n_created; i++) {
			char p[4200];
			struct bpf_link *l;

			snprintf(p, sizeof(p), "%s/links/%s", k->pin_dir, created[i]);
			if ((l = bpf_link__open(p))) {
				bpf_link__detach(l);
				bpf_link__destroy(l);
			}
			unlink(p);
		}
		return e;
	}
	remove_stale_links(s, k->pin_dir, log);
	return 0;
}

int sp_bpf_kernel_open_pinned(struct sp_bpf_kernel *k, const char *pin_dir)
{
	char p[4200];
	int layout;

	memset(k, 0, sizeof(*k));
	k->cgroup_fd = -1;
	for (int m = 0; m < SPM_COUNT; m++)
		k->map_fd[m] = -1;
	snprintf(k->pin_dir, sizeof(k->pin_dir), "%s", pin_dir);
	layout = pinned_layout(pin_dir);
	if (layout <= 0)
		return layout; /* 0: nothing of ours; -errno */
	if (layout != SP_BPF_LAYOUT)
		return -EPROTO;
	for (int m = 0; m < SPM_COUNT; m++) {
		struct bpf_map_info info = {0};
		uint32_t len = sizeof(info);

		pin_path(pin_dir, map_names[m], p, sizeof(p));
		k->map_fd[m] = bpf_obj_get(p);
		if (k->map_fd[m] < 0 || bpf_obj_get_info_by_fd(k->map_fd[m], &info, &len)) {
			int e = -errno;

			sp_bpf_kernel_close(k);
			return e;
		}
		k->map_max[m] = info.max_entries;
	}
	return 1;
}

int sp_bpf_kernel_remove(const char *pin_dir, const struct sp_log *log)
{
	char p[4200];
	DIR *d;
	struct dirent *de;
	int err = 0;

	snprintf(p, sizeof(p), "%s/links", pin_dir);
	if ((d = opendir(p))) {
		while ((de = readdir(d))) {
			struct bpf_link *l;

			if (de->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/links/%s", pin_dir, de->d_name);
			if ((l = bpf_link__open(p))) {
				if (bpf_link__detach(l) && !err)
					err = -errno;
				bpf_link__destroy(l);
			}
			unlink(p);
		}
		closedir(d);
		snprintf(p, sizeof(p), "%s/links", pin_dir);
		rmdir(p);
	}
	sp_bpf_tc_detach_all(log);
	unpin_maps(pin_dir);
	if (rmdir(pin_dir) == -1 && errno != ENOENT && errno != ENOTEMPTY && !err)
		err = -errno;
	if (!err)
		sp_log_debug(log, "bpf: removed what was pinned under %s", pin_dir);
	return err;
}

void sp_bpf_kernel_close(struct sp_bpf_kernel *k)
{
	if (k->tc_skel)
		tc_nat__destroy(k->tc_skel);
	k->tc_skel = NULL;
	if (k->skel) {
		sock_lb__destroy(k->skel); /* closes the map fds it owns */
	} else {
		for (int m = 0; m < SPM_COUNT; m++)
			if (k->map_fd[m] >= 0)
				close(k->map_fd[m]);
	}
	for (int m = 0; m < SPM_COUNT; m++)
		k->map_fd[m] = -1;
	if (k->cgroup_fd >= 0)
		close(k->cgroup_fd);
	k->cgroup_fd = -1;
	k->skel = NULL;
}
