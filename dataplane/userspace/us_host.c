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

#define FDS_PER_CONN 8	  /* 2 sockets + 2 pipes, and a UDP flow's socket, with room */
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
	n = r.rlim_cur > FDS_RESERVED + FDS_PER_CONN ? (r.rlim_cur - FDS_RESERVED) / FDS_PER_CONN
						     : 1;
	if (n > US_MAX_CONNS_CAP)
		n = US_MAX_CONNS_CAP;
	sp_log_info(lg,
		    "userspace: RLIMIT_NOFILE %llu: at most %zu TCP connections and %zu UDP flows",
		    (unsigned long long)r.rlim_cur, n, n);
	return n;
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
