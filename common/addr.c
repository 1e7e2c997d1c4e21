/* addr.c - IPv4/IPv6 address and prefix helpers over inet_pton/inet_ntop. */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int sp_addr_bits(int family)
{
	return family == AF_INET ? 32 : family == AF_INET6 ? 128 : 0;
}

int sp_addr_parse(const char *s, struct sp_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return -EINVAL;
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, &out->v6) != 1)
			return -EINVAL;
		out->family = AF_INET6;
		out->prefix_len = 128;
		return 0;
	}
	if (inet_pton(AF_INET, s, &out->v4) != 1)
		return -EINVAL;
	out->family = AF_INET;
	out->prefix_len = 32;
	return 0;
}

static void clear_host_bits(struct sp_addr *a)
{
	int bits = sp_addr_bits(a->family);

	for (int i = a->prefix_len; i < bits; i++)
		a->bytes[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
}

int sp_cidr_parse(const char *s, bool strict, struct sp_addr *out)
{
	char ip[64];
	const char *slash;
	char *end;
	long len;
	struct sp_addr masked;
	int err;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (!slash)
		return sp_addr_parse(s, out);
	if ((size_t)(slash - s) >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, slash - s);
	ip[slash - s] = '\0';
	err = sp_addr_parse(ip, out);
	if (err)
		return err;
	if (slash[1] < '0' || slash[1] > '9')
		return -EINVAL;
	errno = 0;
	len = strtol(slash + 1, &end, 10);
	if (errno || *end || len < 0 || len > sp_addr_bits(out->family))
		return -EINVAL;
	out->prefix_len = (uint8_t)len;
	masked = *out;
	clear_host_bits(&masked);
	if (strict && memcmp(masked.bytes, out->bytes, 16))
		return -EINVAL;
	*out = masked;
	return 0;
}

const char *sp_addr_str(const struct sp_addr *a, char buf[SP_ADDRSTRLEN])
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(a->family == AF_INET6 ? AF_INET6 : AF_INET, a->bytes, ip, sizeof(ip));
	if (a->prefix_len == sp_addr_bits(a->family))
		snprintf(buf, SP_ADDRSTRLEN, "%s", ip);
	else
		snprintf(buf, SP_ADDRSTRLEN, "%s/%u", ip, a->prefix_len);
	return buf;
}

const char *sp_cidr_str(const struct sp_addr *a, char buf[SP_ADDRSTRLEN])
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(a->family == AF_INET6 ? AF_INET6 : AF_INET, a->bytes, ip, sizeof(ip));
	snprintf(buf, SP_ADDRSTRLEN, "%s/%u", ip, a->prefix_len);
	return buf;
}

int sp_addr_cmp(const struct sp_addr *a, const struct sp_addr *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->bytes, b->bytes, 16);
	if (c)
		return c;
	return (int)a->prefix_len - (int)b->prefix_len;
}

bool sp_cidr_contains(const struct sp_addr *net, const struct sp_addr *ip)
{
	struct sp_addr m;

	if (net->family != ip->family)
		return false;
	m = *ip;
	m.prefix_len = net->prefix_len;
	clear_host_bits(&m);
	return !memcmp(m.bytes, net->bytes, 16);
}
