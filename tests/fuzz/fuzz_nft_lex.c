/* fuzz_nft_lex.c - libFuzzer entry for the nft text lexer (common/nft_lex.c):
 * every token lies inside the input, in order, on a line that never goes
 * back, and ends the run at the end or an error. */
#include "../../common/nft_lex.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct sp_nft_lex lx;
	struct sp_nft_tok t;
	const char *prev_end = buf;
	unsigned line = 1;
	char word[64];

	sp_nft_lex_init(&lx, buf, size);
	do {
		sp_nft_lex_next(&lx, &t);
		if (t.start < prev_end || t.end < t.start || t.end > buf + size || t.p < t.start ||
		    t.p + t.len > t.end || t.line < line || t.len > SP_NFT_TOK_MAX)
			abort();
		if (t.kind == SP_NFT_STRING || t.kind == SP_NFT_WORD)
			if (sp_nft_tok_copy(&t, word, sizeof(word)) > t.len)
				abort();
		prev_end = t.end;
		line = t.line;
	} while (t.kind != SP_NFT_END && t.kind != SP_NFT_ERROR);
	return 0;
}
