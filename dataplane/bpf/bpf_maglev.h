/* bpf_maglev.h - Maglev tables in sp_maglev: one per external endpoint list,
 * built by control/maglev.c from the list's endpoints, its slots mapped to
 * the maps' endpoint ids, written into a new inner array and switched in
 * with one update (a program sees the old table or the new one, whole). */
#ifndef SP_DATAPLANE_BPF_MAGLEV_H
#define SP_DATAPLANE_BPF_MAGLEV_H

#include <stddef.h>
#include <stdint.h>

#include "../../control/model.h"
#include "bpf_loader.h"

/* The table of slot set @set_id: @eps[i] has endpoint id @ids[i]; @m slots.
 * Returns 0 or -errno (-EINVAL: @m does not fit @n endpoints). */
int sp_bpf_maglev_write(const struct sp_bpf_kernel *k, uint32_t set_id,
			const struct sp_endpoint *const *eps, const uint32_t *ids, size_t n, uint32_t m);

/* No table for @set_id any more. */
void sp_bpf_maglev_delete(const struct sp_bpf_kernel *k, uint32_t set_id);

#endif
