/* lb_algorithm.h - how bpf mode picks an endpoint for traffic from outside the
 * node (--bpf-lb-algorithm, as Cilium's loadBalancer.algorithm): the values and
 * their one text form, shared by the agent's settings and the backends'. */
#ifndef SP_COMMON_LB_ALGORITHM_H
#define SP_COMMON_LB_ALGORITHM_H

enum sp_lb_algorithm {
	SP_LB_RANDOM = 0, /* any endpoint, per new flow (the default, as Cilium's) */
	SP_LB_MAGLEV = 1, /* a Maglev table per service: every node picks alike */
};

/* "random" or "maglev"; "?" for anything else. */
const char *sp_lb_algorithm_name(enum sp_lb_algorithm a);
/* The value named @s into *@out. Returns 0 or -EINVAL. */
int sp_lb_algorithm_parse(const char *s, enum sp_lb_algorithm *out);

#endif
