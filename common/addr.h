/* addr.h - IPv4/IPv6 addresses and CIDR prefixes: parse, print, compare, contain. */
#ifndef SP_COMMON_ADDR_H
#define SP_COMMON_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#define SP_ADDRSTRLEN 50	/* longest IPv6 text plus "/128" and NUL */

/* One address, or one prefix when prefix_len < the family's width. */
struct sp_addr {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t prefix_len;	/* 32 or 128 for a plain address */
	uint8_t pad[2];
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t bytes[16];	/* v4 uses the first 4, rest zero */
	};
};

/* Parse a plain IPv4 or IPv6 address. Returns 0 or -EINVAL. */
int sp_addr_parse(const char *s, struct sp_addr *out);
/* Parse "IP/len" (or a bare IP, taken as a host prefix). Host bits must be zero
 * unless @strict is false, in which case they are cleared. Returns 0 or -EINVAL. */
int sp_cidr_parse(const char *s, bool strict, struct sp_addr *out);
/* Text form of @a ("IP", or "IP/len" for a prefix) in @buf; returns @buf. */
const char *sp_addr_str(const struct sp_addr *a, char buf[SP_ADDRSTRLEN]);
/* Text form of a prefix, always with its length ("198.51.100.7/32"). */
const char *sp_cidr_str(const struct sp_addr *a, char buf[SP_ADDRSTRLEN]);
/* Total order: family, then bytes, then prefix length. */
int sp_addr_cmp(const struct sp_addr *a, const struct sp_addr *b);
/* True when @ip lies inside prefix @net (same family). */
bool sp_cidr_contains(const struct sp_addr *net, const struct sp_addr *ip);
/* Address width in bits for @family (32 or 128), 0 for an unknown family. */
int sp_addr_bits(int family);

#endif
