/* nft_codec.c - set field kinds: bytes and text, one ops struct per kind (see nft_codec.h). */
#include "nft_codec.h"
#include "nft_render.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

struct field_ops {
	uint32_t bytes; /* exact width; 0: the family's address length */
	uint32_t type;	/* nft datatype; 0: the family's address type */
	void (*encode)(int family, const struct nft_value *v, uint8_t *out, uint8_t *end);
	void (*decode)(int family, const uint8_t *b, const uint8_t *end, struct nft_value *v);
	int (*print)(int family, const struct nft_value *v, char *buf, size_t sz);
	int (*parse)(int family, const char *text, struct nft_value *v);
};

static int af_of(int family)
{
	return family == NFPROTO_IPV6 ? AF_INET6 : AF_INET;
}

static uint32_t alen_of(int family)
{
	return family == NFPROTO_IPV6 ? 16 : 4;
}

/* A decimal (or, with @base 0, also 0x) number of at most @max: the whole text. */
static int number(const char *text, int base, unsigned long max, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)*text))
		return -EINVAL;
	errno = 0;
	v = strtoul(text, &end, base);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* --- addresses ---------------------------------------------------------------- */

static void addr_set(int family, const uint8_t *b, struct sp_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = (uint8_t)af_of(family);
	a->prefix_len = (uint8_t)sp_addr_bits(a->family);
	memcpy(a->bytes, b, alen_of(family));
}

static int addr_parse(int family, const char *text, struct sp_addr *a)
{
	uint8_t b[16];

	if (inet_pton(af_of(family), text, b) != 1)
		return -EINVAL;
	addr_set(family, b, a);
	return 0;
}

static void addr_encode(int family, const struct nft_value *v, uint8_t *out, uint8_t *end)
{
	memcpy(out, v->addr.bytes, alen_of(family));
	if (end)
		memcpy(end, out, alen_of(family));
}

static void addr_decode(int family, const uint8_t *b, const uint8_t *end, struct nft_value *v)
{
	(void)end;
	addr_set(family, b, &v->addr);
}

static int addr_print(int family, const struct nft_value *v, char *buf, size_t sz)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(af_of(family), v->addr.bytes, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	return snprintf(buf, sz, "%s", a);
}

static int addr_field_parse(int family, const char *text, struct nft_value *v)
{
	return addr_parse(family, text, &v->addr);
}

/* --- address ranges (interval sets) --------------------------------------------- */

/* The last address of @a's prefix. */
static void prefix_last(const struct sp_addr *a, struct sp_addr *last)
{
	int bits = sp_addr_bits(a->family);

	*last = *a;
	last->prefix_len = (uint8_t)bits;
	for (int b = a->prefix_len; b < bits; b++)
		last->bytes[b / 8] |= (uint8_t)(0x80u >> (b % 8));
}

/* Length of the prefix first and last share. */
static uint8_t common_prefix(const struct sp_addr *first, const struct sp_addr *last)
{
	int plen = 0, bits = sp_addr_bits(first->family);

	while (plen < bits &&
	       ((first->bytes[plen / 8] ^ last->bytes[plen / 8]) & (0x80 >> (plen % 8))) == 0)
		plen++;
	return (uint8_t)plen;
}

static void range_encode(int family, const struct nft_value *v, uint8_t *out, uint8_t *end)
{
	struct sp_addr last = v->last;

	if (!last.family) /* no last address given: the prefix's */
		prefix_last(&v->addr, &last);
	memcpy(out, v->addr.bytes, alen_of(family));
	if (end)
		memcpy(end, last.bytes, alen_of(family));
}

static void range_decode(int family, const uint8_t *b, const uint8_t *end, struct nft_value *v)
{
	addr_set(family, b, &v->addr);
	addr_set(family, end ? end : b, &v->last);
	v->addr.prefix_len = common_prefix(&v->addr, &v->last);
}

/* Is first..last exactly a prefix (first's host bits clear, last's set)? */
static int is_prefix(const struct nft_value *v)
{
	struct sp_addr first = v->addr, last;

	for (int b = first.prefix_len; b < sp_addr_bits(first.family); b++)
		first.bytes[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
	prefix_last(&v->addr, &last);
	return !memcmp(first.bytes, v->addr.bytes, sizeof(first.bytes)) &&
	       !memcmp(last.bytes, v->last.bytes, sizeof(last.bytes));
}

static int range_print(int family, const struct nft_value *v, char *buf, size_t sz)
{
	char a[INET6_ADDRSTRLEN], l[INET6_ADDRSTRLEN];

	inet_ntop(af_of(family), v->addr.bytes, a, sizeof(a));
	if (v->addr.prefix_len == sp_addr_bits(af_of(family)))
		return snprintf(buf, sz, "%s", a);
	if (is_prefix(v))
		return snprintf(buf, sz, "%s/%u", a, v->addr.prefix_len);
	inet_ntop(af_of(family), v->last.bytes, l, sizeof(l));
	return snprintf(buf, sz, "%s-%s", a, l);
}

static int range_parse(int family, const char *text, struct nft_value *v)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *sep;
	uint32_t plen;

	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	if ((sep = strchr(buf, '/'))) {
		*sep = '\0';
		if (addr_parse(family, buf, &v->addr) ||
		    number(sep + 1, 10, (unsigned long)sp_addr_bits(af_of(family)), &plen))
			return -EINVAL;
		v->addr.prefix_len = (uint8_t)plen;
		prefix_last(&v->addr, &v->last);
		return 0;
	}
	if ((sep = strchr(buf, '-'))) {
		*sep = '\0';
		if (addr_parse(family, sep + 1, &v->last))
			return -EINVAL;
	}
	if (addr_parse(family, buf, &v->addr))
		return -EINVAL;
	if (!sep)
		v->last = v->addr;
	v->addr.prefix_len = common_prefix(&v->addr, &v->last);
	return 0;
}

/* --- numbers -------------------------------------------------------------------- */

static void proto_encode(int family, const struct nft_value *v, uint8_t *out, uint8_t *end)
{
	(void)family;
	memset(out, 0, 4);
	out[0] = (uint8_t)v->num;
	if (end)
		memcpy(end, out, 4);
}

static void proto_decode(int family, const uint8_t *b, const uint8_t *end, struct nft_value *v)
{
	(void)family, (void)end;
	v->num = b[0];
}

static const struct {
	const char *name;
	uint8_t proto;
} protos[] = {{"tcp", IPPROTO_TCP}, {"udp", IPPROTO_UDP}, {"sctp", IPPROTO_SCTP}};

static int proto_print(int family, const struct nft_value *v, char *buf, size_t sz)
{
	(void)family;
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (protos[i].proto == v->num)
			return snprintf(buf, sz, "%s", protos[i].name);
	return snprintf(buf, sz, "%u", v->num);
}

static int proto_parse(int family, const char *text, struct nft_value *v)
{
	(void)family;
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (!strcmp(protos[i].name, text)) {
			v->num = protos[i].proto;
			return 0;
		}
	return number(text, 10, 255, &v->num);
}

static void port_encode(int family, const struct nft_value *v, uint8_t *out, uint8_t *end)
{
	(void)family;
	memset(out, 0, 4);
	out[0] = (uint8_t)(v->num >> 8); /* network order */
	out[1] = (uint8_t)v->num;
	if (end)
		memcpy(end, out, 4);
}

static void port_decode(int family, const uint8_t *b, const uint8_t *end, struct nft_value *v)
{
	(void)family, (void)end;
	v->num = (uint32_t)(b[0] << 8 | b[1]);
}

static int num_print(int family, const struct nft_value *v, char *buf, size_t sz)
{
	(void)family;
	return snprintf(buf, sz, "%u", v->num);
}

static int port_parse(int family, const char *text, struct nft_value *v)
{
	(void)family;
	return number(text, 10, 65535, &v->num);
}

static void u32_encode(int family, const struct nft_value *v, uint8_t *out, uint8_t *end)
{
	(void)family;
	memcpy(out, &v->num, 4); /* numgen and ids are host order */
	if (end)
		memcpy(end, out, 4);
}

static void u32_decode(int family, const uint8_t *b, const uint8_t *end, struct nft_value *v)
{
	(void)family, (void)end;
	memcpy(&v->num, b, 4);
}

static int u32_parse(int family, const char *text, struct nft_value *v)
{
	(void)family;
	return number(text, 0, 0xffffffffUL, &v->num); /* nft prints 0x… for some types */
}

/* Datatype numbers: ipv4_addr 7, ipv6_addr 8, inet_proto 12, inet_service 13,
 * mark 19 (a host-order integer: numgen slots and ids). */
static const struct field_ops ops[] = {
    [F_ADDR] = {0, 0, addr_encode, addr_decode, addr_print, addr_field_parse},
    [F_PROTO] = {1, 12, proto_encode, proto_decode, proto_print, proto_parse},
    [F_PORT] = {2, 13, port_encode, port_decode, num_print, port_parse},
    [F_SLOT] = {4, 19, u32_encode, u32_decode, num_print, u32_parse},
    [F_ID] = {4, 19, u32_encode, u32_decode, num_print, u32_parse},
    [F_RANGE] = {0, 0, range_encode, range_decode, range_print, range_parse},
};

static const struct field_ops *ops_of(enum nft_field f)
{
	return f > 0 && (size_t)f < sizeof(ops) / sizeof(ops[0]) ? &ops[f] : &ops[F_ID];
}

uint32_t nft_field_bytes(enum nft_field f, int family)
{
	return ops_of(f)->bytes ?: alen_of(family);
}

uint32_t nft_field_len(enum nft_field f, int family)
{
	return (nft_field_bytes(f, family) + 3) & ~3u;
}

uint32_t nft_field_type(enum nft_field f, int family)
{
	return ops_of(f)->type ?: (family == NFPROTO_IPV6 ? 8 : 7);
}

uint32_t nft_field_encode(enum nft_field f, int family, const struct nft_value *v, uint8_t *out,
			  uint8_t *end)
{
	ops_of(f)->encode(family, v, out, end);
	return nft_field_len(f, family);
}

void nft_field_decode(enum nft_field f, int family, const uint8_t *b, const uint8_t *end,
		      struct nft_value *v)
{
	ops_of(f)->decode(family, b, end, v);
}

int nft_field_print(enum nft_field f, int family, const struct nft_value *v, char *buf, size_t sz)
{
	return ops_of(f)->print(family, v, buf, sz);
}

int nft_field_parse(enum nft_field f, int family, const char *text, struct nft_value *v)
{
	memset(v, 0, sizeof(*v));
	return ops_of(f)->parse(family, text, v);
}

/* --- concatenations ------------------------------------------------------------- */

const enum nft_field nft_endpoint_fields[3] = {F_ADDR, F_PORT, 0};

uint32_t nft_fields_len(const enum nft_field *fields, int family)
{
	uint32_t n = 0;

	for (int i = 0; i < 5 && fields[i]; i++)
		n += nft_field_len(fields[i], family);
	return n;
}

uint32_t nft_fields_encode(const enum nft_field *fields, int family, const struct nft_value *v,
			   uint8_t *out, uint8_t *end)
{
	uint32_t n = 0;

	for (int i = 0; i < 5 && fields[i]; i++)
		n += nft_field_encode(fields[i], family, &v[i], out + n, end ? end + n : NULL);
	return n;
}

int nft_fields_decode(const enum nft_field *fields, int family, const uint8_t *b,
		      const uint8_t *end, uint32_t len, struct nft_value *v)
{
	uint32_t n = 0;

	if (len != nft_fields_len(fields, family))
		return -EINVAL;
	for (int i = 0; i < 5 && fields[i]; i++) {
		memset(&v[i], 0, sizeof(v[i]));
		nft_field_decode(fields[i], family, b + n, end ? end + n : NULL, &v[i]);
		n += nft_field_len(fields[i], family);
	}
	return 0;
}

int nft_fields_print(const enum nft_field *fields, int family, const struct nft_value *v, char *buf,
		     size_t sz)
{
	size_t off = 0;

	if (sz)
		buf[0] = '\0';
	for (int i = 0; i < 5 && fields[i]; i++) {
		if (i)
			off += (size_t)snprintf(buf + (off < sz ? off : sz),
						off < sz ? sz - off : 0, " . ");
		off += (size_t)nft_field_print(
		    fields[i], family, &v[i], buf + (off < sz ? off : sz), off < sz ? sz - off : 0);
	}
	return (int)off;
}

/* --- verdicts ------------------------------------------------------------------- */

static const struct {
	const char *word;
	int code;
} verdicts[] = {{"goto", NFT_GOTO}, {"jump", NFT_JUMP}, {"drop", NF_DROP}, {"accept", NF_ACCEPT}};

int nft_verdict_from_elem(uint8_t elem_verdict)
{
	return elem_verdict == NFT_ELEM_GOTO ? NFT_GOTO : NF_DROP;
}

uint8_t nft_verdict_to_elem(int code)
{
	if (code == NFT_GOTO || code == NFT_JUMP)
		return NFT_ELEM_GOTO;
	return code == NF_DROP ? NFT_ELEM_DROP : 0;
}

int nft_verdict_has_chain(int code)
{
	return code == NFT_GOTO || code == NFT_JUMP;
}

int nft_verdict_print(int code, const char *chain, char *buf, size_t sz)
{
	for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++)
		if (verdicts[i].code == code)
			return nft_verdict_has_chain(code)
				   ? snprintf(buf, sz, "%s %s", verdicts[i].word,
					      chain ? chain : "?")
				   : snprintf(buf, sz, "%s", verdicts[i].word);
	return snprintf(buf, sz, "verdict %d", code);
}

int nft_verdict_parse(const char *word, int *code)
{
	for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++)
		if (!strcmp(verdicts[i].word, word)) {
			*code = verdicts[i].code;
			return 0;
		}
	return -EINVAL;
}
