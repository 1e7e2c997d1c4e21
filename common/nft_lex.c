/* nft_lex.c - the tokens of nft's `list ruleset` text (see nft_lex.h). */
#include "nft_lex.h"

#include <stdio.h>
#include <string.h>

void sp_nft_lex_init(struct sp_nft_lex *lx, const char *buf, size_t len)
{
	memset(lx, 0, sizeof(*lx));
	lx->buf = buf;
	lx->len = len;
	lx->line = 1;
}

/* A byte no token may hold: the C0 controls but tab, CR and newline, and DEL. */
static bool control(unsigned char c)
{
	return (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f;
}

static bool word_byte(unsigned char c)
{
	return c > 0x20 && c != 0x7f && c != '{' && c != '}' && c != ',' && c != ';' && c != '"';
}

/* Make @t the error token (@what, with the offending @byte unless it is -1);
 * the lexer stops there, and later calls return it again. */
static enum sp_nft_tok_kind error(struct sp_nft_lex *lx, struct sp_nft_tok *t, const char *what,
				  int byte)
{
	if (byte >= 0)
		snprintf(lx->what, sizeof(lx->what), "%s 0x%02x", what, byte);
	else
		snprintf(lx->what, sizeof(lx->what), "%s", what);
	lx->pos = lx->len;
	t->kind = SP_NFT_ERROR;
	t->end = t->p;
	t->len = 0;
	return SP_NFT_ERROR;
}

/* A quoted string from the opening quote at lx->pos. */
static enum sp_nft_tok_kind string(struct sp_nft_lex *lx, struct sp_nft_tok *t)
{
	size_t i = lx->pos + 1;

	for (; i < lx->len && lx->buf[i] != '"' && lx->buf[i] != '\n'; i++) {
		/* an escaped quote or backslash; an escaped newline still ends the line */
		if (lx->buf[i] == '\\' && i + 1 < lx->len && lx->buf[i + 1] != '\n')
			i++;
		if (control((unsigned char)lx->buf[i]))
			return error(lx, t, "unexpected byte", (unsigned char)lx->buf[i]);
	}
	if (i >= lx->len || lx->buf[i] != '"')
		return error(lx, t, "a quoted string is not closed", -1);
	if (i - lx->pos - 1 > SP_NFT_TOK_MAX)
		return error(lx, t, "a quoted string is too long", -1);
	t->kind = SP_NFT_STRING;
	t->p = lx->buf + lx->pos + 1;
	t->len = i - lx->pos - 1;
	t->end = lx->buf + i + 1;
	lx->pos = i + 1;
	return t->kind;
}

/* A word from lx->pos, @t's start. */
static enum sp_nft_tok_kind word(struct sp_nft_lex *lx, struct sp_nft_tok *t)
{
	const char *b = lx->buf;
	size_t s;

	if (!word_byte((unsigned char)b[lx->pos]))
		return error(lx, t, "unexpected byte", (unsigned char)b[lx->pos]);
	s = lx->pos;
	while (lx->pos < lx->len && word_byte((unsigned char)b[lx->pos]))
		lx->pos++;
	if (lx->pos - s > SP_NFT_TOK_MAX)
		return error(lx, t, "a word is too long", -1);
	t->len = lx->pos - s;
	t->end = t->p + t->len;
	t->kind = SP_NFT_WORD;
	if (t->len == 1 && (*t->p == ':' || *t->p == '.'))
		t->kind = *t->p == ':' ? SP_NFT_COLON : SP_NFT_DOT;
	return t->kind;
}

enum sp_nft_tok_kind sp_nft_lex_next(struct sp_nft_lex *lx, struct sp_nft_tok *t)
{
	const char *b = lx->buf;

	for (;;) {
		while (lx->pos < lx->len &&
		       (b[lx->pos] == ' ' || b[lx->pos] == '\t' || b[lx->pos] == '\r'))
			lx->pos++;
		if (lx->pos >= lx->len || b[lx->pos] != '#')
			break;
		while (lx->pos < lx->len && b[lx->pos] != '\n') /* a comment, to the line's end */
			lx->pos++;
	}
	t->line = lx->line;
	t->p = t->start = b + lx->pos;
	t->len = 0;
	if (lx->what[0]) { /* an error before: it stands */
		t->end = t->p;
		return t->kind = SP_NFT_ERROR;
	}
	if (lx->pos >= lx->len) {
		t->end = t->p;
		return t->kind = SP_NFT_END;
	}
	switch (b[lx->pos]) {
	case '\n':
		t->kind = SP_NFT_NL;
		lx->line++;
		break;
	case '{':
		t->kind = SP_NFT_LBRACE;
		break;
	case '}':
		t->kind = SP_NFT_RBRACE;
		break;
	case ',':
		t->kind = SP_NFT_COMMA;
		break;
	case ';':
		t->kind = SP_NFT_SEMI;
		break;
	case '"':
		return string(lx, t);
	default:
		return word(lx, t);
	}
	t->len = 1;
	t->end = t->p + 1;
	lx->pos++;
	return t->kind;
}

size_t sp_nft_tok_copy(const struct sp_nft_tok *t, char *buf, size_t sz)
{
	size_t n = 0;

	for (size_t i = 0; i < t->len; i++, n++) {
		if (t->kind == SP_NFT_STRING && t->p[i] == '\\' && i + 1 < t->len)
			i++;
		if (n + 1 < sz)
			buf[n] = t->p[i];
	}
	if (sz)
		buf[n < sz ? n : sz - 1] = '\0';
	return n;
}
