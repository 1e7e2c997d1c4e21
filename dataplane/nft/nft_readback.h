/* nft_readback.h - what svcplane's tables hold, back as a model: live over
 * netlink or from an `nft list ruleset` text dump (svcplanectl dump, diff,
 * inspect, explain, tests); and the projection of a desired model onto what
 * the tables can express, so that the two compare. */
#ifndef SP_DATAPLANE_NFT_READBACK_H
#define SP_DATAPLANE_NFT_READBACK_H

#include <stdbool.h>
#include <stddef.h>

#include "../../common/lists.h"
#include "../backend.h"
#include "../../control/model.h"

struct mnl_socket;
struct sp_log;

/* Read tables ip/ip6 svcplane through @nl into @out (initialised, empty),
 * calling @ext (when non-NULL) once for each port whose external traffic has
 * its own (Local) list. Reads one consistent snapshot of the tables. Returns
 * 0 (also when there are no tables), or -errno: the kernel's (EPERM without
 * CAP_NET_ADMIN), -EAGAIN when the tables kept changing, -ENOMEM; never an
 * empty model in place of an error (nft_readsrc_nl.c, nft_decode.c). */
int sp_nft_read_ext(struct mnl_socket *nl, struct sp_model *out, const struct sp_log *lg,
		    sp_external_list_fn ext, void *ctx);

/* svcplane's tables in `nft list ruleset` text (other tables are skipped):
 * parsed once, then read as the live tables are (nft_readtext.c). parse
 * returns NULL with a one-line reason ("line N: ...") in @err. */
struct sp_nft_text;
struct sp_nft_text *sp_nft_text_parse(const char *buf, size_t len, char *err, size_t errsz);
void sp_nft_text_free(struct sp_nft_text *t);
int sp_nft_text_read(const struct sp_nft_text *t, struct sp_model *out, const struct sp_log *lg,
		     sp_external_list_fn ext, void *ctx);
/* As sp_nft_read_masq, from the text's services chain. */
int sp_nft_text_masq(const struct sp_nft_text *t, int family, struct sp_addr *keep, int max,
		     bool *masq);

/* The masquerade rule for ClusterIP traffic in @family's services chain: the
 * source prefixes it exempts (the cluster CIDRs) into @keep (up to @max), and
 * whether the rule exists at all (*@masq: false when neither --cluster-cidr
 * nor --masquerade-all was given). Returns the number of prefixes, or -errno
 * (-ENOENT: no table of that family) (nft_dispatch.c). */
int sp_nft_read_masq(struct mnl_socket *nl, int family, struct sp_addr *keep, int max, bool *masq);

/* The endpoints that traffic to @vip:@port/@proto (or, with @vip NULL, to
 * NodePort @port/@proto of @family) is sent to, read from the dispatch element
 * and its backends or affinity chain, into @p (its old endpoints replaced).
 * Returns the number of endpoints, or -errno (-ENOENT: no table of that
 * family) (nft_dispatch.c). */
int sp_nft_read_dispatch(struct mnl_socket *nl, int family, const struct sp_addr *vip,
			 uint8_t proto, uint16_t port, struct sp_svc_port *p);

/* @in as the nftables backend programs it for this node, into @out: per port,
 * its addresses, ports, affinity, external policy and the endpoints its
 * ClusterIP traffic uses (else its external traffic), each ready; node names,
 * zones, hints and internal policy are not programmed and are left out
 * (nft_project.c). Returns 0 or -ENOMEM. */
int sp_nft_project(const struct sp_model *in, struct sp_model *out);

#endif
