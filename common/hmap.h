/* hmap.h - string-keyed hash map of pointers (keys copied, values borrowed). */
#ifndef SP_COMMON_HMAP_H
#define SP_COMMON_HMAP_H

#include <stddef.h>

struct sp_hmap;

/* Iterator: zero-initialise, then call sp_hmap_next until it returns 0. The map
 * must not be changed during a walk, except by sp_hmap_del of the current key. */
struct sp_hmap_iter {
	size_t bucket;
	void *node;
	void *next;
	const char *key;
	void *value;
};

/* Returns NULL + errno on allocation failure. */
struct sp_hmap *sp_hmap_new(void);
/* Frees the map and its key copies; values are the caller's. */
void sp_hmap_free(struct sp_hmap *h);
void *sp_hmap_get(const struct sp_hmap *h, const char *key);
/* Insert or replace. *@old receives the replaced value (NULL if none) when @old
 * is not NULL. Returns 0 or -ENOMEM (map unchanged). */
int sp_hmap_put(struct sp_hmap *h, const char *key, void *value, void **old);
/* Remove @key; returns its value, or NULL if absent. */
void *sp_hmap_del(struct sp_hmap *h, const char *key);
size_t sp_hmap_len(const struct sp_hmap *h);
/* Advance @it; returns 1 with it->key/it->value set, 0 at the end. */
int sp_hmap_next(const struct sp_hmap *h, struct sp_hmap_iter *it);
/* Keys in byte order, in a new array of borrowed pointers (free the array only).
 * Returns NULL + errno on failure; *@n receives the count. */
const char **sp_hmap_sorted_keys(const struct sp_hmap *h, size_t *n);

#endif
