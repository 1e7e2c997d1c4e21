/* lists.h - growable lists of addresses and strings, and the names of
 * protocols and address families, shared by objects, model and dumps. */
#ifndef SP_COMMON_LISTS_H
#define SP_COMMON_LISTS_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct sp_addr_list {
	struct sp_addr *v;
	size_t n;
};

struct sp_str_list {
	char **v;
	size_t n;
};

#define SP_MAX_CIDRS 16

/* A short fixed list of prefixes (--cluster-cidr, --nodeport-addresses). */
struct sp_cidrs {
	struct sp_addr v[SP_MAX_CIDRS];
	int n;
};

/* Append @a to @l (copied). Returns 0 or -ENOMEM. */
int sp_addr_list_add(struct sp_addr_list *l, const struct sp_addr *a);
void sp_addr_list_fini(struct sp_addr_list *l);
/* Append every address of @src to @dst. Returns 0 or -ENOMEM. */
int sp_addr_list_append(struct sp_addr_list *dst, const struct sp_addr_list *src);
/* Append a copy of @s to @l. Returns 0 or -ENOMEM. */
int sp_str_list_add(struct sp_str_list *l, const char *s);
void sp_str_list_fini(struct sp_str_list *l);

/* "TCP"/"UDP"/"SCTP" for an IPPROTO_* value, "?" otherwise. */
const char *sp_proto_name(uint8_t proto);
/* IPPROTO_* for "TCP"/"UDP"/"SCTP"; 0 for anything else. */
uint8_t sp_proto_parse(const char *s);
/* "IPv4"/"IPv6" for AF_INET/AF_INET6. */
const char *sp_family_name(int family);

#endif
