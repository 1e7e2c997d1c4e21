/* id_pool.h - numeric ids given back, handed out again oldest first (a
 * reader that saw an id just before it was given back has most likely
 * finished with it by the time it is reused). A ring that grows. */
#ifndef SP_COMMON_ID_POOL_H
#define SP_COMMON_ID_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sp_id_pool {
	uint32_t *v;
	size_t head, n, cap;
};

/* @id back into the pool. 0, or -ENOMEM (then the id is simply not reused). */
int sp_id_pool_put(struct sp_id_pool *p, uint32_t id);

/* The oldest id given back into @id: true, or false when there is none. */
bool sp_id_pool_take(struct sp_id_pool *p, uint32_t *id);

void sp_id_pool_fini(struct sp_id_pool *p);

#endif
