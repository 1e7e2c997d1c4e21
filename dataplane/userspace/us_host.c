/* us_host.c - descriptor limit and SCTP support, found once at start. */
#include "us_host.h"
#include "us_fwd.h"
#include "../../common/log.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* What the cap's connections could use at most: two sockets, two pipes
 * in flight (four descriptors), and a UDP flow's socket, with room. More
 * than they need (us_fwd_max_conns: two), so that pipes are not short. */
#define FDS_PER_CONN 8
#define FDS_RESERVED 1024 /* the agent's own, listeners */

size_t us_host_raise_nofile(const struct sp_log *lg)
{
	rlim_t want = (rlim_t)US_MAX_CONNS_CAP * FDS_PER_CONN + FDS_RESERVED;
	struct rlimit r;
	size_t n;

	if (getrlimit(RLIMIT_NOFILE, &r) == -1)
		r.rlim_cur = r.rlim_max = 1024;
	if (r.rlim_cur < want) {
		struct rlimit w = {want, want > r.rlim_max ? want : r.rlim_max};

		if (setrlimit(RLIMIT_NOFILE, &w) == 0) {
			r = w;
		} else {
			r.rlim_cur = r.rlim_max;
			setrlimit(RLIMIT_NOFILE, &r);
			getrlimit(RLIMIT_NOFILE, &r);
		}
	}
	n = us_fwd_max_conns((size_t)r.rlim_cur);
	sp_log_info(lg,
		    "userspace: RLIMIT_NOFILE %llu: at most %zu TCP connections (two descriptors "
		    "each, %d kept for the rest of the agent), UDP flows in what they leave",
		    (unsigned long long)r.rlim_cur, n, US_FDS_OWN);
	return (size_t)r.rlim_cur;
}

bool us_host_has_sctp(const struct sp_log *lg)
{
	int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);

	if (fd == -1) {
		sp_log_warn(lg,
			    "userspace: this kernel has no SCTP sockets (%s): SCTP service ports "
			    "are not served; TCP and UDP are",
			    strerror(errno));
		return false;
	}
	close(fd);
	sp_log_info(lg, "userspace: SCTP service ports are relayed (one-to-one sockets)");
	return true;
}
