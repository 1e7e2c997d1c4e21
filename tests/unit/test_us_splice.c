/* test_us_splice.c - TCP's mover over socket pairs: bytes cross through a
 * pipe while the forwarder has descriptors to spare, and through a buffer
 * when it has none (never a failure for lack of a pipe); the holding place
 * is given back once empty. */
#include "helpers.h"
#include "../../dataplane/userspace/us_fwd.h"
#include "../../dataplane/userspace/us_relay.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Move @msg from one socket pair to the other through @h; returns what
 * arrived (static buffer). */
static const char *relay_once(struct us_fwd *f, struct us_half *h, const char *msg)
{
	static char got[64];
	int in[2], out[2];
	ssize_t n;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, in), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, out), 0);
	ck_assert_int_eq(write(in[0], msg, strlen(msg)), (ssize_t)strlen(msg));
	n = us_splice_mover.fill(f, in[1], h);
	ck_assert_int_eq(n, (ssize_t)strlen(msg));
	ck_assert_uint_eq(h->held, strlen(msg));
	ck_assert_int_eq(us_splice_mover.drain(f, out[0], h), (ssize_t)strlen(msg));
	ck_assert_uint_eq(h->held, 0);
	memset(got, 0, sizeof(got));
	ck_assert_int_eq(read(out[1], got, sizeof(got) - 1), (ssize_t)strlen(msg));
	for (int i = 0; i < 2; i++) {
		close(in[i]);
		close(out[i]);
	}
	return got;
}

START_TEST(test_us_splice_pipe_then_buffer_without_fds)
{
	struct us_fwd f = {.nofile = 1 << 16};
	struct us_half h = {.pipe = {-1, -1}};

	/* descriptors to spare: a pipe, back to the pool once empty */
	ck_assert_str_eq(relay_once(&f, &h, "through a pipe"), "through a pipe");
	ck_assert_int_ge(h.pipe[0], 0);
	ck_assert_ptr_null(h.buf);
	ck_assert_uint_eq(f.pipes_in_use, 1);
	us_splice_mover.release(&f, &h);
	ck_assert_uint_eq(f.pipes_in_use, 0);
	ck_assert_uint_eq(f.npipes, 1);
	/* none to spare: the pooled pipe is reused (its descriptors are counted) */
	f.nofile = US_FDS_OWN;
	f.n_conns = 1;
	ck_assert_str_eq(relay_once(&f, &h, "pooled pipe"), "pooled pipe");
	ck_assert_int_ge(h.pipe[0], 0);
	us_splice_mover.release(&f, &h);
	us_pipes_fini(&f);
	/* none to spare and none pooled: a buffer */
	ck_assert_str_eq(relay_once(&f, &h, "through a buffer"), "through a buffer");
	ck_assert_int_eq(h.pipe[0], -1);
	ck_assert_ptr_nonnull(h.buf);
	ck_assert_uint_eq(f.pipes_in_use, 0);
	ck_assert_uint_eq(f.bufs_in_use, 1);
	us_splice_mover.release(&f, &h);
	ck_assert_ptr_null(h.buf);
	ck_assert_uint_eq(f.bufs_in_use, 0);
	us_pipes_fini(&f);
}
END_TEST

/* A partial write from the buffer keeps the rest, in order, for the next
 * drain. */
START_TEST(test_us_splice_buffer_partial_drain)
{
	struct us_fwd f = {.nofile = US_FDS_OWN};
	struct us_half h = {.pipe = {-1, -1}};
	static char big[16 * 1024], got[16 * 1024];
	int in[2], out[2], sz = 4096;
	size_t total = 0;
	ssize_t n;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, in), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, out), 0);
	ck_assert_int_eq(setsockopt(out[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i % 251);
	ck_assert_int_eq(write(in[0], big, sizeof(big)), (ssize_t)sizeof(big));
	ck_assert_int_eq(us_splice_mover.fill(&f, in[1], &h), (ssize_t)sizeof(big));
	n = us_splice_mover.drain(&f, out[0], &h);
	ck_assert(n > 0 && (size_t)n < sizeof(big));
	ck_assert_uint_eq(h.held, sizeof(big) - (size_t)n);
	ck_assert_int_eq(us_splice_mover.drain(&f, out[0], &h), -1); /* full: EAGAIN */
	for (int rounds = 0; rounds < 1000 && total < sizeof(big); rounds++) {
		while ((n = read(out[1], got + total, sizeof(got) - total)) > 0)
			total += (size_t)n;
		if (h.held)
			us_splice_mover.drain(&f, out[0], &h);
	}
	ck_assert_uint_eq(h.held, 0);
	ck_assert_uint_eq(total, sizeof(big));
	ck_assert(!memcmp(got, big, sizeof(big)));
	us_splice_mover.release(&f, &h);
	for (int i = 0; i < 2; i++) {
		close(in[i]);
		close(out[i]);
	}
}
END_TEST

Suite *suite_us_splice(void)
{
	Suite *s = suite_create("us_splice");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_us_splice_pipe_then_buffer_without_fds);
	tcase_add_test(tc, test_us_splice_buffer_partial_drain);
	suite_add_tcase(s, tc);
	return s;
}
