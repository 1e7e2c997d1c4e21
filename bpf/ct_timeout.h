/* ct_timeout.h - how long a tracked flow lives without a packet, by protocol
 * and state: one function for the tc programs (an expired entry is absent)
 * and the agent's garbage collection (an expired entry is removed). */
#ifndef SP_BPF_CT_TIMEOUT_H
#define SP_BPF_CT_TIMEOUT_H

#include <linux/types.h>

#include "maps.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

static __always_inline __u64 sp_ct_timeout_ns(__u8 proto, __u8 state)
{
	__u64 s = SP_CT_TIMEOUT_OTHER;

	if (proto == 6 /* TCP */)
		s = state == SP_CT_ESTABLISHED ? SP_CT_TIMEOUT_TCP_ESTABLISHED
		    : state == SP_CT_CLOSING   ? SP_CT_TIMEOUT_TCP_CLOSING
					       : SP_CT_TIMEOUT_TCP_NEW;
	return s * 1000000000ull;
}

#endif
