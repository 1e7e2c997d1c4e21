/* source_dir.c - manifest directory → store, with inotify. Each file owns the
 * objects it last defined; a file that no longer parses keeps them in force. */
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
	size_t errors;
};

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
	src->ifd = -1;
	src->store = st;
	src->log = lg;
	src->dir = strdup(dir);
	src->files = sp_hmap_new();
	src->owners = sp_hmap_new();
	src->hashes = sp_hmap_new();
	if (!src->dir || !src->files || !src->owners || !src->hashes) {
		err = ENOMEM;
		goto err_free;
	}
	src->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (src->ifd == -1) {
		err = errno;
		goto err_free;
	}
	/* CLOSE_WRITE and MOVED_TO, never MODIFY: a file is read once its writer is
	 * done, so half-written files are not seen. */
	if (inotify_add_watch(src->ifd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
			      IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR) == -1) {
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

/* Read @path whole. Returns 0 with a malloc'd buffer, or -errno. */
static int read_file(const char *path, char **buf, size_t *len)
{
	struct stat stt;
	ssize_t r;
	size_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd == -1)
		return -errno;
	if (fstat(fd, &stt) == -1) {
		err = -errno;
		goto err_close;
	}
	if (!S_ISREG(stt.st_mode)) {
		err = -EISDIR;
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

static int apply_item(void *arg, struct sp_manifest_item *it)
{
	struct load_ctx *c = arg;
	struct sp_dir_source *src = c->src;
	char id[400];
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

/* Remove object @id from the store if @file still owns it. */
static void drop_object(struct sp_dir_source *src, const char *id, const char *file)
{
	char *owner = sp_hmap_get(src->owners, id);
	const char *key = strchr(id, ' ');

	if (!owner || strcmp(owner, file) || !key)
		return;
	key++;
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
	int e;

	snprintf(path, sizeof(path), "%s/%s", src->dir, file);
	e = read_file(path, &buf, &len);
	if (e == -ENOENT) {
		forget_file(src, file);	/* gone again before we got to it */
		return 0;
	}
	if (e) {
		src->errors++;
		sp_log_err(src->log, "%s: %s", path, strerror(-e));
		return e == -ENOMEM ? e : 0;
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
	if (e == -EINVAL) {
		/* Not YAML/JSON at all (a half-saved file, say): keep what it defined. */
		src->errors++;
		sp_log_err(src->log, "%s: %s", path, perr.msg);
		if (!sp_hmap_get(src->files, file))
			sp_hmap_put(src->files, file, c.old, NULL);
		sp_hmap_free(c.now);
		return 0;
	}
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

/* Load @file if it exists and is wanted, else drop what it defined. */
static int refresh(struct sp_dir_source *src, const char *file)
{
	if (!sp_dir_source_wants(file))
		return 0;
	return load_file(src, file);
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
	return e;
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
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
				src->errors++;
				sp_log_err(src->log, "%s: the manifest directory was removed; keeping the last objects",
					   src->dir);
				continue;
			}
			if (!ev->len)
				continue;
			if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
				if (sp_dir_source_wants(ev->name))
					forget_file(src, ev->name);
			} else if ((e = refresh(src, ev->name))) {
				return e;
			}
		}
	}
}
