/* main.c - svcplane: flags, the one agent instance, signals and the event loop. */
#include "agent.h"
#include "config.h"
#include "loop.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* Set by the signal callback: SIGTERM/SIGINT end the loop. */
static volatile sig_atomic_t stop;

static void on_signal(void *ctx, int fd, uint32_t events)
{
	struct sp_agent *a = ctx;
	struct signalfd_siginfo si;

	(void)events;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		sp_log_info(&a->log, "SIGHUP: rereading the sources; full sync requested");
		sp_agent_reread(a);
		sp_runner_request(&a->runner, true);
		return;
	}
	sp_log_info(&a->log, "%s: stopping; rules stay in place", strsignal((int)si.ssi_signo));
	stop = 1;
}

/* Returns 0 on SIGTERM/SIGINT, -errno on a failure of the loop itself. */
static int run_loop(struct sp_agent *a, int sigfd)
{
	int e = sp_loop_add_fd(a->loop, sigfd, EPOLLIN, on_signal, a);

	while (!e && !stop) {
		double now = sp_now_mono(), wait;
		bool full;

		if (a->source_synced && sp_runner_due(&a->runner, now, &full)) {
			sp_agent_sync(a, full);
			now = sp_now_mono();
		}
		/* Wake for the next sync, and at least every second so the HTTP
		 * servers can expire idle connections. */
		wait = a->source_synced ? fmin(fmax(sp_runner_deadline(&a->runner) - now, 0), 1.0)
					: 1.0;	/* (a sync may be due, but none runs yet) */
		if ((e = sp_loop_run_once(a->loop, wait)))
			break;
		sp_agent_tick(a);
	}
	sp_loop_del_fd(a->loop, sigfd);
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

	if (agent.cfg.cleanup) {
		e = sp_agent_cleanup(&agent);
		close(sigfd);
		return e == -EINVAL ? 2 : e ? 1 : 0;
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
	e = run_loop(&agent, sigfd);
	if (e)
		sp_log_err(&agent.log, "event loop: %s", strerror(-e));
	sp_agent_stop(&agent);
	close(sigfd);
	return e ? 1 : 0;
}
