/* kp_nft_text.c - kube-proxy's tables in `nft list ruleset` text (tokens from
 * common/nft_lex.c), rewritten as the `nft -j` objects kp_nft_json.c reads
 * (only what it reads: the table, its sets' timeouts, the four dispatch maps'
 * elements, chains and their rules' matches, jumps, gotos, numgen vmaps and
 * dnats), then handed to that reader. A dump of 10k services is read in a
 * second, where loading it with nft -f takes a minute. Other tables are
 * skipped. */
#include "inspect.h"
#include "../../common/nft_lex.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* JSON text being written. */
struct out {
	char *buf;
	size_t len, cap;
	bool oom;
};

struct rd {
	struct sp_nft_lex lx;
	struct sp_nft_tok cur;
	int depth;		/* braces open inside a rule (newlines are spaces there) */
	struct out o;
	const char *family;	/* "ip" / "ip6" of the kube-proxy table being read */
	char *err;
	size_t errsz;
	bool failed;
	/* The dump ends inside a block (cut off, or one table pasted without
	 * its end): what was read is kept, the rest is not known. */
	bool unclosed;
	bool cut_marks;		/* "...", "…" or "--" lines: an excerpt */
	/* First line of a kube-proxy chain (KUBE-SERVICES, KUBE-SVC-, ...) in
	 * another table: iptables-nft's (kube-proxy's iptables mode), read by
	 * ipt_nft_text.c, not here. */
	unsigned iptnft;
};

/* What the text reader saw besides rules, for the notes. */
struct shape {
	unsigned lines;		/* lines in the dump */
	bool cut_line;		/* the last line is cut off mid-rule (dropped) */
	bool unclosed, cut_marks;
	unsigned iptnft;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->oom)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 1 << 16;
		char *b;

		while (cap < o->len + n + 1)
			cap *= 2;
		if (!(b = realloc(o->buf, cap))) {
			o->oom = true;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* A JSON string of @n bytes at @s. */
static void put_str(struct out *o, const char *s, size_t n)
{
	put(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(o, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(o, esc, 6);
		} else {
			put(o, (const char *)&s[i], 1);
		}
	}
	put(o, "\"", 1);
}

/* A value as nft -j writes it: a number when it is all digits, else a string. */
static void put_value(struct out *o, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && isdigit((unsigned char)s[i]))
		i++;
	if (n && i == n && n < 12)
		put(o, s, n);
	else
		put_str(o, s, n);
}

static void fail(struct rd *r, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct rd *r, unsigned line, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	if (r->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(r->err, r->errsz, "line %u: %s", line, msg);
	r->failed = true;
}

/* --- tokens ------------------------------------------------------------------ */

/* The next token; inside braces that span lines, newlines are blanks. A
 * lexing error fails the read and reads as the end. */
static void next(struct rd *r)
{
	do
		sp_nft_lex_next(&r->lx, &r->cur);
	while (r->cur.kind == SP_NFT_NL && r->depth > 0);
	if (r->cur.kind == SP_NFT_ERROR) {
		fail(r, r->cur.line, "%s", r->lx.what);
		r->cur.kind = SP_NFT_END;
	}
}

static bool is(const struct sp_nft_tok *t, const char *w)
{
	return sp_nft_tok_is(t, w);
}

/* A word, or the lone "." and ":" that nft writes between words. */
static bool wordish(const struct sp_nft_tok *t)
{
	return t->kind == SP_NFT_WORD || t->kind == SP_NFT_DOT || t->kind == SP_NFT_COLON;
}

/* Is the dump done inside a block? Then it is marked unclosed (not an
 * error: what was read stays). */
static bool ended(struct rd *r)
{
	if (r->cur.kind != SP_NFT_END)
		return false;
	r->unclosed = true;
	return true;
}

/* Skip to the end of the line (or of the block the line opens). */
static void skip_line(struct rd *r)
{
	int depth = 0;

	while (r->cur.kind != SP_NFT_END && !r->failed) {
		if (r->cur.kind == SP_NFT_LBRACE)
			depth++;
		else if (r->cur.kind == SP_NFT_RBRACE && depth-- == 0)
			return;	/* the enclosing block's end: not ours */
		else if (r->cur.kind == SP_NFT_NL && depth == 0)
			return;
		next(r);
	}
}

/* A line that is only "...", "…" or "--" (an excerpt's gap): skipped and
 * said. */
static bool cut_mark(struct rd *r)
{
	if (!is(&r->cur, "...") && !is(&r->cur, "\xe2\x80\xa6") && !is(&r->cur, "--"))
		return false;
	r->cut_marks = true;
	skip_line(r);
	return true;
}

/* A block after its "{": skipped whole. */
static void skip_block(struct rd *r)
{
	bool chain = false;
	int depth = 1;

	while (depth && !r->failed) {
		next(r);
		if (ended(r))
			return;
		if (chain && !r->iptnft && r->cur.kind == SP_NFT_WORD &&
		    sp_inspect_kp_ipt_chain(r->cur.p, r->cur.len))
			r->iptnft = r->cur.line;
		chain = is(&r->cur, "chain");
		if (r->cur.kind == SP_NFT_LBRACE)
			depth++;
		else if (r->cur.kind == SP_NFT_RBRACE)
			depth--;
	}
	next(r);
}

static void expect(struct rd *r, enum sp_nft_tok_kind k, const char *what)
{
	if (r->cur.kind != k)
		fail(r, r->cur.line, "expected %s", what);
	else
		next(r);
}

/* --- objects -------------------------------------------------------------------- */

/* ',{"KIND":{"family":F,"table":"kube-proxy","KEY":NAME' (left open). */
static void obj_head(struct rd *r, const char *kind, const char *key, const struct sp_nft_tok *name)
{
	if (r->o.len > 1)
		puts_(&r->o, ",");
	puts_(&r->o, "{\"");
	puts_(&r->o, kind);
	puts_(&r->o, "\":{\"family\":\"");
	puts_(&r->o, r->family);
	puts_(&r->o, "\",\"table\":\"kube-proxy\",\"");
	puts_(&r->o, key);
	puts_(&r->o, "\":");
	put_str(&r->o, name->p, name->len);
}

/* "3h", "10800s", "1d2h3m4s", "500ms": seconds. */
static double duration(const struct sp_nft_tok *t)
{
	double total = 0, v = 0;
	size_t i = 0;

	while (i < t->len) {
		const char *u;

		if (!isdigit((unsigned char)t->p[i]))
			return -1;
		v = 0;
		while (i < t->len && isdigit((unsigned char)t->p[i]))
			v = v * 10 + (t->p[i++] - '0');
		u = t->p + i;
		if (i + 1 < t->len + 1 && t->len - i >= 2 && !memcmp(u, "ms", 2))
			total += v / 1000, i += 2;
		else if (i < t->len && *u == 'd')
			total += v * 86400, i++;
		else if (i < t->len && *u == 'h')
			total += v * 3600, i++;
		else if (i < t->len && *u == 'm')
			total += v * 60, i++;
		else if (i < t->len && *u == 's')
			total += v, i++;
		else
			return i == t->len ? total + v : -1;
	}
	return total;
}

/* "goto X" / "jump X" at the current token: written as nft -j's verdict.
 * Returns false (nothing consumed) for anything else. */
static bool put_verdict(struct rd *r)
{
	const struct sp_nft_tok *t = &r->cur;
	bool g = is(t, "goto");

	if (!g && !is(t, "jump"))
		return false;
	next(r);
	puts_(&r->o, g ? "{\"goto\":{\"target\":" : "{\"jump\":{\"target\":");
	put_str(&r->o, t->p, t->len);
	puts_(&r->o, "}}");
	next(r);
	return true;
}

/* One element "k1 . k2 [comment \"c\"] [: verdict | data]" up to "," or "}". */
static void element(struct rd *r, bool verdict_map)
{
	const struct sp_nft_tok *t = &r->cur;
	struct sp_nft_tok comment = { .kind = SP_NFT_END };
	int nkey = 0;

	puts_(&r->o, "[");
	/* the key, written once the comment is known */
	{
		size_t mark = r->o.len;
		struct out key = {0};

		while (wordish(t) && t->kind != SP_NFT_COLON && !is(t, "comment") && !is(t, "timeout") &&
		       !is(t, "expires")) {
			if (t->kind != SP_NFT_DOT) {
				if (nkey++)
					puts_(&key, ",");
				put_value(&key, t->p, t->len);
			}
			next(r);
		}
		while (t->kind == SP_NFT_WORD && (is(t, "comment") || is(t, "timeout") || is(t, "expires"))) {
			bool c = is(t, "comment");

			next(r);
			if (c && t->kind == SP_NFT_STRING)
				comment = *t;
			next(r);
		}
		r->o.len = mark;
		if (comment.kind == SP_NFT_STRING)
			puts_(&r->o, "{\"elem\":{\"val\":");
		if (nkey > 1)
			puts_(&r->o, "{\"concat\":[");
		put(&r->o, key.buf ? key.buf : "\"\"", key.buf ? key.len : 2);
		if (nkey > 1)
			puts_(&r->o, "]}");
		if (comment.kind == SP_NFT_STRING) {
			puts_(&r->o, ",\"comment\":");
			put_str(&r->o, comment.p, comment.len);
			puts_(&r->o, "}}");
		}
		free(key.buf);
		if (key.oom)
			r->o.oom = true;
	}
	puts_(&r->o, ",");
	if (t->kind == SP_NFT_COLON) {
		next(r);
		if (verdict_map && put_verdict(r)) {
			;
		} else if (wordish(t)) {
			puts_(&r->o, "{");
			put_str(&r->o, t->p, t->len);
			puts_(&r->o, ":null}");
			next(r);
		}
	} else {
		puts_(&r->o, "null");
	}
	puts_(&r->o, "]");
	while (wordish(t))	/* anything else in the element */
		next(r);
}

/* "set NAME {" or "map NAME {" body. Maps keep their elements; sets their timeout. */
static void set_block(struct rd *r, bool map)
{
	struct sp_nft_tok name = r->cur;
	const struct sp_nft_tok *t = &r->cur;
	double timeout = -1;
	bool dispatch = false, any = false;
	static const char *const kept[] = { "service-ips", "service-nodeports", "no-endpoint-services",
					    "no-endpoint-nodeports" };

	if (!wordish(&name)) {
		fail(r, name.line, "expected a name after %s", map ? "map" : "set");
		return;
	}
	next(r);
	expect(r, SP_NFT_LBRACE, "{ after the set's name");
	for (size_t i = 0; map && i < sizeof(kept) / sizeof(kept[0]); i++)
		if (name.len == strlen(kept[i]) && !memcmp(name.p, kept[i], name.len))
			dispatch = true;
	obj_head(r, map ? "map" : "set", "name", &name);
	while (!r->failed && t->kind != SP_NFT_RBRACE) {
		if (ended(r))
			break;
		if (is(t, "timeout")) {
			next(r);
			timeout = duration(t);
			skip_line(r);
		} else if (is(t, "elements") && dispatch) {
			next(r);
			if (!is(t, "="))
				fail(r, t->line, "expected = after elements");
			next(r);
			r->depth++;
			expect(r, SP_NFT_LBRACE, "{ after elements =");
			puts_(&r->o, ",\"elem\":[");
			while (!r->failed && t->kind != SP_NFT_RBRACE && t->kind != SP_NFT_END) {
				if (any)
					puts_(&r->o, ",");
				any = true;
				element(r, true);
				if (t->kind == SP_NFT_COMMA)
					next(r);
				else if (t->kind != SP_NFT_RBRACE)
					fail(r, t->line, "expected , or } in the elements of %.*s", (int)name.len, name.p);
			}
			r->depth--;
			if (!ended(r))
				expect(r, SP_NFT_RBRACE, "} closing the elements");
			puts_(&r->o, "]");
		} else {
			bool elements = is(t, "elements");

			if (elements)
				r->depth++;	/* big element lists span lines */
			skip_line(r);
			if (elements)
				r->depth--;
		}
		if (t->kind == SP_NFT_NL || t->kind == SP_NFT_SEMI)
			next(r);
	}
	if (timeout >= 0) {
		char b[48];

		snprintf(b, sizeof(b), ",\"timeout\":%.0f", timeout);
		puts_(&r->o, b);
	}
	puts_(&r->o, "}}");
	next(r);
}

/* --- rules ---------------------------------------------------------------------- */

/* Words that start a match's left side ("ip daddr", "meta l4proto", ...). */
static bool selector(const struct sp_nft_tok *t)
{
	static const char *const w[] = { "ip", "ip6", "tcp", "udp", "sctp", "th", "meta", "fib", "ct", "iif",
					 "oif", "iifname", "oifname", "ether", "icmp", "icmpv6", "numgen",
					 "udplite", "dccp", "rt", "socket", "mark", "l4proto" };

	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (is(t, w[i]))
			return true;
	return false;
}

static void put_expr_sep(struct rd *r, int *n)
{
	if ((*n)++)
		puts_(&r->o, ",");
}

/* "{ 0 : goto a, 1 : goto b }" after vmap, or "{ 0 : 10.0.0.1 . 80, ... }"
 * after map: the anonymous set as [[k, v], ...]. */
static void anon_map(struct rd *r, bool verdicts)
{
	const struct sp_nft_tok *t = &r->cur;
	bool any = false;

	r->depth++;
	expect(r, SP_NFT_LBRACE, "{ opening an anonymous map");
	puts_(&r->o, "[");
	while (!r->failed && t->kind != SP_NFT_RBRACE && t->kind != SP_NFT_END) {
		int n = 0;

		if (any)
			puts_(&r->o, ",");
		any = true;
		puts_(&r->o, "[");
		if (wordish(t))
			put_value(&r->o, t->p, t->len);
		next(r);
		if (t->kind != SP_NFT_COLON)
			fail(r, t->line, "expected : in an anonymous map");
		next(r);
		puts_(&r->o, ",");
		if (verdicts && put_verdict(r)) {
			;
		} else {
			puts_(&r->o, "{\"concat\":[");
			while (wordish(t)) {
				if (t->kind != SP_NFT_DOT) {
					if (n++)
						puts_(&r->o, ",");
					put_value(&r->o, t->p, t->len);
				}
				next(r);
			}
			puts_(&r->o, "]}");
		}
		puts_(&r->o, "]");
		if (t->kind == SP_NFT_COMMA)
			next(r);
	}
	r->depth--;
	if (!ended(r))
		expect(r, SP_NFT_RBRACE, "} closing an anonymous map");
	puts_(&r->o, "]");
}

/* "numgen random mod N": the numgen expression; the current token is "numgen". */
static void numgen(struct rd *r)
{
	const struct sp_nft_tok *t = &r->cur;
	char b[64];
	long mod = 0;

	next(r);		/* random / inc */
	if (wordish(t))
		next(r);
	if (is(t, "mod")) {
		next(r);
		if (wordish(t))
			mod = strtol(t->p, NULL, 10);
		next(r);
	}
	snprintf(b, sizeof(b), "{\"numgen\":{\"mode\":\"random\",\"mod\":%ld}}", mod);
	puts_(&r->o, b);
}

/* "dnat [ip|ip6] to ADDR:PORT", "to [V6]:PORT", or "to numgen ... map { ... }". */
static void dnat(struct rd *r)
{
	const struct sp_nft_tok *t = &r->cur;

	next(r);
	if (is(t, "ip") || is(t, "ip6"))
		next(r);
	if (!is(t, "to")) {
		fail(r, t->line, "expected to after dnat");
		return;
	}
	next(r);
	if (is(t, "numgen")) {
		puts_(&r->o, "{\"dnat\":{\"addr\":{\"map\":{\"key\":");
		numgen(r);
		if (!is(t, "map"))
			fail(r, t->line, "expected map after dnat to numgen");
		next(r);
		puts_(&r->o, ",\"data\":{\"set\":");
		anon_map(r, false);
		puts_(&r->o, "}}}}}");
		return;
	}
	if (!wordish(t)) {
		fail(r, t->line, "expected an address after dnat to");
		return;
	}
	{
		const char *p = t->p, *end = t->p + t->len, *colon = NULL, *a = p, *ae;

		if (*p == '[') {	/* [v6]:port */
			const char *close = memchr(p, ']', t->len);

			a = p + 1;
			ae = close ? close : end;
			colon = close && close + 1 < end && close[1] == ':' ? close + 1 : NULL;
		} else {
			colon = memchr(p, ':', t->len);
			if (colon && memchr(colon + 1, ':', (size_t)(end - colon - 1)))
				colon = NULL;	/* a bare IPv6 address */
			ae = colon ? colon : end;
		}
		puts_(&r->o, "{\"dnat\":{\"addr\":");
		put_str(&r->o, a, (size_t)(ae - a));
		if (colon) {
			puts_(&r->o, ",\"port\":");
			put_value(&r->o, colon + 1, (size_t)(end - colon - 1));
		}
		puts_(&r->o, "}}");
		next(r);
	}
}

/* A match: left words up to an optional operator and one right-hand value.
 * Writes {"match": {"op", "left", "right"}} with a prefix right side as
 * {"prefix": {"addr", "len"}} and "@set" kept as a string. */
static void match(struct rd *r)
{
	const struct sp_nft_tok *t = &r->cur;
	struct sp_nft_tok right = { .kind = SP_NFT_END };
	char left[128] = "";
	const char *op = "==";
	size_t ll = 0;

	while (wordish(t) && !r->failed) {
		if (is(t, "!=") || is(t, "==") || is(t, "<") || is(t, ">") || is(t, "<=") || is(t, ">=")) {
			op = is(t, "!=") ? "!=" : "==";
			next(r);
			continue;
		}
		if (is(t, "vmap") || is(t, "jump") || is(t, "goto") || is(t, "dnat") || is(t, "comment") ||
		    is(t, "update") || is(t, "counter") || is(t, "accept") || is(t, "drop") ||
		    is(t, "return") || is(t, "reject") || is(t, "masquerade") || is(t, "set") ||
		    is(t, "log") || is(t, "snat") || is(t, "map"))
			break;
		if (wordish(&right) && selector(t))
			break;	/* the next match starts */
		if (wordish(&right) && ll + right.len + 2 < sizeof(left)) {
			memcpy(left + ll, right.p, right.len);	/* that word was part of the left side */
			ll += right.len;
			left[ll++] = ' ';
			left[ll] = '\0';
		}
		right = *t;
		next(r);
	}
	if (t->kind == SP_NFT_LBRACE) {	/* an anonymous set "{ a, b }": one value is enough here */
		right.kind = SP_NFT_END;
		skip_block(r);
	}
	puts_(&r->o, "{\"match\":{\"op\":\"");
	puts_(&r->o, op);
	puts_(&r->o, "\",\"left\":");
	put_str(&r->o, left, ll ? ll - 1 : 0);
	puts_(&r->o, ",\"right\":");
	if (!wordish(&right)) {
		puts_(&r->o, "null");
	} else {
		const char *slash = memchr(right.p, '/', right.len);

		if (slash && right.p[0] != '@') {
			puts_(&r->o, "{\"prefix\":{\"addr\":");
			put_str(&r->o, right.p, (size_t)(slash - right.p));
			puts_(&r->o, ",\"len\":");
			put_value(&r->o, slash + 1, (size_t)(right.p + right.len - slash - 1));
			puts_(&r->o, "}}");
		} else {
			put_value(&r->o, right.p, right.len);
		}
	}
	puts_(&r->o, "}}");
}

/* One rule, to the end of its line, as {"rule": {..., "expr": [...]}}. */
static void rule(struct rd *r, const struct sp_nft_tok *chain)
{
	const struct sp_nft_tok *t = &r->cur;
	int n = 0;

	obj_head(r, "rule", "chain", chain);
	puts_(&r->o, ",\"expr\":[");
	while (!r->failed && t->kind != SP_NFT_NL && t->kind != SP_NFT_RBRACE && t->kind != SP_NFT_END) {
		size_t at = r->lx.pos;

		if (!wordish(t)) {
			next(r);
			continue;
		}
		if (is(t, "jump") || is(t, "goto")) {
			put_expr_sep(r, &n);
			put_verdict(r);
		} else if (is(t, "numgen")) {
			put_expr_sep(r, &n);
			puts_(&r->o, "{\"vmap\":{\"key\":");
			numgen(r);
			if (is(t, "vmap")) {
				next(r);
				puts_(&r->o, ",\"data\":{\"set\":");
				anon_map(r, true);
				puts_(&r->o, "}");
			}
			puts_(&r->o, "}}");
		} else if (is(t, "dnat")) {
			put_expr_sep(r, &n);
			dnat(r);
		} else if (is(t, "comment")) {
			next(r);
			next(r);
		} else if (is(t, "update") || is(t, "add") || is(t, "delete")) {
			put_expr_sep(r, &n);
			puts_(&r->o, "{\"set\":null}");
			while (wordish(t))
				next(r);
			if (t->kind == SP_NFT_LBRACE)
				skip_block(r);
		} else if (is(t, "vmap")) {	/* a vmap on a concatenation: not followed here */
			put_expr_sep(r, &n);
			puts_(&r->o, "{\"vmap\":{\"key\":null}}");
			next(r);
			if (t->kind == SP_NFT_LBRACE)
				skip_block(r);
			else
				next(r);
		} else if (is(t, "accept") || is(t, "drop") || is(t, "return") || is(t, "reject") ||
			   is(t, "masquerade") || is(t, "counter") || is(t, "log") || is(t, "snat")) {
			put_expr_sep(r, &n);
			puts_(&r->o, "{");
			put_str(&r->o, t->p, t->len);
			puts_(&r->o, ":null}");
			next(r);
			while (wordish(t) && !selector(t) && !is(t, "jump") && !is(t, "goto") &&
			       !is(t, "comment"))
				next(r);	/* "reject with icmp type ...", "masquerade fully-random" */
		} else if (is(t, "meta") || is(t, "ct")) {
			/* "meta mark set ..." is a statement; "meta l4proto tcp" a match */
			struct sp_nft_lex save = r->lx;
			struct sp_nft_tok cur = r->cur;
			bool stmt = false;

			for (int i = 0; i < 3 && wordish(t); i++) {
				next(r);
				if (is(t, "set"))
					stmt = true;
			}
			r->lx = save;
			r->cur = cur;
			put_expr_sep(r, &n);
			if (stmt) {
				puts_(&r->o, "{\"mangle\":null}");
				while (wordish(t) && !is(t, "comment"))
					next(r);
			} else {
				match(r);
			}
		} else {
			put_expr_sep(r, &n);
			match(r);
		}
		if (r->lx.pos == at)	/* a word nothing above takes: step over it */
			next(r);
	}
	puts_(&r->o, "]}}");
}

/* "chain NAME {": header lines skipped, each other line a rule. */
static void chain_block(struct rd *r)
{
	struct sp_nft_tok name = r->cur;
	const struct sp_nft_tok *t = &r->cur;

	if (!wordish(&name)) {
		fail(r, name.line, "expected a name after chain");
		return;
	}
	next(r);
	expect(r, SP_NFT_LBRACE, "{ after the chain's name");
	obj_head(r, "chain", "name", &name);
	puts_(&r->o, "}}");
	while (!r->failed && t->kind != SP_NFT_RBRACE) {
		if (ended(r))
			break;
		if (t->kind == SP_NFT_NL || t->kind == SP_NFT_SEMI) {
			next(r);
		} else if (cut_mark(r)) {
			;
		} else if (is(t, "type") || is(t, "policy") || is(t, "comment") || is(t, "devices")) {
			skip_line(r);
		} else {
			rule(r, &name);
		}
	}
	next(r);
}

/* "table FAMILY NAME {": kube-proxy's tables are read, others skipped. */
static void table(struct rd *r)
{
	const struct sp_nft_tok *t = &r->cur;
	struct sp_nft_tok fam, name;
	bool ours;

	next(r);
	fam = *t;
	next(r);
	name = *t;
	next(r);
	if (!wordish(&fam) || !wordish(&name) || t->kind != SP_NFT_LBRACE) {
		fail(r, fam.line, "expected table FAMILY NAME {");
		return;
	}
	ours = (is(&fam, "ip") || is(&fam, "ip6")) && is(&name, "kube-proxy");
	if (!ours) {
		skip_block(r);
		return;
	}
	r->family = is(&fam, "ip") ? "ip" : "ip6";
	next(r);
	if (r->o.len > 1)
		puts_(&r->o, ",");
	puts_(&r->o, "{\"table\":{\"family\":\"");
	puts_(&r->o, r->family);
	puts_(&r->o, "\",\"name\":\"kube-proxy\"}}");
	while (!r->failed && t->kind != SP_NFT_RBRACE) {
		if (ended(r))
			break;
		if (t->kind == SP_NFT_NL || t->kind == SP_NFT_SEMI) {
			next(r);
		} else if (cut_mark(r)) {
			;
		} else if (is(t, "set") || is(t, "map")) {
			bool map = is(t, "map");

			next(r);
			set_block(r, map);
		} else if (is(t, "chain")) {
			next(r);
			chain_block(r);
		} else {	/* comment, flags, counters, flowtables, ... */
			while (t->kind != SP_NFT_NL && t->kind != SP_NFT_END && t->kind != SP_NFT_RBRACE && !r->failed) {
				if (t->kind == SP_NFT_LBRACE) {
					skip_block(r);
					break;
				}
				next(r);
			}
		}
	}
	next(r);
}

/* Is @s (@n bytes) blank but for one "}"? */
static bool closing_brace(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
		i++;
	if (i < n && s[i] == '}')
		i++;
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
		i++;
	return i == n;
}

/* Rewrite @len bytes of nft text into a new JSON document in *@json (free
 * it), with what else was seen in @sh. A last line without its newline is
 * taken as cut off mid-rule and dropped (a "}" is kept). Returns 0, -EINVAL
 * with "line N: what" in @err, or -ENOMEM. */
static int to_json(const char *buf, size_t len, char **json, size_t *jlen, struct shape *sh, char *err,
		   size_t errsz)
{
	struct rd r = { .err = err, .errsz = errsz };
	const struct sp_nft_tok *t = &r.cur;
	size_t whole = len;

	memset(sh, 0, sizeof(*sh));
	while (whole && buf[whole - 1] != '\n')
		whole--;
	for (size_t i = 0; i < len; i++)
		sh->lines += buf[i] == '\n';
	if (whole < len) {
		sh->lines++;
		if (!closing_brace(buf + whole, len - whole)) {
			sh->cut_line = true;
			len = whole;
		}
	}
	sp_nft_lex_init(&r.lx, buf, len);
	*json = NULL;
	puts_(&r.o, "{\"nftables\":[");
	next(&r);
	while (!r.failed && t->kind != SP_NFT_END) {
		if (t->kind == SP_NFT_NL || t->kind == SP_NFT_SEMI) {
			next(&r);
		} else if (is(t, "table")) {
			table(&r);
		} else {
			fail(&r, t->line, "expected table, found '%.*s'", (int)(t->len < 40 ? t->len : 40), t->p);
		}
	}
	puts_(&r.o, "]}");
	sh->unclosed = r.unclosed;
	sh->cut_marks = r.cut_marks;
	sh->iptnft = r.iptnft;
	if (r.o.oom || r.failed) {
		free(r.o.buf);
		return r.o.oom ? -ENOMEM : -EINVAL;
	}
	*json = r.o.buf;
	*jlen = r.o.len;
	return 0;
}

/* Notes on the shape of the dump, before the rules are read (so that
 * reach-based findings are held back for a partial one). */
static void say_shape(struct sp_inspect *in, const struct shape *sh)
{
	if (sh->cut_line || sh->unclosed) {
		in->partial = true;
		sp_inspect_note(in, "truncated at line %u (%s): what follows is not known", sh->lines,
				sh->cut_line ? "the last line is cut off" : "a table is not closed");
	}
	if (sh->cut_marks) {
		in->partial = true;
		sp_inspect_note(in, "partial dump ('--' or '...' lines: an excerpt): services are read "
				"from the rules there");
	}
}

int sp_inspect_kp_nft_text(const char *buf, size_t len, struct sp_inspect *in, char *err, size_t errsz)
{
	struct shape sh;
	char *json;
	size_t jlen;
	int e = to_json(buf, len, &json, &jlen, &sh, err, errsz);

	if (e)
		return e;
	say_shape(in, &sh);
	e = sp_inspect_kp_nft_json(json, jlen, in, err, errsz);
	free(json);
	in->format = "nft list ruleset (kube-proxy nftables mode)";
	if (e == -EINVAL && sh.iptnft) {
		/* Kube-proxy's iptables mode through iptables-nft: its own
		 * tool prints these rules in the form inspect reads. */
		snprintf(err, errsz, "line %u: iptables-nft's tables (kube-proxy's KUBE-* chains in "
			 "table ip/ip6 nat or filter: kube-proxy ran in iptables mode), not its nftables "
			 "mode; run `iptables-save` (or `iptables-nft-save`, and `ip6tables-save`) on "
			 "the node and inspect that", sh.iptnft);
	} else if (e == -EINVAL && (sh.cut_line || sh.unclosed)) {
		size_t l = strlen(err);

		snprintf(err + l, errsz - l, " (the dump is cut off at line %u)", sh.lines);
	} else if (!e && sh.iptnft) {
		sp_inspect_note(in, "line %u: iptables-nft's KUBE-* chains are in the dump too (not "
				"read: `iptables-save` shows them)", sh.iptnft);
	}
	return e;
}
