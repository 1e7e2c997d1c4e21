/* lb_algorithm.c - the names of the bpf-mode balancing algorithms. */
#include "lb_algorithm.h"

#include <errno.h>
#include <string.h>

static const char *const names[] = {
	[SP_LB_RANDOM] = "random",
	[SP_LB_MAGLEV] = "maglev",
};

const char *sp_lb_algorithm_name(enum sp_lb_algorithm a)
{
	return (unsigned int)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

int sp_lb_algorithm_parse(const char *s, enum sp_lb_algorithm *out)
{
	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*out = (enum sp_lb_algorithm)i;
			return 0;
		}
	}
	return -EINVAL;
}
