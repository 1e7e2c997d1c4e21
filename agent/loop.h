/* loop.h - the agent's event loop: file descriptors and one-shot timers on
 * one epoll instance, each with its callback (Redis's ae.c, smaller). Sources,
 * HTTP servers and backends (through struct sp_loop_hooks) register here. */
#ifndef SP_AGENT_LOOP_H
#define SP_AGENT_LOOP_H

#include <stdint.h>

#include "../dataplane/backend.h"

struct sp_loop;

/* NULL + errno on failure. */
struct sp_loop *sp_loop_new(void);
/* Closes the epoll fd; registered fds are their owners' to close. */
void sp_loop_free(struct sp_loop *l);

/* Watch @fd for @events; @fn(ctx, fd, revents) runs when it is ready.
 * Returns 0 or -errno (-EEXIST when @fd is watched already). */
int sp_loop_add_fd(struct sp_loop *l, int fd, uint32_t events, sp_loop_fd_fn fn, void *ctx);
/* Change the events watched on @fd. Returns 0 or -errno. */
int sp_loop_mod_fd(struct sp_loop *l, int fd, uint32_t events);
/* Stop watching @fd (before closing it). Safe from inside a callback, also
 * for an fd whose event is still pending in the same round. */
void sp_loop_del_fd(struct sp_loop *l, int fd);

/* Run @fn(ctx) once, @after seconds from now (monotonic clock). Returns its id
 * (> 0), or 0 when out of memory. */
uint64_t sp_loop_add_timer(struct sp_loop *l, double after, sp_loop_timer_fn fn, void *ctx);
/* Cancel a timer that has not run yet; unknown ids are ignored. */
void sp_loop_cancel_timer(struct sp_loop *l, uint64_t id);

/* Wait up to @max_wait seconds (less when a timer is due sooner), then run
 * the callbacks of every ready fd and due timer. Returns 0 or -errno of
 * epoll_wait (EINTR is 0). */
int sp_loop_run_once(struct sp_loop *l, double max_wait);

/* The hooks a backend gets, bound to @l. */
void sp_loop_hooks_init(struct sp_loop_hooks *h, struct sp_loop *l);

#endif
