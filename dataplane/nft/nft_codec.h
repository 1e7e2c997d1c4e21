/* nft_codec.h - the one encoding of every set field svcplane writes: each key
 * field kind (address, l4proto, port, numgen slot, id, address range), the
 * endpoint data (address . port) and verdicts, as the kernel's bytes and as
 * `nft list ruleset` prints them. The renderer, the readback, the text reader
 * and the element describer all go through here; tests/unit/test_nft_codec.c
 * round-trips every kind without a kernel. */
#ifndef SP_DATAPLANE_NFT_CODEC_H
#define SP_DATAPLANE_NFT_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "../../common/addr.h"

/* Key and data field kinds, in concatenation order in a set's key. */
enum nft_field {
	F_ADDR = 1, /* ip/ip6 daddr: network order, 4 or 16 bytes */
	F_PROTO,    /* meta l4proto: one byte, padded to 4 */
	F_PORT,	    /* th dport: network order, 2 bytes padded to 4 */
	F_SLOT,	    /* numgen random: host-order u32 */
	F_ID,	    /* a port id: host-order u32 */
	F_RANGE,    /* an interval set's address: first address in the key, last
		     * in the key end; a prefix ("10.0.0.0/8") in text */
};

/* One field's value, whichever its kind. */
struct nft_value {
	struct sp_addr addr; /* F_ADDR; F_RANGE: first address, prefix_len its
			      * prefix length (the longest prefix of first..last) */
	struct sp_addr last; /* F_RANGE: last address */
	uint32_t num;	     /* F_PROTO (IPPROTO_*), F_PORT, F_SLOT, F_ID */
};

/* Bytes field @f takes in a key (padded to the kernel's 4-byte registers). */
uint32_t nft_field_len(enum nft_field f, int family);
/* Its exact width (a concatenated interval set's field description). */
uint32_t nft_field_bytes(enum nft_field f, int family);
/* nft's datatype number for it, so that `nft list` prints its type. */
uint32_t nft_field_type(enum nft_field f, int family);

/* @v as field @f into @out (nft_field_len bytes, padding zeroed); with @end
 * (interval sets) also the field's range end there: the last address for
 * F_RANGE, a copy of @out otherwise. Returns the bytes written. */
uint32_t nft_field_encode(enum nft_field f, int family, const struct nft_value *v, uint8_t *out,
			  uint8_t *end);
/* The kernel's bytes @b (and range end @end, F_RANGE only; NULL: a single
 * address) back into @v. */
void nft_field_decode(enum nft_field f, int family, const uint8_t *b, const uint8_t *end,
		      struct nft_value *v);
/* Text as nft prints it ("198.19.0.1", "tcp", "80", "0", "10.0.0.0/8").
 * Returns the length snprintf would write. */
int nft_field_print(enum nft_field f, int family, const struct nft_value *v, char *buf, size_t sz);
/* That text back (also "a-b" ranges, numeric protocols, 0x slots). 0 or -EINVAL. */
int nft_field_parse(enum nft_field f, int family, const char *text, struct nft_value *v);

/* A concatenation: @fields is 0-terminated (at most 5). */
uint32_t nft_fields_len(const enum nft_field *fields, int family);
/* One value per field, into @out (and @end, see nft_field_encode). Returns the length. */
uint32_t nft_fields_encode(const enum nft_field *fields, int family, const struct nft_value *v,
			   uint8_t *out, uint8_t *end);
/* @len bytes at @b (and @end) into one value per field. 0, or -EINVAL when
 * @len is not the concatenation's length in @family. */
int nft_fields_decode(const enum nft_field *fields, int family, const uint8_t *b,
		      const uint8_t *end, uint32_t len, struct nft_value *v);
/* "f1 . f2 . f3". Returns the length snprintf would write. */
int nft_fields_print(const enum nft_field *fields, int family, const struct nft_value *v, char *buf,
		     size_t sz);

/* The endpoint maps' data: address . port. */
extern const enum nft_field nft_endpoint_fields[3];

/* Verdicts of the vmaps: the kernel's codes (NFT_GOTO, NFT_JUMP, NF_DROP,
 * NF_ACCEPT) and the renderer's (NFT_ELEM_GOTO, NFT_ELEM_DROP, 0: none). */
int nft_verdict_from_elem(uint8_t elem_verdict);
uint8_t nft_verdict_to_elem(int code);
/* Does verdict @code name a chain (goto, jump)? */
int nft_verdict_has_chain(int code);
/* "goto dnat-n2", "drop". Returns the length snprintf would write. */
int nft_verdict_print(int code, const char *chain, char *buf, size_t sz);
/* Verdict keyword @word ("goto", "jump", "drop", "accept") into *@code. 0 or -EINVAL. */
int nft_verdict_parse(const char *word, int *code);

#endif
