/* nft_expr.h - builders for the few nf_tables expressions our rules use, over
 * libnftnl. Registers are the 32-bit ones (R(0) = NFT_REG32_00 ...); a value
 * of N bytes takes ceil(N/4) consecutive registers, so a concatenation is
 * loaded field after field and looked up from its first register. */
#ifndef SP_DATAPLANE_NFT_EXPR_H
#define SP_DATAPLANE_NFT_EXPR_H

#include <stdbool.h>
#include <stdint.h>

struct nftnl_rule;

#define R(n) (NFT_REG32_00 + (n))

enum nft_fib_dir { FIB_SADDR, FIB_DADDR };

/* A rule for @chain of table @table in family NFPROTO_IPV4/IPV6. NULL + errno. */
struct nftnl_rule *nft_rule_new(int family, const char *table, const char *chain);

/* Loads. Return the number of registers used. */
int nft_load_addr(struct nftnl_rule *r, int family, bool source, int reg);
int nft_load_l4proto(struct nftnl_rule *r, int reg);
int nft_load_dport(struct nftnl_rule *r, int reg);
int nft_load_numgen(struct nftnl_rule *r, int reg, uint32_t mod);
int nft_load_imm(struct nftnl_rule *r, int reg, const void *data, uint32_t len);

/* Comparisons of a register against constant bytes (@len bytes). */
void nft_cmp(struct nftnl_rule *r, int reg, bool eq, const void *data, uint32_t len);
/* reg & mask == value (@len bytes) ... as cmp @eq, on a loaded register. */
void nft_masked_cmp(struct nftnl_rule *r, int reg, uint32_t len, const void *mask,
		    const void *value, bool eq);
/* Match: source address inside @cidr (as 16 bytes + prefix length) or not. */
void nft_match_prefix(struct nftnl_rule *r, int family, bool source, const uint8_t *addr,
		      int plen, bool inside);

/* Set membership (@dreg < 0) or map lookup into @dreg (NFT_REG_VERDICT for a
 * vmap). @invert for "not in set". */
void nft_lookup(struct nftnl_rule *r, const char *set, int sreg, int dreg, bool invert);

void nft_verdict(struct nftnl_rule *r, int verdict, const char *chain);
void nft_counter(struct nftnl_rule *r);

/* fib saddr|daddr type == local */
void nft_fib_local(struct nftnl_rule *r, enum nft_fib_dir dir);
/* ct state has any of @bits (NF_CT_STATE_BIT(...)). */
void nft_ct_state(struct nftnl_rule *r, uint32_t bits);
/* ct status has dnat. */
void nft_ct_status_dnat(struct nftnl_rule *r);

/* meta mark |= @bit ; meta mark ^= @bit ; return if mark & @bit == 0 */
void nft_mark_or(struct nftnl_rule *r, uint32_t bit);
void nft_mark_xor(struct nftnl_rule *r, uint32_t bit);
void nft_mark_clear_test(struct nftnl_rule *r, uint32_t bit);

/* dnat to address in @addr_reg, port in @port_reg. */
void nft_dnat(struct nftnl_rule *r, int family, int addr_reg, int port_reg);
void nft_masquerade_fully_random(struct nftnl_rule *r);
/* reject: TCP reset, or ICMP(v6) port unreachable. */
void nft_reject_tcp_reset(struct nftnl_rule *r);
void nft_reject_icmp_port(struct nftnl_rule *r, int family);

/* dynset update: add or refresh key (@sreg_key) with data (@sreg_data, -1 for
 * none) in @set, with @timeout_ms. */
void nft_dynset_update(struct nftnl_rule *r, const char *set, int sreg_key, int sreg_data,
		       uint64_t timeout_ms);

/* dynset delete: remove key (@sreg_key) from @set (nothing if absent). A map's
 * dynset needs a data register even to delete; @sreg_data is not read. */
void nft_dynset_delete(struct nftnl_rule *r, const char *set, int sreg_key, int sreg_data);

/* Attach a comment (user data) to @r. */
void nft_rule_comment(struct nftnl_rule *r, const char *comment);

#endif
