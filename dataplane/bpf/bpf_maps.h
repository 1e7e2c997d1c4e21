/* bpf_maps.h - the model written into the eBPF maps: per service port its
 * service entries, endpoint slots (a new revision written before the entry
 * switches to it, the old one removed after), endpoints shared by id and
 * reference-counted, affinity membership and port info; a full sync writes
 * every port and removes whatever else the maps hold. */
#ifndef SP_DATAPLANE_BPF_MAPS_H
#define SP_DATAPLANE_BPF_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../control/model.h"
#include "bpf_loader.h"

struct sp_log;
struct sp_bpf_writer;

/* A writer over @k's maps; it adopts the endpoint ids and slot revisions it
 * finds there, so that a restarted agent never reuses an id or revision a
 * live entry refers to. NULL + errno. */
struct sp_bpf_writer *sp_bpf_writer_new(const struct sp_bpf_kernel *k, const struct sp_log *log);
void sp_bpf_writer_free(struct sp_bpf_writer *w);

/* Apply one port's change (@old and/or @new; either may be NULL). A full map
 * is one error line naming the port; the port is then left out (the caller
 * logs and goes on with the others). Returns 0 or -errno. */
int sp_bpf_write_change(struct sp_bpf_writer *w, const struct sp_svc_port *old,
			const struct sp_svc_port *new);

/* Make the maps hold exactly @m (and @node_addrs): every port written, every
 * other entry removed. Returns 0, or the first -errno (each failure logged,
 * the other ports written). */
int sp_bpf_write_full(struct sp_bpf_writer *w, const struct sp_model *m,
		      const struct sp_addr *node_addrs, size_t n_node_addrs);

/* Maglev tables of @table_size slots for the external lists (0: none; the
 * programs then balance at random). Set before the first sync. */
void sp_bpf_writer_set_maglev(struct sp_bpf_writer *w, uint32_t table_size);

/* A partial sync starts (the left-out count restarts). */
void sp_bpf_write_begin(struct sp_bpf_writer *w);

/* Ports left out by this sync because a map was full: the writer's counts
 * then no longer match the model, so the next sync must be full. */
size_t sp_bpf_writer_left_out(const struct sp_bpf_writer *w);

#endif
