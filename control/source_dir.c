/* source_dir.c - manifest directory → store, with inotify. Each file keeps the
 * objects it last defined; a file that no longer parses keeps them in force.
 * An object defined by several files is in force while any of them defines
 * it, in the version of the file whose name sorts last. */
#define _GNU_SOURCE
#include "source_dir.h"
#include "manifest.h"
#include "store.h"
#include "../common/hmap.h"
#include "../common/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE_SIZE (64u << 20)	/* a manifest larger than this is refused */

struct sp_dir_source {
	char *dir;
	int ifd;
	struct sp_store *store;
	const struct sp_log *log;
	struct sp_hmap *files;	/* file name → struct sp_hmap * set of object ids */
	struct sp_hmap *owners;	/* object id ("Kind ns/name") → owning file name (strdup) */
	struct sp_hmap *hashes;	/* object id → (uintptr_t) hash of the version in the store */
	struct sp_hmap *reload;	/* file names to read again: they define an object whose
				 * file in force stopped defining it */
	int wd;			/* the directory's watch, or -1 when it is gone */
	size_t errors;
};

/* What the watch reports. CLOSE_WRITE and MOVED_TO, never MODIFY: a file is
 * read once its writer is done, so half-written files are not seen. CREATE
 * for links, which nobody writes (symlinks, hard links, a ConfigMap volume's
 * "..data" swap). */
#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | \
		    IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

int sp_dir_source_wants(const char *name)
{
	size_t n = strlen(name);

	if (!n || name[0] == '.' || name[0] == '#' || name[n - 1] == '~')
		return 0;
	return (n > 5 && !strcmp(name + n - 5, ".yaml")) ||
	       (n > 4 && !strcmp(name + n - 4, ".yml")) ||
	       (n > 5 && !strcmp(name + n - 5, ".json"));
}

struct sp_dir_source *sp_dir_source_new(const char *dir, struct sp_store *st,
					 const struct sp_log *lg)
{
	struct sp_dir_source *src = calloc(1, sizeof(*src));
	int err;

	if (!src)
		return NULL;
	src->ifd = src->wd = -1;
	src->store = st;
	src->log = lg;
	src->dir = strdup(dir);
	src->files = sp_hmap_new();
	src->owners = sp_hmap_new();
	src->hashes = sp_hmap_new();
	src->reload = sp_hmap_new();
	if (!src->dir || !src->files || !src->owners || !src->hashes || !src->reload) {
		err = ENOMEM;
		goto err_free;
	}
	src->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (src->ifd == -1) {
		err = errno;
		goto err_free;
	}
	src->wd = inotify_add_watch(src->ifd, dir, WATCH_MASK);
	if (src->wd == -1) {
		err = errno;
		goto err_free;
	}
	return src;

err_free:
	sp_dir_source_free(src);
	errno = err;
	return NULL;
}

void sp_dir_source_free(struct sp_dir_source *src)
{
	struct sp_hmap_iter it = {0};

	if (!src)
		return;
	if (src->ifd >= 0)
		close(src->ifd);
	if (src->files) {
		while (sp_hmap_next(src->files, &it))
			sp_hmap_free(it.value);
		sp_hmap_free(src->files);
	}
	if (src->owners) {
		memset(&it, 0, sizeof(it));
		while (sp_hmap_next(src->owners, &it))
			free(it.value);
		sp_hmap_free(src->owners);
	}
	sp_hmap_free(src->hashes);
	sp_hmap_free(src->reload);
	free(src->dir);
	free(src);
}

int sp_dir_source_fd(const struct sp_dir_source *src)
{
	return src->ifd;
}

size_t sp_dir_source_errors(const struct sp_dir_source *src)
{
	return src->errors;
}

/* What a file that is not a regular one is, for the error line. */
static const char *file_type(mode_t m)
{
	return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" :
	       S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device" : "not a file";
}

/* Read @path whole. Returns 0 with a malloc'd buffer, or -errno; -EFTYPE_ (with
 * *@mode set) when it is not a regular file. Never blocks: a FIFO is opened
 * non-blocking and refused by its type. */
#define EFTYPE_ EBADFD
static int read_file(const char *path, char **buf, size_t *len, mode_t *mode)
{
	struct stat stt;
	ssize_t r;
	size_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY), err;

	if (fd == -1)
		return -errno;
	if (fstat(fd, &stt) == -1) {
		err = -errno;
		goto err_close;
	}
	if (!S_ISREG(stt.st_mode)) {
		*mode = stt.st_mode;
		err = -EFTYPE_;
		goto err_close;
	}
	if ((size_t)stt.st_size > MAX_FILE_SIZE) {
		err = -EFBIG;
		goto err_close;
	}
	*buf = malloc((size_t)stt.st_size + 1);
	if (!*buf) {
		err = -ENOMEM;
		goto err_close;
	}
	while (off < (size_t)stt.st_size &&
	       (r = read(fd, *buf + off, (size_t)stt.st_size - off)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			err = -errno;
			free(*buf);
			goto err_close;
		}
		off += (size_t)r;
	}
	(*buf)[off] = '\0';
	*len = off;
	close(fd);
	return 0;

err_close:
	close(fd);
	return err;
}

struct load_ctx {
	struct sp_dir_source *src;
	const char *file;
	struct sp_hmap *old;	/* the file's previous object ids */
	struct sp_hmap *now;	/* object ids it defines now */
};

static void set_owner(struct sp_dir_source *src, const char *id, const char *file)
{
	char *f = strdup(file);
	void *old;

	if (!f || sp_hmap_put(src->owners, id, f, &old)) {
		free(f);
		return;
	}
	free(old);
}

/* The file other than @except that defines @id and whose name sorts last, or
 * NULL. (A walk over the files: manifest directories hold few.) */
static const char *other_definer(const struct sp_dir_source *src, const char *id,
				 const char *except)
{
	struct sp_hmap_iter it = {0};
	const char *best = NULL;

	while (sp_hmap_next(src->files, &it))
		if (strcmp(it.key, except) && sp_hmap_get(it.value, id) &&
		    (!best || strcmp(it.key, best) > 0))
			best = it.key;
	return best;
}

static int apply_item(void *arg, struct sp_manifest_item *it)
{
	struct load_ctx *c = arg;
	struct sp_dir_source *src = c->src;
	char id[sizeof(it->key) + 32];
	const char *other;
	int e = 0;

	snprintf(id, sizeof(id), "%s %s", it->kind_name, it->key);
	if (it->err) {
		src->errors++;
		if (it->key[0])
			sp_log_err(src->log, "%s/%s: %s %s: %s: %s", src->dir, c->file, it->kind_name,
				   it->key, it->perr.field, it->perr.msg);
		else
			sp_log_err(src->log, "%s/%s: object #%d (%s): %s: %s", src->dir, c->file,
				   it->index + 1, it->kind_name, it->perr.field[0] ? it->perr.field : "-",
				   it->perr.msg);
		/* The object is still defined here: its last good version stays. */
		if (it->key[0] && sp_hmap_get(c->old, id))
			return sp_hmap_put(c->now, id, (void *)1, NULL);
		return 0;
	}
	if (sp_hmap_get(c->now, id))
		sp_log_warn(src->log, "%s/%s: %s %s is defined twice; the later one is used",
			    src->dir, c->file, it->kind_name, it->key);
	other = other_definer(src, id, c->file);
	if (other && !sp_hmap_get(c->old, id) && !sp_hmap_get(c->now, id))
		sp_log_warn(src->log, "%s: %s %s is defined in both %s and %s; %s is used (the name that sorts last)",
			    src->dir, it->kind_name, it->key, other, c->file,
			    strcmp(other, c->file) > 0 ? other : c->file);
	if (other && strcmp(other, c->file) > 0) {
		/* The other file's version is in force. */
		sp_manifest_item_free(it);
		return sp_hmap_put(c->now, id, (void *)1, NULL);
	}
	/* Unchanged since this file last gave it: nothing to tell the store (a
	 * manifest has no resourceVersion to say so). */
	if ((uintptr_t)sp_hmap_get(src->hashes, id) == (uintptr_t)it->hash &&
	    sp_hmap_get(src->owners, id) && !strcmp(sp_hmap_get(src->owners, id), c->file)) {
		sp_manifest_item_free(it);
		return sp_hmap_put(c->now, id, (void *)1, NULL);
	}
	switch (it->kind) {
	case SP_KIND_SERVICE:
		e = sp_store_set_service(src->store, it->obj);
		break;
	case SP_KIND_SLICE:
		e = sp_store_set_slice(src->store, it->obj);
		break;
	case SP_KIND_NODE:
		e = sp_store_set_node(src->store, it->obj);
		break;
	}
	it->obj = NULL;
	if (e)
		return e;
	set_owner(src, id, c->file);
	sp_hmap_put(src->hashes, id, (void *)(uintptr_t)it->hash, NULL);
	return sp_hmap_put(c->now, id, (void *)1, NULL);
}

/* @file no longer defines @id. If its version is the one in force, the next
 * file that defines it takes over (it is read again: its version is not kept
 * in memory); when none does, the object leaves the store. */
static void drop_object(struct sp_dir_source *src, const char *id, const char *file)
{
	char *owner = sp_hmap_get(src->owners, id);
	const char *key = strchr(id, ' '), *other;

	if (!owner || strcmp(owner, file) || !key)
		return;
	key++;
	if ((other = other_definer(src, id, file))) {
		sp_hmap_put(src->reload, other, (void *)1, NULL);
		free(sp_hmap_del(src->owners, id));
		sp_hmap_del(src->hashes, id);
		return;
	}
	if (!strncmp(id, "Service ", 8))
		sp_store_del_service(src->store, key);
	else if (!strncmp(id, "EndpointSlice ", 14))
		sp_store_del_slice(src->store, key);
	else if (!strncmp(id, "Node ", 5))
		sp_store_del_node(src->store, key);
	free(sp_hmap_del(src->owners, id));
	sp_hmap_del(src->hashes, id);
}

static void forget_file(struct sp_dir_source *src, const char *file)
{
	char *name = strdup(file);	/* @file may be the key being deleted */
	struct sp_hmap *set = name ? sp_hmap_del(src->files, name) : NULL;
	struct sp_hmap_iter it = {0};

	while (set && sp_hmap_next(set, &it))
		drop_object(src, it.key, name);
	sp_hmap_free(set);
	free(name);
}

static int load_file(struct sp_dir_source *src, const char *file)
{
	char path[PATH_MAX], *buf = NULL;
	struct sp_perr perr = {0};
	struct load_ctx c = { .src = src, .file = file };
	struct sp_hmap_iter it = {0};
	size_t len = 0;
	mode_t mode = 0;
	int e;

	snprintf(path, sizeof(path), "%s/%s", src->dir, file);
	e = read_file(path, &buf, &len, &mode);
	if (e == -ENOENT) {
		forget_file(src, file);	/* gone again before we got to it */
		return 0;
	}
	if (e) {
		src->errors++;
		if (e == -EFTYPE_)
			sp_log_err(src->log, "%s: not a regular file (%s): not read", path, file_type(mode));
		else
			sp_log_err(src->log, "%s: %s", path, strerror(-e));
		return 0;
	}
	c.old = sp_hmap_get(src->files, file);
	c.now = sp_hmap_new();
	if (!c.now || (!c.old && !(c.old = sp_hmap_new()))) {
		free(buf);
		sp_hmap_free(c.now);
		return -ENOMEM;
	}
	e = sp_manifest_decode(buf, len, apply_item, &c, &perr);
	free(buf);
	if (e || len > (1u << 20))
		malloc_trim(0);	/* a refused bomb or a large file: give the memory back */
	if (e == -EINVAL || e == -ENOMEM) {
		/* Not YAML/JSON at all (a half-saved file, say), past a limit, or
		 * too large for memory: keep what it defined. */
		src->errors++;
		sp_log_err(src->log, "%s: %s", path, e == -ENOMEM ? "out of memory" : perr.msg);
		if (!sp_hmap_get(src->files, file))
			sp_hmap_put(src->files, file, c.old, NULL);
		sp_hmap_free(c.now);
		return 0;
	}
	/* (after an -ENOMEM from a callback, the objects seen so far stand) */
	while (sp_hmap_next(c.old, &it))
		if (!sp_hmap_get(c.now, it.key))
			drop_object(src, it.key, file);
	sp_hmap_free(c.old);
	sp_hmap_del(src->files, file);
	if (sp_hmap_put(src->files, file, c.now, NULL)) {
		sp_hmap_free(c.now);
		return -ENOMEM;
	}
	return e;
}

/* Read again the files that take over objects another file dropped. Each
 * round can only hand objects on to files whose names sort earlier, so the
 * rounds end; the bound is a guard. */
static int reload_pending(struct sp_dir_source *src)
{
	int e = 0;

	for (size_t round = 0; !e && sp_hmap_len(src->reload) && round <= sp_hmap_len(src->files);
	     round++) {
		struct sp_hmap_iter it = {0};
		char *name;

		if (!sp_hmap_next(src->reload, &it) || !(name = strdup(it.key)))
			return -ENOMEM;
		sp_hmap_del(src->reload, name);
		e = load_file(src, name);
		free(name);
	}
	return e;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int sp_dir_source_load_all(struct sp_dir_source *src)
{
	DIR *d = opendir(src->dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	struct sp_hmap_iter it = {0};
	int e = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char **v;

		if (!sp_dir_source_wants(de->d_name))
			continue;
		v = realloc(names, (n + 1) * sizeof(*v));
		if (!v || !(v[n] = strdup(de->d_name))) {
			names = v ? v : names;
			e = -ENOMEM;
			break;
		}
		names = v;
		n++;
	}
	closedir(d);
	/* Name order, so a definition repeated across files resolves the same way
	 * every time. */
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_name);
	for (size_t i = 0; i < n && !e; i++)
		e = load_file(src, names[i]);
	/* Files known from before but gone now (after an event queue overflow). */
	while (!e && sp_hmap_next(src->files, &it)) {
		bool seen = n && bsearch(&it.key, names, n, sizeof(*names), cmp_name) != NULL;

		if (!seen)
			forget_file(src, it.key);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return e ? e : reload_pending(src);
}

/* Watch the directory anew (it may be another directory by now) and read it
 * from scratch: every object is given to the store again. */
int sp_dir_source_rescan(struct sp_dir_source *src)
{
	int wd;

	if (src->wd >= 0)
		inotify_rm_watch(src->ifd, src->wd);	/* (fails for a removed directory) */
	wd = inotify_add_watch(src->ifd, src->dir, WATCH_MASK);
	src->wd = wd == -1 ? -1 : wd;
	if (wd == -1)
		return -errno;
	for (struct sp_hmap_iter it = {0}; sp_hmap_next(src->hashes, &it);)
		sp_hmap_del(src->hashes, it.key);
	return sp_dir_source_load_all(src);
}

int sp_dir_source_tick(struct sp_dir_source *src)
{
	int e;

	if (src->wd >= 0)
		return 0;
	e = sp_dir_source_rescan(src);
	if (!e)
		sp_log_info(src->log, "%s: the manifest directory is back: watching and reading it again",
			    src->dir);
	return e == -ENOENT || e == -ENOTDIR ? 0 : e;
}

/* An entry was created in the directory. A symlink or hard link is complete at
 * once (no CLOSE_WRITE will follow); a hidden one (a ConfigMap volume's
 * "..data" swapped in) changes what every link in the directory points to. */
static int on_create(struct sp_dir_source *src, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", src->dir, name);
	if (lstat(path, &st) == -1)
		return 0;
	if (name[0] == '.' && (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode)))
		return !strcmp(name, "..data") ? sp_dir_source_load_all(src) : 0;
	if (!sp_dir_source_wants(name))
		return 0;
	if (S_ISLNK(st.st_mode) || (S_ISREG(st.st_mode) && st.st_nlink > 1))
		return load_file(src, name);
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return load_file(src, name);	/* a FIFO or socket: refused by type, named */
	return 0;	/* a new regular file: read at its CLOSE_WRITE */
}

int sp_dir_source_process(struct sp_dir_source *src)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t len;
	int e;

	for (;;) {
		len = read(src->ifd, buf, sizeof(buf));
		if (len == -1) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				sp_log_warn(src->log, "%s: inotify queue overflowed; rereading the directory",
					    src->dir);
				if ((e = sp_dir_source_load_all(src)))
					return e;
				continue;
			}
			if (ev->wd != src->wd)
				continue;	/* a watch given up before a rescan */
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
				src->errors++;
				sp_log_err(src->log, "%s: the manifest directory was removed; keeping the last objects and watching for it to come back",
					   src->dir);
				if (src->wd >= 0)
					inotify_rm_watch(src->ifd, src->wd);
				src->wd = -1;
				continue;
			}
			if (!ev->len)
				continue;
			if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
				if (sp_dir_source_wants(ev->name))
					forget_file(src, ev->name);
				e = 0;
			} else if (ev->mask & IN_CREATE) {
				e = on_create(src, ev->name);
			} else if (ev->name[0] == '.' && !strcmp(ev->name, "..data")) {
				e = sp_dir_source_load_all(src);	/* ..data renamed into place */
			} else {
				e = sp_dir_source_wants(ev->name) ? load_file(src, ev->name) : 0;
			}
			if (!e)
				e = reload_pending(src);
			if (e)
				return e;
		}
	}
}
