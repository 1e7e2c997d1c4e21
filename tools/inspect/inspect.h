/* inspect.h - a rule dump from any node (kube-proxy's iptables-save, nft text
 * or nft JSON, or svcplane's own tables) read into the model, with findings:
 * services without endpoints, endpoint chains nothing reaches, shadowed rules,
 * VIP:port collisions, uneven probability chains. Also what explain needs per
 * port. */
#ifndef SP_TOOLS_INSPECT_H
#define SP_TOOLS_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../../common/addr.h"
#include "../../control/model.h"

#define SP_INSPECT_MAX_CIDRS 8

/* How a port masquerades, as its rules say. */
struct sp_inspect_port {
	struct sp_addr keep_src[SP_INSPECT_MAX_CIDRS];	/* internal: not masqueraded from these */
	int nkeep;
	bool masq_internal;	/* internal traffic is masqueraded (outside keep_src) */
	bool masq_external;	/* external traffic always masqueraded (Cluster policy) */
	bool no_endpoints_drop;	/* no endpoints: drop (Local) rather than reject */
	/* Where the tables give external traffic its own list (Local policy),
	 * the endpoints on it; else has_external is false. */
	bool has_external;
	unsigned missing_eps;	/* endpoint chains named but absent or empty */
	char scheduler[16];	/* IPVS: rr, wrr, lc, sh, ... ("" elsewhere) */
	struct sp_inspect_ep {
		struct sp_addr addr;
		uint16_t port;
	} *external;
	size_t n_external;
};

struct sp_inspect {
	struct sp_model m;
	struct sp_hmap *extra;		/* port key → struct sp_inspect_port */
	char **findings;		/* what the rules do wrong (each said once) */
	size_t nfindings;
	/* How the dump was read: lines skipped, an excerpt, a cut-off dump,
	 * what could not be known. Not findings about the rules. */
	char **notes;
	size_t nnotes;
	/* The dump is not whole (an excerpt, or cut off): findings that need
	 * every chain (chains nothing reaches) are held back. */
	bool partial;
	const char *format;		/* "iptables-save", "svcplane nftables" */
};

int sp_inspect_init(struct sp_inspect *in);
void sp_inspect_fini(struct sp_inspect *in);
/* Add a finding (printf style). */
void sp_inspect_finding(struct sp_inspect *in, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Add a finding about port @p: its name (sp_inspect_port_name), then @fmt. */
void sp_inspect_port_finding(struct sp_inspect *in, const struct sp_svc_port *p, const char *fmt,
			     ...) __attribute__((format(printf, 3, 4)));
/* Add a note on the reading itself (printf style), once per text. */
void sp_inspect_note(struct sp_inspect *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* @p's name as operators write it in @buf: "ns/svc:port/TCP/IPv4", or
 * "ns/svc/TCP/IPv4" for an unnamed port (the model's key keeps a bare ':'). */
const char *sp_inspect_port_name(const struct sp_svc_port *p, char *buf, size_t sz);
struct sp_inspect_port *sp_inspect_port_extra(struct sp_inspect *in, const char *key);
/* The model's port for "ns/svc:port" (or "ns/svc"), made on first use. NULL
 * for a name without a namespace, protocol 0, or no memory. */
struct sp_svc_port *sp_inspect_svc_port(struct sp_inspect *in, const char *name, uint8_t proto,
				       int family);
/* Add @a:@port to @x's external-traffic endpoints. Returns 0 or -ENOMEM. */
int sp_inspect_external_add(struct sp_inspect_port *x, const struct sp_addr *a, uint16_t port);
/* Add @a to @l unless it is there already. */
void sp_inspect_add_addr(struct sp_addr_list *l, const struct sp_addr *a);

/* The readers, one a dump (each file is named for the dump it reads). */

/* kp_iptables_save.c: @len bytes of `iptables-save` output (kube-proxy's
 * iptables mode). @buf is cut into tokens in place (no copy of a large dump is
 * made), so it must hold @len + 1 writable bytes; it is garbage afterwards.
 * Returns 0, or -EINVAL with a one-line reason in @err (line number and
 * what), or -ENOMEM. */
int sp_inspect_kp_iptables_save(char *buf, size_t len, struct sp_inspect *in, char *err,
				size_t errsz);

/* kp_nft_json.c: `nft -j list ruleset` output holding kube-proxy's nftables
 * tables. Returns 0, or -EINVAL with a one-line reason in @err, or -ENOMEM. */
int sp_inspect_kp_nft_json(const char *buf, size_t len, struct sp_inspect *in, char *err,
			   size_t errsz);

/* kp_nft_text.c: `nft list ruleset` text holding kube-proxy's nftables
 * tables. Returns 0, -EINVAL with "line N: ..." in @err, or -ENOMEM. */
int sp_inspect_kp_nft_text(const char *buf, size_t len, struct sp_inspect *in, char *err,
			   size_t errsz);

/* kp_ipvs.c: `ipvsadm -Ln` or `ipvsadm-save -n` output (kube-proxy's IPVS
 * mode), alone or beside that node's iptables-save. @buf needs @len + 1
 * writable bytes and is cut up. Returns 0, -EINVAL with "line N: ..." in
 * @err, or -ENOMEM. */
int sp_inspect_ipvs(char *buf, size_t len, struct sp_inspect *in, char *err, size_t errsz);

/* detect.c: any dump this tool reads, handed to its reader by the first line
 * of rule text in it (@buf as for the iptables-save reader). Look-alikes
 * (`iptables -L`, plain text) are refused naming the line and what to run.
 * Returns as the reader does. */
int sp_inspect_buf(char *buf, size_t len, struct sp_inspect *in, char *err, size_t errsz);

/* nft_text.c: `nft list ruleset` text holding kube-proxy's tables or
 * svcplane's own, handed to the reader for whichever it holds. Returns as
 * that reader does. */
int sp_inspect_nft_text(const char *buf, size_t len, struct sp_inspect *in, char *err,
			size_t errsz);

/* ipt_nft_text.c: `nft list ruleset` of a node where kube-proxy ran in
 * iptables mode through iptables-nft (KUBE-* chains in `table ip nat`, ...),
 * read as the iptables-save it came from. Returns as that reader does. */
int sp_inspect_ipt_nft_text(const char *buf, size_t len, struct sp_inspect *in, char *err,
			    size_t errsz);
/* Does nft text @buf hold kube-proxy's chains in an ip or ip6 table (iptables-nft's)? */
bool sp_inspect_is_ipt_nft_text(const char *buf, size_t len);
/* Is @name (@len bytes) one of kube-proxy's iptables chains (KUBE-SERVICES,
 * KUBE-SVC-..., not kubelet's KUBE-FIREWALL)? */
bool sp_inspect_kp_ipt_chain(const char *name, size_t len);

struct sp_backend;
/* svcplane's own state as backend @be (open, read-only) reads it back, with
 * its masquerade facts and findings. Returns 0 or -errno. */
int sp_inspect_backend(struct sp_inspect *in, struct sp_backend *be);
/* The same from `nft list ruleset` text holding svcplane's tables. Returns 0,
 * -EINVAL with "line N: ..." in @err, or -ENOMEM. */
int sp_inspect_svcplane_nft_text(const char *buf, size_t len, struct sp_inspect *in, char *err,
				 size_t errsz);

/* inspect_print.c: the inspection as text (table, findings, notes) to @f. */
void sp_inspect_print(FILE *f, const struct sp_inspect *in);

/* The inspection as JSON: format, model, findings. */
struct cJSON *sp_inspect_to_json(const struct sp_inspect *in);

#endif
