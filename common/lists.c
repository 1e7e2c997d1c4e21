/* lists.c - growable lists of addresses and strings. */
#include "lists.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

int sp_addr_list_add(struct sp_addr_list *l, const struct sp_addr *a)
{
	struct sp_addr *v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	v[l->n++] = *a;
	l->v = v;
	return 0;
}

int sp_addr_list_append(struct sp_addr_list *dst, const struct sp_addr_list *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (sp_addr_list_add(dst, &src->v[i]))
			return -ENOMEM;
	return 0;
}

void sp_addr_list_fini(struct sp_addr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int sp_str_list_add(struct sp_str_list *l, const char *s)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	l->v = v;
	v[l->n] = strdup(s);
	if (!v[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

void sp_str_list_fini(struct sp_str_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

const char *sp_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	case IPPROTO_SCTP:
		return "SCTP";
	}
	return "?";
}

uint8_t sp_proto_parse(const char *s)
{
	if (!strcmp(s, "TCP"))
		return IPPROTO_TCP;
	if (!strcmp(s, "UDP"))
		return IPPROTO_UDP;
	if (!strcmp(s, "SCTP"))
		return IPPROTO_SCTP;
	return 0;
}

const char *sp_family_name(int family)
{
	return family == AF_INET6 ? "IPv6" : "IPv4";
}
