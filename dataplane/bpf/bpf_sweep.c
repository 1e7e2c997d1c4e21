/* bpf_sweep.c - deleting the keys of a map a predicate does not keep: keys
 * read with bpf_map_lookup_batch (key by key on a kernel without it) and
 * deleted with bpf_map_delete_batch. */
#include "bpf_sweep.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#define SWEEP_CHUNK 4096

/* @n keys at @keys leave map @fd: in batches, one syscall for many; a key
 * the batch stops at (gone already) is skipped. A map (or kernel) without
 * batch deletes has its keys deleted one by one. */
static void delete_keys(int fd, const uint8_t *keys, size_t klen, size_t n)
{
	bool batch = true;
	size_t i = 0;

	while (i < n) {
		uint32_t count = (uint32_t)(n - i < SWEEP_CHUNK ? n - i : SWEEP_CHUNK);

		if (!batch) {
			bpf_map_delete_elem(fd, keys + i++ * klen);
			continue;
		}
		if (!bpf_map_delete_batch(fd, keys + i * klen, &count, NULL)) {
			i += count;
			continue;
		}
		if (errno == EINVAL || errno == ENOTSUP || errno == 524 /* ENOTSUPP */) {
			batch = false;
			continue;
		}
		/* @count were deleted before the one that failed */
		i += count;
		if (i < n)
			bpf_map_delete_elem(fd, keys + i++ * klen);
	}
}

/* A walk over the keys of a map, where it stands. */
struct key_walk {
	int fd;
	size_t klen, vlen;
	bool batch, started, done;
	uint8_t token[64]; /* the batch's position: a bucket, or a key */
	uint8_t *vals;
	uint8_t last[64]; /* the last key read, key by key */
};

/* Keys of map @kw->fd, a chunk at a time: bpf_map_lookup_batch (values read
 * and dropped), else one bpf_map_get_next_key per key. Returns the number of
 * keys in @keys, 0 at the end, -errno on error. */
static int walk_next(struct key_walk *kw, uint8_t *keys, uint32_t max)
{
	if (kw->done)
		return 0;
	if (kw->batch) {
		uint32_t count = max;
		int e = bpf_map_lookup_batch(kw->fd, kw->started ? kw->token : NULL, kw->token,
					     keys, kw->vals, &count, NULL);

		if (!e || errno == ENOENT) {
			kw->started = true;
			kw->done = e != 0;
			return (int)count;
		}
		if (kw->started ||
		    (errno != EINVAL && errno != ENOTSUP && errno != 524 /* ENOTSUPP */))
			return -errno;
		kw->batch = false; /* an older kernel: key by key */
	}
	{
		uint32_t n = 0;

		while (n < max && !bpf_map_get_next_key(kw->fd, kw->started ? kw->last : NULL,
							keys + n * kw->klen)) {
			memcpy(kw->last, keys + n * kw->klen, kw->klen);
			kw->started = true;
			n++;
		}
		if (n < max)
			kw->done = true;
		return (int)n;
	}
}

int sp_bpf_sweep(int fd, size_t klen, sp_bpf_keep_fn keep, void *ctx)
{
	struct bpf_map_info info = {0};
	uint32_t info_len = sizeof(info);
	struct key_walk kw = {.fd = fd, .klen = klen, .batch = true};
	uint8_t *keys = NULL, *chunk = NULL;
	size_t n = 0, cap = 0;
	int got, e = 0;

	if (bpf_obj_get_info_by_fd(kw.fd, &info, &info_len))
		return -errno;
	if (klen != info.key_size || klen > sizeof(kw.last))
		return -EINVAL;
	kw.vlen = info.value_size;
	chunk = malloc(SWEEP_CHUNK * klen);
	kw.vals = malloc(SWEEP_CHUNK * (size_t)kw.vlen);
	if (!chunk || !kw.vals) {
		e = -ENOMEM;
		goto out;
	}
	while ((got = walk_next(&kw, chunk, SWEEP_CHUNK)) > 0) {
		for (int i = 0; i < got; i++) {
			const uint8_t *cur = chunk + (size_t)i * klen;

			if (keep && keep(cur, ctx))
				continue;
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 1024;
				uint8_t *v = realloc(keys, nc * klen);

				if (!v) {
					e = -ENOMEM;
					goto out;
				}
				keys = v;
				cap = nc;
			}
			memcpy(keys + n++ * klen, cur, klen);
		}
	}
	if (got < 0) {
		e = got;
		goto out;
	}
	delete_keys(kw.fd, keys, klen, n);
out:
	free(keys);
	free(chunk);
	free(kw.vals);
	return e;
}
