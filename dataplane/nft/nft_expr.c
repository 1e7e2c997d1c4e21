/* nft_expr.c - libnftnl expression builders (see nft_expr.h). */
#include "nft_expr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>

#ifndef NFT_REJECT_TCP_RST
#define NFT_REJECT_TCP_RST 1
#endif

static void add(struct nftnl_rule *r, struct nftnl_expr *e)
{
	/* An allocation failure leaves the rule short; nft_rule_* callers check
	 * nothing per expression, so the kernel refuses the shortened rule and the
	 * whole transaction fails cleanly. */
	if (e)
		nftnl_rule_add_expr(r, e);
}

struct nftnl_rule *nft_rule_new(int family, const char *table, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return NULL;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, (uint32_t)family);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	return r;
}

static int payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len, int reg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (!e)
		return 0;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, (uint32_t)reg);
	add(r, e);
	return (int)((len + 3) / 4);
}

int nft_load_addr(struct nftnl_rule *r, int family, bool source, int reg)
{
	if (family == NFPROTO_IPV6)
		return payload(r, NFT_PAYLOAD_NETWORK_HEADER, source ? 8 : 24, 16, reg);
	return payload(r, NFT_PAYLOAD_NETWORK_HEADER, source ? 12 : 16, 4, reg);
}

int nft_load_dport(struct nftnl_rule *r, int reg)
{
	return payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, reg);
}

static void meta(struct nftnl_rule *r, uint32_t key, int reg, bool set)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, set ? NFTNL_EXPR_META_SREG : NFTNL_EXPR_META_DREG, (uint32_t)reg);
	add(r, e);
}

int nft_load_l4proto(struct nftnl_rule *r, int reg)
{
	meta(r, NFT_META_L4PROTO, reg, false);
	return 1;
}

int nft_load_numgen(struct nftnl_rule *r, int reg, uint32_t mod)
{
	struct nftnl_expr *e = nftnl_expr_alloc("numgen");

	if (!e)
		return 1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_NG_DREG, (uint32_t)reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NG_MODULUS, mod);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM);
	add(r, e);
	return 1;
}

int nft_load_imm(struct nftnl_rule *r, int reg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (!e)
		return 0;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, (uint32_t)reg);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
	add(r, e);
	return (int)((len + 3) / 4);
}

void nft_cmp(struct nftnl_rule *r, int reg, bool eq, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, (uint32_t)reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, eq ? NFT_CMP_EQ : NFT_CMP_NEQ);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	add(r, e);
}

static void bitwise(struct nftnl_rule *r, int reg, uint32_t len, const void *mask, const void *xor)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, (uint32_t)reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, (uint32_t)reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xor, len);
	add(r, e);
}

void nft_masked_cmp(struct nftnl_rule *r, int reg, uint32_t len, const void *mask,
		    const void *value, bool eq)
{
	static const uint8_t zero[16];

	bitwise(r, reg, len, mask, zero);
	nft_cmp(r, reg, eq, value, len);
}

void nft_match_prefix(struct nftnl_rule *r, int family, bool source, const uint8_t *addr,
		      int plen, bool inside)
{
	uint8_t mask[16] = {0}, val[16];
	uint32_t len = family == NFPROTO_IPV6 ? 16 : 4;

	for (int i = 0; i < plen; i++)
		mask[i / 8] |= (uint8_t)(0x80u >> (i % 8));
	for (uint32_t i = 0; i < len; i++)
		val[i] = addr[i] & mask[i];
	nft_load_addr(r, family, source, R(0));
	nft_masked_cmp(r, R(0), len, mask, val, inside);
}

void nft_lookup(struct nftnl_rule *r, const char *set, int sreg, int dreg, bool invert)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (!e)
		return;
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, (uint32_t)sreg);
	if (dreg >= 0)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, (uint32_t)dreg);
	if (invert)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
	add(r, e);
}

void nft_verdict(struct nftnl_rule *r, int verdict, const char *chain)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	if (chain)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	add(r, e);
}

void nft_counter(struct nftnl_rule *r)
{
	add(r, nftnl_expr_alloc("counter"));
}

void nft_fib_local(struct nftnl_rule *r, enum nft_fib_dir dir)
{
	struct nftnl_expr *e = nftnl_expr_alloc("fib");
	uint32_t local = 2;	/* RTN_LOCAL */

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, dir == FIB_SADDR ? NFTA_FIB_F_SADDR
								  : NFTA_FIB_F_DADDR);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, R(0));
	add(r, e);
	nft_cmp(r, R(0), true, &local, sizeof(local));
}

static void ct_load(struct nftnl_rule *r, uint32_t key, int reg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("ct");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, (uint32_t)reg);
	add(r, e);
}

void nft_ct_state(struct nftnl_rule *r, uint32_t bits)
{
	uint32_t zero = 0;

	ct_load(r, NFT_CT_STATE, R(0));
	nft_masked_cmp(r, R(0), 4, &bits, &zero, false);
}

void nft_ct_status_dnat(struct nftnl_rule *r)
{
	uint32_t bit = 0x20, zero = 0;	/* IPS_DST_NAT */

	ct_load(r, NFT_CT_STATUS, R(0));
	nft_masked_cmp(r, R(0), 4, &bit, &zero, false);
}

void nft_mark_or(struct nftnl_rule *r, uint32_t bit)
{
	uint32_t mask = ~bit;

	meta(r, NFT_META_MARK, R(0), false);
	bitwise(r, R(0), 4, &mask, &bit);
	meta(r, NFT_META_MARK, R(0), true);
}

void nft_mark_xor(struct nftnl_rule *r, uint32_t bit)
{
	uint32_t mask = 0xffffffff;

	meta(r, NFT_META_MARK, R(0), false);
	bitwise(r, R(0), 4, &mask, &bit);
	meta(r, NFT_META_MARK, R(0), true);
}

void nft_mark_clear_test(struct nftnl_rule *r, uint32_t bit)
{
	uint32_t zero = 0;

	meta(r, NFT_META_MARK, R(0), false);
	nft_masked_cmp(r, R(0), 4, &bit, &zero, true);
}

void nft_dnat(struct nftnl_rule *r, int family, int addr_reg, int port_reg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("nat");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, (uint32_t)family);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, (uint32_t)addr_reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX, (uint32_t)addr_reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, (uint32_t)port_reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MAX, (uint32_t)port_reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED);
	add(r, e);
}

void nft_masquerade_fully_random(struct nftnl_rule *r)
{
	struct nftnl_expr *e = nftnl_expr_alloc("masq");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_MASQ_FLAGS, NF_NAT_RANGE_PROTO_RANDOM_FULLY);
	add(r, e);
}

void nft_reject_tcp_reset(struct nftnl_rule *r)
{
	struct nftnl_expr *e = nftnl_expr_alloc("reject");
	uint8_t tcp = IPPROTO_TCP;

	nft_load_l4proto(r, R(0));
	nft_cmp(r, R(0), true, &tcp, 1);
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_TCP_RST);
	nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, 0);
	add(r, e);
}

void nft_reject_icmp_port(struct nftnl_rule *r, int family)
{
	struct nftnl_expr *e = nftnl_expr_alloc("reject");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_ICMP_UNREACH);
	nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, family == NFPROTO_IPV6 ? ICMPV6_PORT_UNREACH
									  : ICMP_PORT_UNREACH);
	add(r, e);
}

void nft_dynset_update(struct nftnl_rule *r, const char *set, int sreg_key, int sreg_data,
		       uint64_t timeout_ms)
{
	struct nftnl_expr *e = nftnl_expr_alloc("dynset");

	if (!e)
		return;
	nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, set);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, (uint32_t)sreg_key);
	if (sreg_data >= 0)
		nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_DATA, (uint32_t)sreg_data);
	nftnl_expr_set_u64(e, NFTNL_EXPR_DYNSET_TIMEOUT, timeout_ms);
	add(r, e);
}

void nft_dynset_delete(struct nftnl_rule *r, const char *set, int sreg_key, int sreg_data)
{
	struct nftnl_expr *e = nftnl_expr_alloc("dynset");

	if (!e)
		return;
	nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, set);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_DELETE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, (uint32_t)sreg_key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_DATA, (uint32_t)sreg_data);
	add(r, e);
}

void nft_rule_comment(struct nftnl_rule *r, const char *comment)
{
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(256);

	if (!u)
		return;
	if (nftnl_udata_put_strz(u, NFTNL_UDATA_RULE_COMMENT, comment))
		nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u),
				    nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
}
