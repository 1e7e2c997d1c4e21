/* hcserver.h - kube-proxy's per-service health-check servers: for each
 * LoadBalancer service with externalTrafficPolicy Local, an HTTP server on its
 * healthCheckNodePort telling load balancers whether this node has a local
 * ready endpoint ({"service":{...},"localEndpoints":N,"serviceProxyHealthy":b},
 * header X-Load-Balancing-Endpoint-Weight; 503 when N is 0 or the proxy is
 * unhealthy). */
#ifndef SP_AGENT_HCSERVER_H
#define SP_AGENT_HCSERVER_H

#include <stdbool.h>

struct sp_model;
struct sp_log;
struct sp_hcservers;

/* Servers are polled through one epoll descriptor, @epfd, registered with
 * @tag in the caller's loop. NULL + errno. */
struct sp_hcservers *sp_hcservers_new(const struct sp_log *lg);
void sp_hcservers_free(struct sp_hcservers *h);

/* Start, update and stop servers to match @m (for this node). Errors (a port
 * in use) are logged, once per port and change. */
void sp_hcservers_update(struct sp_hcservers *h, const struct sp_model *m, bool proxy_healthy);
/* Descriptor to poll (readable when a server has work), and the work itself. */
int sp_hcservers_fd(const struct sp_hcservers *h);
void sp_hcservers_run(struct sp_hcservers *h);

#endif
