/* main.c - svcplane: flags, the one agent instance, signals and the event loop. */
#include "agent.h"
#include "config.h"
#include "hcserver.h"
#include "http.h"
#include "../control/source_dir.h"
#include "../control/source_kube.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

enum ev_tag { EV_SIGNAL = 1, EV_DIR, EV_KUBE, EV_HEALTHZ, EV_METRICS, EV_HC };

static int watch(int epfd, int fd, enum ev_tag tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	if (fd < 0)
		return 0;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1 ? -errno : 0;
}

/* Returns 0 on SIGTERM/SIGINT, -errno on a failure of the loop itself. */
static int run_loop(struct sp_agent *a, int sigfd)
{
	int epfd = epoll_create1(EPOLL_CLOEXEC), e = 0;

	if (epfd == -1)
		return -errno;
	if ((e = watch(epfd, sigfd, EV_SIGNAL)) ||
	    (a->dir && (e = watch(epfd, sp_dir_source_fd(a->dir), EV_DIR))) ||
	    (a->kube && (e = watch(epfd, sp_kube_source_fd(a->kube), EV_KUBE))) ||
	    (a->healthz && (e = watch(epfd, sp_http_fd(a->healthz), EV_HEALTHZ))) ||
	    (a->metrics_http && (e = watch(epfd, sp_http_fd(a->metrics_http), EV_METRICS))) ||
	    (a->hc && (e = watch(epfd, sp_hcservers_fd(a->hc), EV_HC))))
		goto out;
	for (;;) {
		struct epoll_event evs[8];
		double now = sp_now_mono(), wait;
		bool full;
		int n;

		if (a->source_synced && sp_runner_due(&a->runner, now, &full)) {
			sp_agent_sync(a, full);
			now = sp_now_mono();
		}
		/* Wake for the next sync, and at least every second so the HTTP
		 * servers can expire idle connections. */
		wait = a->source_synced ? fmin(fmax(sp_runner_deadline(&a->runner) - now, 0), 1.0)
					: 1.0;	/* (a sync may be due, but none runs yet) */
		n = epoll_wait(epfd, evs, 8, (int)ceil(wait * 1000));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			e = -errno;
			goto out;
		}
		for (int i = 0; i < n; i++) {
			switch (evs[i].data.u32) {
			case EV_SIGNAL: {
				struct signalfd_siginfo si;

				if (read(sigfd, &si, sizeof(si)) != sizeof(si))
					break;
				if (si.ssi_signo == SIGHUP) {
					sp_log_info(&a->log, "SIGHUP: full sync requested");
					sp_runner_request(&a->runner, true);
					break;
				}
				sp_log_info(&a->log, "%s: stopping; rules stay in place",
					    strsignal((int)si.ssi_signo));
				goto out;
			}
			case EV_DIR:
				if ((e = sp_dir_source_process(a->dir)))
					sp_log_err(&a->log, "--manifests %s: %s", a->cfg.manifests,
						   strerror(-e));
				sp_agent_note_changes(a);
				break;
			case EV_KUBE:
				sp_kube_source_process(a->kube);
				/* No sync before every initial list is in. */
				if (sp_kube_source_synced(a->kube))
					sp_agent_source_synced(a);
				sp_agent_note_changes(a);
				break;
			}
		}
		if (a->healthz)
			sp_http_run(a->healthz);
		if (a->metrics_http)
			sp_http_run(a->metrics_http);
		if (a->hc)
			sp_hcservers_run(a->hc);
	}
out:
	close(epfd);
	return e;
}

int main(int argc, char **argv)
{
	static struct sp_agent agent;	/* the one instance: mutable state lives here */
	sigset_t sigs;
	int sigfd, e;

	agent.log = (struct sp_log){ .out = stderr, .format = SP_LOG_TEXT, .level = SP_LOG_INFO };
	e = sp_config_load(&agent.cfg, argc, argv, &agent.log);
	if (e)
		return e > 0 ? 0 : 2;
	agent.log.format = agent.cfg.log_format;
	agent.log.level = agent.cfg.verbosity >= 2 ? SP_LOG_DEBUG : SP_LOG_INFO;
	agent.cfg.log = &agent.log;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd == -1) {
		sp_log_err(&agent.log, "signalfd: %s", strerror(errno));
		return 1;
	}

	e = sp_agent_start(&agent);
	if (e == -ENOTSUP || e == -EINVAL || e == -ENOENT || e == -ENOTDIR) {
		sp_agent_stop(&agent);
		return 2;
	}
	if (e) {
		sp_agent_stop(&agent);
		return 1;
	}
	if (agent.cfg.cleanup) {
		e = agent.be.ops->cleanup(&agent.be);
		if (e)
			sp_log_err(&agent.log, "cleanup: %s", strerror(-e));
		sp_agent_stop(&agent);
		return e ? 1 : 0;
	}
	e = run_loop(&agent, sigfd);
	if (e)
		sp_log_err(&agent.log, "event loop: %s", strerror(-e));
	sp_agent_stop(&agent);
	close(sigfd);
	return e ? 1 : 0;
}
