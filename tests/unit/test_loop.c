/* test_loop.c - agent/loop.c: fd callbacks, removal from inside a callback,
 * one-shot timers and their cancellation, and the hooks backends get. */
#include "helpers.h"
#include "../../agent/loop.h"

#include <sys/epoll.h>
#include <unistd.h>

struct hits {
	int reads, timers;
	int order[4];
	struct sp_loop *l;
	int other_fd;		/* removed by the first callback that runs */
};

static void on_read(void *ctx, int fd, uint32_t events)
{
	struct hits *h = ctx;
	char c;

	ck_assert(events & EPOLLIN);
	ck_assert_int_eq(read(fd, &c, 1), 1);
	h->reads++;
	if (h->other_fd >= 0) {
		sp_loop_del_fd(h->l, h->other_fd);
		h->other_fd = -1;
	}
}

static void on_timer(void *ctx)
{
	struct hits *h = ctx;

	h->order[h->timers++] = 1;
}

static void on_timer2(void *ctx)
{
	struct hits *h = ctx;

	h->order[h->timers++] = 2;
}

START_TEST(test_loop_fd_ready_and_removed_in_callback)
{
	struct sp_loop *l = sp_loop_new();
	struct hits h = { .l = l, .other_fd = -1 };
	int a[2], b[2];

	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(pipe(a), 0);
	ck_assert_int_eq(pipe(b), 0);
	ck_assert_int_eq(sp_loop_add_fd(l, a[0], EPOLLIN, on_read, &h), 0);
	ck_assert_int_eq(sp_loop_add_fd(l, a[0], EPOLLIN, on_read, &h), -EEXIST);
	ck_assert_int_eq(sp_loop_add_fd(l, b[0], EPOLLIN, on_read, &h), 0);
	/* Nothing ready: returns after the wait with no callback. */
	ck_assert_int_eq(sp_loop_run_once(l, 0.01), 0);
	ck_assert_int_eq(h.reads, 0);
	/* Both ready; the first callback removes the other fd, whose pending
	 * event is then skipped. */
	ck_assert_int_eq(write(a[1], "x", 1), 1);
	ck_assert_int_eq(write(b[1], "y", 1), 1);
	h.other_fd = b[0];
	ck_assert_int_eq(sp_loop_run_once(l, 1), 0);
	ck_assert_int_eq(h.reads, 1);
	ck_assert_int_eq(h.other_fd, -1);
	/* A removed fd gives no more callbacks, and its slot can be reused. */
	ck_assert_int_eq(sp_loop_run_once(l, 0.01), 0);
	ck_assert_int_eq(h.reads, 1);
	ck_assert_int_eq(sp_loop_add_fd(l, b[0], EPOLLIN, on_read, &h), 0);
	ck_assert_int_eq(sp_loop_run_once(l, 1), 0);
	ck_assert_int_eq(h.reads, 2);
	for (int i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
	}
	sp_loop_free(l);
}
END_TEST

START_TEST(test_loop_timers_fire_once_in_order_and_cancel)
{
	struct sp_loop *l = sp_loop_new();
	struct sp_loop_hooks hooks;
	struct hits h = { .l = l };
	uint64_t t1, t2, t3;

	sp_loop_hooks_init(&hooks, l);
	t1 = hooks.add_timer(hooks.loop, 0.05, on_timer2, &h);
	t2 = sp_loop_add_timer(l, 0.0, on_timer, &h);
	t3 = sp_loop_add_timer(l, 0.02, on_timer, &h);
	ck_assert(t1 && t2 && t3 && t1 != t2 && t2 != t3);
	hooks.cancel_timer(hooks.loop, t3);
	/* The wait is cut short by the first timer: no 10 s sleep here. */
	ck_assert_int_eq(sp_loop_run_once(l, 10), 0);
	ck_assert_int_eq(h.timers, 1);
	ck_assert_int_eq(sp_loop_run_once(l, 10), 0);
	ck_assert_int_eq(h.timers, 2);
	ck_assert_int_eq(h.order[0], 1);
	ck_assert_int_eq(h.order[1], 2);
	/* Fired timers do not come back. */
	ck_assert_int_eq(sp_loop_run_once(l, 0.06), 0);
	ck_assert_int_eq(h.timers, 2);
	sp_loop_free(l);
}
END_TEST

Suite *suite_loop(void)
{
	Suite *s = suite_create("loop");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_loop_fd_ready_and_removed_in_callback);
	tcase_add_test(tc, test_loop_timers_fire_once_in_order_and_cancel);
	suite_add_tcase(s, tc);
	return s;
}
