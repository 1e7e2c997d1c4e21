/* nft_lex.h - the tokens of nft's `list ruleset` text, for every reader of such
 * dumps (kube-proxy's tables in tools/inspect/, svcplane's own in
 * dataplane/nft/): words, quoted strings, punctuation, newlines, with line
 * numbers. Tokens point into the input; nothing is copied or allocated. */
#ifndef SP_COMMON_NFT_LEX_H
#define SP_COMMON_NFT_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* The longest word or quoted string taken (nft's names and comments are at
 * most 256 bytes); a longer one is an error, not a truncation. */
#define SP_NFT_TOK_MAX 4096

enum sp_nft_tok_kind {
	SP_NFT_END,	/* the input is done */
	SP_NFT_ERROR,	/* broken input: the lexer's what says why; every later token is one too */
	SP_NFT_WORD,	/* bytes up to a blank or one of { } , ; " : ip, 10.0.0.1:80, @set, != */
	SP_NFT_STRING,	/* "...": the bytes between the quotes, escapes as written */
	SP_NFT_LBRACE,	/* { */
	SP_NFT_RBRACE,	/* } */
	SP_NFT_COMMA,	/* , */
	SP_NFT_SEMI,	/* ; */
	SP_NFT_COLON,	/* a lone ":" (key : data); inside a word (addr:port) it is the word's */
	SP_NFT_DOT,	/* a lone "." (concatenation); likewise */
	SP_NFT_NL,	/* end of a line (comments, "# ..." to the line's end, are skipped) */
};

struct sp_nft_tok {
	enum sp_nft_tok_kind kind;
	const char *p;		/* the text: the word, the string without quotes, the punctuation */
	size_t len;
	const char *start, *end;	/* the token as written (a string with its quotes) */
	unsigned line;		/* 1-based */
};

/* A position in the input; a plain value, so a copy is a saved position. */
struct sp_nft_lex {
	const char *buf;
	size_t len, pos;
	unsigned line;
	char what[48];		/* after SP_NFT_ERROR: what is wrong */
};

void sp_nft_lex_init(struct sp_nft_lex *lx, const char *buf, size_t len);

/* The next token into @t; returns its kind. A control byte (other than tab,
 * CR and newline; NUL and DEL included) anywhere, a string not closed on its
 * line, or a word or string over SP_NFT_TOK_MAX bytes is SP_NFT_ERROR, with
 * @t->line where it is. */
enum sp_nft_tok_kind sp_nft_lex_next(struct sp_nft_lex *lx, struct sp_nft_tok *t);

/* Is @t the word @w? Inline: readers ask it of every token, many times, and
 * with a literal @w the length folds away. */
static inline bool sp_nft_tok_is(const struct sp_nft_tok *t, const char *w)
{
	return t->kind == SP_NFT_WORD && t->len == strlen(w) && !memcmp(t->p, w, t->len);
}

/* @t's text into @buf as a C string, a string's escapes ("\x") decoded, cut
 * to @sz - 1 bytes. Returns the length the whole text needs (as snprintf). */
size_t sp_nft_tok_copy(const struct sp_nft_tok *t, char *buf, size_t sz);

#endif
