/* test_nft_lex.c - the nft text lexer: tokens, quoted strings, line numbers,
 * broken input (an unclosed string, an overlong word, NUL and control bytes). */
#include "helpers.h"
#include "../../common/nft_lex.h"

#include <stdlib.h>
#include <string.h>

/* The tokens of @len bytes at @text as "KIND:text@line" joined by spaces,
 * up to and including the end or the first error (as "ERROR:what@line"). */
static char *tokens(const char *text, size_t len)
{
	static const char *const kinds[] = { "END", "ERROR", "W", "S", "{", "}", ",", ";", ":", ".", "NL" };
	struct sp_nft_lex lx;
	struct sp_nft_tok t;
	size_t cap = 4096, n = 0;
	char *out = calloc(1, cap);

	ck_assert_ptr_nonnull(out);
	sp_nft_lex_init(&lx, text, len);
	do {
		char one[256];

		sp_nft_lex_next(&lx, &t);
		if (t.kind == SP_NFT_WORD || t.kind == SP_NFT_STRING)
			snprintf(one, sizeof(one), "%s:%.*s@%u ", kinds[t.kind], (int)t.len, t.p, t.line);
		else if (t.kind == SP_NFT_ERROR)
			snprintf(one, sizeof(one), "ERROR:%s@%u", lx.what, t.line);
		else
			snprintf(one, sizeof(one), "%s@%u ", kinds[t.kind], t.line);
		ck_assert_uint_lt(n + strlen(one), cap);
		memcpy(out + n, one, strlen(one) + 1);
		n += strlen(one);
	} while (t.kind != SP_NFT_END && t.kind != SP_NFT_ERROR);
	return out;
}

static void assert_tokens(const char *text, const char *want)
{
	char *got = tokens(text, strlen(text));

	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(test_nft_lex_tokens)
{
	assert_tokens("table ip kube-proxy {\n\tmap m {\n\t\telements = { 1.2.3.4 . tcp . 80 : goto a, }\n",
		      "W:table@1 W:ip@1 W:kube-proxy@1 {@1 NL@1 W:map@2 W:m@2 {@2 NL@2 W:elements@3 W:=@3 {@3 "
		      "W:1.2.3.4@3 .@3 W:tcp@3 .@3 W:80@3 :@3 W:goto@3 W:a@3 ,@3 }@3 NL@3 END@4 ");
	/* punctuation inside a word is the word's: addr:port, [v6]:port, a prefix */
	assert_tokens("dnat to 10.0.0.1:80;[fd00::1]:443 @set != 10.0.0.0/8",
		      "W:dnat@1 W:to@1 W:10.0.0.1:80@1 ;@1 W:[fd00::1]:443@1 W:@set@1 W:!=@1 W:10.0.0.0/8@1 END@1 ");
	assert_tokens("", "END@1 ");
}
END_TEST

START_TEST(test_nft_lex_strings)
{
	struct sp_nft_lex lx;
	struct sp_nft_tok t;
	char buf[64];
	const char *text = "comment \"a \\\"b\\\" c\\\\d\"x";

	sp_nft_lex_init(&lx, text, strlen(text));
	ck_assert_int_eq(sp_nft_lex_next(&lx, &t), SP_NFT_WORD);
	ck_assert(sp_nft_tok_is(&t, "comment"));
	ck_assert_int_eq(sp_nft_lex_next(&lx, &t), SP_NFT_STRING);
	ck_assert_uint_eq(t.len, 12);			/* as written, between the quotes */
	ck_assert_ptr_eq(t.start, text + 8);		/* the opening quote */
	ck_assert_ptr_eq(t.end, text + 22);		/* past the closing one */
	ck_assert_uint_eq(sp_nft_tok_copy(&t, buf, sizeof(buf)), 9);
	ck_assert_str_eq(buf, "a \"b\" c\\d");
	ck_assert(!sp_nft_tok_is(&t, "a \"b\" c\\d"));	/* a string is not a word */
	ck_assert_uint_eq(sp_nft_tok_copy(&t, buf, 4), 9);	/* cut, as snprintf */
	ck_assert_str_eq(buf, "a \"");
	ck_assert_int_eq(sp_nft_lex_next(&lx, &t), SP_NFT_WORD);	/* a quote ends no word: x */
	assert_tokens("\"{ , ; # not a comment\" \"\"", "S:{ , ; # not a comment@1 S:@1 END@1 ");
}
END_TEST

START_TEST(test_nft_lex_line_numbers)
{
	/* comments to the line's end, blank lines, CRLF */
	assert_tokens("# a comment { \"\n\ntable x # trailing }\r\n  chain\n",
		      "NL@1 NL@2 W:table@3 W:x@3 NL@3 W:chain@4 NL@4 END@5 ");
	assert_tokens("a\n\n\nb \"s\" c", "W:a@1 NL@1 NL@2 NL@3 W:b@4 S:s@4 W:c@4 END@4 ");
}
END_TEST

START_TEST(test_nft_lex_broken)
{
	char *long_word = malloc(SP_NFT_TOK_MAX + 10), *got;

	ck_assert_ptr_nonnull(long_word);
	assert_tokens("a\n\"open\nb", "W:a@1 NL@1 ERROR:a quoted string is not closed@2");
	assert_tokens("x \"open \\\"", "W:x@1 ERROR:a quoted string is not closed@1");
	assert_tokens("a\nb\x02" "c", "W:a@1 NL@1 W:b@2 ERROR:unexpected byte 0x02@2");
	assert_tokens("\"in \x01 string\"", "ERROR:unexpected byte 0x01@1");
	assert_tokens("del\x7f", "W:del@1 ERROR:unexpected byte 0x7f@1");
	/* NUL bytes: inside the length, they are bytes like any other control */
	got = tokens("ok\n\0rest", 8);
	ck_assert_str_eq(got, "W:ok@1 NL@1 ERROR:unexpected byte 0x00@2");
	free(got);
	got = tokens("\"a\0b\"", 5);
	ck_assert_str_eq(got, "ERROR:unexpected byte 0x00@1");
	free(got);
	/* the longest word is taken, one byte more is an error */
	memset(long_word, 'w', SP_NFT_TOK_MAX + 1);
	got = tokens(long_word, SP_NFT_TOK_MAX);
	ck_assert_ptr_nonnull(strstr(got, "END@1"));
	free(got);
	got = tokens(long_word, SP_NFT_TOK_MAX + 1);
	ck_assert_str_eq(got, "ERROR:a word is too long@1");
	free(got);
	long_word[0] = '"';
	long_word[SP_NFT_TOK_MAX + 2] = '"';
	memset(long_word + SP_NFT_TOK_MAX, 'w', 2);
	got = tokens(long_word, SP_NFT_TOK_MAX + 3);
	ck_assert_str_eq(got, "ERROR:a quoted string is too long@1");
	free(got);
	free(long_word);
}
END_TEST

/* An error stands: every later call returns it, at its line. */
START_TEST(test_nft_lex_error_is_sticky)
{
	struct sp_nft_lex lx;
	struct sp_nft_tok t;
	const char *text = "a\n\x03 b\nc";

	sp_nft_lex_init(&lx, text, strlen(text));
	ck_assert_int_eq(sp_nft_lex_next(&lx, &t), SP_NFT_WORD);
	ck_assert_int_eq(sp_nft_lex_next(&lx, &t), SP_NFT_NL);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(sp_nft_lex_next(&lx, &t), SP_NFT_ERROR);
		ck_assert_uint_eq(t.line, 2);
		ck_assert_str_eq(lx.what, "unexpected byte 0x03");
	}
}
END_TEST

Suite *suite_nft_lex(void)
{
	Suite *s = suite_create("nft_lex");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_nft_lex_tokens);
	tcase_add_test(tc, test_nft_lex_strings);
	tcase_add_test(tc, test_nft_lex_line_numbers);
	tcase_add_test(tc, test_nft_lex_broken);
	tcase_add_test(tc, test_nft_lex_error_is_sticky);
	suite_add_tcase(s, tc);
	return s;
}
