/* ipt_nft_text.c - `nft list ruleset` of a node where kube-proxy ran in
 * iptables mode through iptables-nft: the KUBE-* chains of `table ip nat`
 * (and filter), as nft prints iptables-nft's rules, rewritten line for line
 * into the iptables-save text they came from and handed to that reader
 * (kp_iptables_save.c), so its findings name the dump's own lines. One family
 * at a time: kube-proxy names a service's chains alike in ip and ip6. */
#define _GNU_SOURCE	/* asprintf, open_memstream */
#include "inspect.h"
#include "../../common/nft_lex.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 128

/* One rule of the chain being read, kept until the chain ends (its
 * probability needs the count of endpoint jumps after it). */
struct iptr {
	unsigned line;
	char *text;		/* "-A CHAIN <matches>" */
	char *target;		/* " -j X ..." or "" */
	bool statistic;		/* an `xt match "statistic"` nft could not print */
	bool to_sep;		/* jumps to a KUBE-SEP- chain */
};

struct tr {
	FILE *f;
	unsigned emitted;	/* lines written to f */
	unsigned skipped, first_skipped;	/* lines outside any table (a prompt, prose) */
	const char *family;	/* "ip" or "ip6": the tables kept */
	char chain[64];
	struct iptr *rules;
	size_t n, cap;
	bool statistic, recent, xt_dnat, unnamed, oom;
};

/* Write @s as line @line of the output (blank lines before it as needed). */
static void emit(struct tr *t, unsigned line, const char *s)
{
	while (t->emitted + 1 < line) {
		fputc('\n', t->f);
		t->emitted++;
	}
	fprintf(t->f, "%s\n", s);
	t->emitted++;
}

static bool word(const struct sp_nft_tok *w, const char *s)
{
	return sp_nft_tok_is(w, s);
}

/* The rules kept for the chain, written out: a statistic match nft did not
 * print gets the probability kube-proxy gives the i-th of n endpoint jumps,
 * 1/(n-i) (iptables mode only ever splits evenly). */
static void flush_chain(struct tr *t)
{
	size_t n = 0, i = 0;

	for (size_t k = 0; k < t->n; k++)
		n += t->rules[k].to_sep;
	for (size_t k = 0; k < t->n; k++) {
		struct iptr *r = &t->rules[k];
		char stat[96] = "", *line;

		if (r->statistic && r->to_sep && n > i)
			snprintf(stat, sizeof(stat), " -m statistic --mode random --probability %.11f",
				 1.0 / (double)(n - i));
		i += r->to_sep;
		if (asprintf(&line, "%s%s%s", r->text, stat, r->target) < 0) {
			t->oom = true;
		} else {
			emit(t, r->line, line);
			free(line);
		}
		free(r->text);
		free(r->target);
	}
	t->n = 0;
}

/* Append printf text to *@s (a growing string). */
static void cat(struct tr *t, char **s, const char *fmt, const char *a, size_t alen)
{
	char *piece, *joined;

	if (asprintf(&piece, fmt, (int)alen, a) < 0) {
		t->oom = true;
		return;
	}
	if (asprintf(&joined, "%s%s", *s ? *s : "", piece) < 0)
		t->oom = true;
	else {
		free(*s);
		*s = joined;
	}
	free(piece);
}

static void lit(struct tr *t, char **s, const char *text)
{
	cat(t, s, "%.*s", text, strlen(text));
}

/* The right side of a match whose left words end before @w[*@i]: an
 * optional "!=" (or @neg, said before the left side), then the value,
 * written " [!] OPT VALUE". */
static void operand(struct tr *t, char **m, const struct sp_nft_tok *w, int n, int *i, bool neg,
		    const char *opt)
{
	if (*i < n && word(&w[*i], "!="))
		neg = true, ++*i;
	if (*i >= n)
		return;
	lit(t, m, neg ? " ! " : " ");
	lit(t, m, opt);
	cat(t, m, " %.*s", w[*i].p, w[*i].len);
}

/* nft built with xtables (1.0.6 here) does not print the comments of
 * iptables-nft's rules (their translation is kept aside and lost), so
 * kube-proxy's "ns/svc:port" is gone: a KUBE-SERVICES or KUBE-NODEPORTS rule
 * leading to a service's chain (KUBE-SVC-H, -SVL-, -EXT-, -FW-, -XLB-, one H
 * per service port) is named "chain/H" instead, with the kind its target
 * implies. */
static void name_rule(struct tr *t, char **m, const char *tg)
{
	static const char *const kinds[][2] = { { "SVC-", " cluster IP" }, { "SVL-", " cluster IP" },
						{ "EXT-", " external IP" }, { "XLB-", " external IP" },
						{ "FW-", " loadbalancer IP" } };
	bool svcs = !strcmp(t->chain, "KUBE-SERVICES");
	const char *j = strstr(tg, " -j KUBE-");

	if (!j || (!svcs && strcmp(t->chain, "KUBE-NODEPORTS")))
		return;
	j += 9;
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		size_t l = strlen(kinds[k][0]);
		char c[96];

		if (strncmp(j, kinds[k][0], l))
			continue;
		snprintf(c, sizeof(c), " -m comment --comment \"chain/%.40s%s\"", j + l, svcs ? kinds[k][1] : "");
		lit(t, m, c);
		t->unnamed = true;
		return;
	}
}

/* One rule line (@w, @n words) of chain t->chain, as iptables-save writes it. */
static void rule(struct tr *t, const struct sp_nft_tok *w, int n)
{
	char *m = NULL, *tg = NULL;
	bool neg = false, stat = false, named = false;
	struct iptr *r;

	lit(t, &m, "-A ");
	lit(t, &m, t->chain);
	for (int i = 0; i < n; i++) {
		const struct sp_nft_tok *a = i + 1 < n ? &w[i + 1] : &w[i];

		if (word(&w[i], "!=")) {
			neg = true;
			continue;
		}
		if (word(&w[i], "meta") && word(a, "l4proto") && i + 2 < n) {
			cat(t, &m, " -p %.*s", w[i + 2].p, w[i + 2].len);
			i += 2;
		} else if (word(&w[i], "meta") && word(a, "mark") && i + 2 < n && word(&w[i + 2], "set")) {
			lit(t, &tg, " -j MARK");	/* KUBE-MARK-MASQ's set mark */
			i = n;
		} else if (word(&w[i], "meta") && word(a, "random") && i + 5 < n && word(&w[i + 2], "&") &&
			   word(&w[i + 4], "<")) {
			/* libxt_statistic's translation: "meta random & 2147483647 < N",
			 * N = probability * 2^31 */
			char num[24];

			snprintf(num, sizeof(num), "%.*s", (int)(w[i + 5].len < 20 ? w[i + 5].len : 20), w[i + 5].p);
			snprintf(num, sizeof(num), "%.11f", strtod(num, NULL) / 2147483648.0);
			lit(t, &m, " -m statistic --mode random --probability ");
			lit(t, &m, num);
			i += 5;
		} else if ((word(&w[i], "meta") || word(&w[i], "mark")) && (word(&w[i], "mark") || word(a, "mark"))) {
			lit(t, &m, " -m mark");
			while (i + 1 < n && w[i + 1].kind == SP_NFT_WORD && !word(&w[i + 1], "counter") &&
			       !word(&w[i + 1], "return") && !word(&w[i + 1], "jump") && !word(&w[i + 1], "accept"))
				i++;
		} else if ((word(&w[i], "ip") || word(&w[i], "ip6")) && (word(a, "saddr") || word(a, "daddr"))) {
			bool d = word(a, "daddr");

			i += 2;
			operand(t, &m, w, n, &i, neg, d ? "-d" : "-s");
		} else if ((word(&w[i], "tcp") || word(&w[i], "udp") || word(&w[i], "sctp")) &&
			   (word(a, "dport") || word(a, "sport"))) {
			bool d = word(a, "dport");

			cat(t, &m, " -m %.*s", w[i].p, w[i].len);
			i += 2;
			operand(t, &m, w, n, &i, neg, d ? "--dport" : "--sport");
		} else if (word(&w[i], "fib") && i + 3 < n && word(&w[i + 2], "type")) {
			bool d = word(a, "daddr");

			i += 3;
			if (i < n && word(&w[i], "!="))
				neg = true, i++;
			if (i < n && word(&w[i], "local")) {
				lit(t, &m, neg ? " -m addrtype !" : " -m addrtype");
				lit(t, &m, d ? " --dst-type LOCAL" : " --src-type LOCAL");
			}
		} else if ((word(&w[i], "iifname") || word(&w[i], "oifname")) && i + 1 < n) {
			bool in = w[i].p[0] == 'i';

			i++;
			operand(t, &m, w, n, &i, neg, in ? "-i" : "-o");
		} else if (word(&w[i], "comment") && a->kind == SP_NFT_STRING) {
			cat(t, &m, " -m comment --comment \"%.*s\"", a->p, a->len);
			named = true;
			i++;
		} else if ((word(&w[i], "xt") && i + 2 < n) || (w[i].len > 3 && !memcmp(w[i].p, "xt_", 3))) {
			/* what nft cannot translate: `xt match "statistic"`, `xt
			 * match recent` (1.0.6), or `# xt_statistic` (older; its
			 * '#' taken off by the caller) */
			const struct sp_nft_tok *name = word(&w[i], "xt") ? &w[i + 2] : &w[i];
			const char *nm = name == &w[i] ? name->p + 3 : name->p;
			size_t nl = name == &w[i] ? name->len - 3 : name->len;
			bool target = word(&w[i], "xt") ? word(a, "target") : (nl && nm[0] >= 'A' && nm[0] <= 'Z');

			i += name == &w[i] ? 0 : 2;
			if (target) {
				cat(t, &tg, " -j %.*s", nm, nl);
				t->xt_dnat |= nl == 4 && !memcmp(nm, "DNAT", 4);
			} else if (nl == 9 && !memcmp(nm, "statistic", 9)) {
				stat = true;
			} else if (nl == 6 && !memcmp(nm, "recent", 6)) {
				t->recent = true;
				lit(t, &m, !strncmp(t->chain, "KUBE-SEP-", 9) ? " -m recent --set"
					   : " -m recent --rcheck --seconds 10800 --reap");
			} else {
				cat(t, &m, " -m %.*s", nm, nl);
			}
		} else if (word(&w[i], "jump") || word(&w[i], "goto")) {
			if (i + 1 < n)
				cat(t, &tg, word(&w[i], "jump") ? " -j %.*s" : " -g %.*s", a->p, a->len);
			i++;
		} else if (word(&w[i], "return") || word(&w[i], "drop") || word(&w[i], "accept") ||
			   word(&w[i], "reject") || word(&w[i], "masquerade")) {
			static const char *const up[] = { "RETURN", "DROP", "ACCEPT", "REJECT", "MASQUERADE" };
			int k = word(&w[i], "return") ? 0 : word(&w[i], "drop") ? 1 : word(&w[i], "accept") ? 2
				: word(&w[i], "reject") ? 3 : 4;

			lit(t, &tg, " -j ");
			lit(t, &tg, up[k]);
		} else if (word(&w[i], "dnat")) {
			int k = i + 1;

			if (k < n && (word(&w[k], "ip") || word(&w[k], "ip6")))
				k++;
			if (k + 1 < n && word(&w[k], "to")) {
				cat(t, &tg, " -j DNAT --to-destination %.*s", w[k + 1].p, w[k + 1].len);
				i = k + 1;
			}
		}
		neg = false;
	}
	if (!named && tg)
		name_rule(t, &m, tg);
	if (t->oom)
		goto out;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		struct iptr *v = realloc(t->rules, cap * sizeof(*v));

		if (!v) {
			t->oom = true;
			goto out;
		}
		t->rules = v;
		t->cap = cap;
	}
	r = &t->rules[t->n++];
	r->line = w[0].line;
	r->text = m;
	r->target = tg ? tg : strdup("");
	r->statistic = stat;
	r->to_sep = tg && strstr(tg, " KUBE-SEP-");
	t->statistic |= stat;
	if (!r->target)
		t->oom = true;
	return;
out:
	free(m);
	free(tg);
}

/* Rewrite @text (@len bytes, '#' before "xt_" already blanked) into
 * iptables-save text of @family's tables in *@out. Returns 0, -EINVAL with
 * "line N: ..." in @err, or -ENOMEM. */
static int translate(struct tr *t, const char *text, size_t len, bool cut, char **out, size_t *olen,
		     char *err, size_t errsz)
{
	struct sp_nft_lex lx;
	struct sp_nft_tok w[MAX_WORDS];
	int depth = 0, e = 0;
	bool ours = false;	/* inside a table of t->family */

	t->f = open_memstream(out, olen);
	if (!t->f)
		return -ENOMEM;
	sp_nft_lex_init(&lx, text, len);
	t->skipped = 0;
	for (;;) {
		int n = 0, opens = 0, closes = 0;
		enum sp_nft_tok_kind k;
		unsigned ln = 0;	/* the line's number */

		/* one line's words */
		while ((k = sp_nft_lex_next(&lx, &w[n])) != SP_NFT_NL && k != SP_NFT_END) {
			ln = ln ? ln : w[n].line;
			if (k == SP_NFT_ERROR) {
				snprintf(err, errsz, "line %u: %s", w[n].line, lx.what);
				e = -EINVAL;
				goto out;
			}
			opens += k == SP_NFT_LBRACE;
			closes += k == SP_NFT_RBRACE;
			if (k != SP_NFT_LBRACE && k != SP_NFT_RBRACE && k != SP_NFT_SEMI && n < MAX_WORDS - 1)
				n++;
		}
		if (depth == 0 && n && !word(&w[0], "table") && !t->skipped++)
			t->first_skipped = ln;
		if (depth == 0 && opens && n >= 3 && word(&w[0], "table")) {
			ours = word(&w[1], t->family);
			if (ours) {
				char head[80];

				snprintf(head, sizeof(head), "*%.*s", (int)(w[2].len < 60 ? w[2].len : 60), w[2].p);
				emit(t, w[0].line, head);
			}
		} else if (ours && depth == 1 && opens && n >= 2 && word(&w[0], "chain")) {
			char head[96];

			snprintf(t->chain, sizeof(t->chain), "%.*s", (int)w[1].len, w[1].p);
			snprintf(head, sizeof(head), ":%s - [0:0]", t->chain);
			emit(t, w[0].line, head);
		} else if (ours && depth == 2 && n && !opens && !word(&w[0], "type") && !word(&w[0], "policy")) {
			rule(t, w, n);
		}
		if (ours && depth == 2 && closes)
			flush_chain(t);
		depth += opens - closes;
		if (depth < 0)
			depth = 0;
		if (ours && depth == 0 && closes) {
			emit(t, ln, "COMMIT");
			ours = false;
		}
		if (k == SP_NFT_END)
			break;
	}
	flush_chain(t);
	if (ours && cut) {	/* the cut line, unterminated: the reader says "truncated" */
		unsigned last = 1;

		for (size_t i = 0; i < len; i++)
			last += text[i] == '\n';
		for (; t->emitted + 1 < last; t->emitted++)
			fputc('\n', t->f);
		fputs("-A CUT", t->f);
	}
	e = t->oom ? -ENOMEM : 0;
out:
	for (size_t i = 0; i < t->n; i++) {
		free(t->rules[i].text);
		free(t->rules[i].target);
	}
	t->n = 0;
	if (fclose(t->f) && !e)
		e = -ENOMEM;
	if (e) {
		free(*out);
		*out = NULL;
	}
	return e;
}

bool sp_inspect_kp_ipt_chain(const char *name, size_t len)
{
	static const char *const heads[] = { "KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-SVC-", "KUBE-SVL-",
					     "KUBE-SEP-", "KUBE-EXT-", "KUBE-FW-", "KUBE-XLB-" };

	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		if (len >= strlen(heads[i]) && !memcmp(name, heads[i], strlen(heads[i])))
			return true;
	return false;
}

/* Does @text hold one of kube-proxy's chains in a table of @family
 * ("table ip nat {" ... "chain KUBE-SERVICES {")? */
static bool has_kube_chains(const char *text, size_t len, const char *family)
{
	char head[16];
	const char *p = text, *end = text + len;
	bool in = false;

	snprintf(head, sizeof(head), "table %s ", family);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *s = p;

		nl = nl ? nl : end;
		while (s < nl && (*s == ' ' || *s == '\t'))
			s++;
		if ((size_t)(nl - s) > 6 && !memcmp(s, "table ", 6))
			in = (size_t)(nl - s) > strlen(head) && !memcmp(s, head, strlen(head));
		else if (in && (size_t)(nl - s) > 6 && !memcmp(s, "chain ", 6) &&
			 sp_inspect_kp_ipt_chain(s + 6, (size_t)(nl - s - 6)))
			return true;
		p = nl + 1;
	}
	return false;
}

bool sp_inspect_is_ipt_nft_text(const char *buf, size_t len)
{
	return has_kube_chains(buf, len, "ip") || has_kube_chains(buf, len, "ip6");
}

int sp_inspect_ipt_nft_text(const char *buf, size_t len, struct sp_inspect *in, char *err, size_t errsz)
{
	static const char *const fams[] = { "ip", "ip6" };
	struct tr t = {0};
	char *text;
	size_t tlen = len;
	bool cut = false, read = false;
	int e = 0;

	/* A last line without its newline is cut off mid-rule: not read (the
	 * iptables-save reader is told, and says "truncated"). */
	while (tlen && buf[tlen - 1] != '\n')
		tlen--;
	for (size_t i = tlen; i < len && !cut; i++)
		cut = !strchr(" \t\r}", buf[i]) || !buf[i];
	if (!cut)
		tlen = len;
	text = malloc(tlen + 1);
	if (!text)
		return -ENOMEM;
	memcpy(text, buf, tlen);
	text[tlen] = '\0';
	/* nft < 1.0.6 prints an xt match it cannot translate as "# xt_NAME",
	 * which would hide the rest of the rule as a comment */
	for (char *x = text; (x = strstr(x, "# xt_")); x++)
		if (x > text && x[-1] != '\n')
			*x = ' ';
	for (int f = 0; f < 2 && !e; f++) {
		char *out = NULL;
		size_t olen = 0;

		if (!has_kube_chains(text, tlen, fams[f]))
			continue;
		t.family = fams[f];
		if ((e = translate(&t, text, tlen, cut, &out, &olen, err, errsz)))
			break;
		e = sp_inspect_kp_iptables_save(out, olen, in, err, errsz);
		free(out);
		read = true;
	}
	free(t.rules);
	free(text);
	if (e)
		return e;
	if (!read) {
		snprintf(err, errsz, "no KUBE-* chains in an ip or ip6 table");
		return -EINVAL;
	}
	in->format = "nft list ruleset (iptables-nft tables: kube-proxy iptables mode)";
	if (t.skipped)
		sp_inspect_note(in, "%u line(s) that are not rule text skipped (a prompt, a command, "
				"prose), the first at line %u", t.skipped, t.first_skipped);
	if (t.statistic)
		sp_inspect_note(in, "nft does not print the statistic match's probability: endpoint "
				"shares are taken as kube-proxy writes them (even)");
	if (t.unnamed)
		sp_inspect_note(in, "nft did not print the rules' comments (\"ns/svc:port\"; nft "
				"built with xtables drops those of iptables-nft): services are named chain/HASH "
				"after their KUBE-SVC-/KUBE-EXT- chains, and the filter table's "
				"no-endpoint rules are not tied to them; `iptables-save` names them");
	if (t.recent)
		sp_inspect_note(in, "nft does not print the recent match: session affinity's timeout "
				"is taken as kube-proxy's default (10800 s)");
	if (t.xt_dnat)
		sp_inspect_note(in, "nft printed DNAT as an xt target without its address: endpoints "
				"are named only where the service chain's comments name them "
				"(`iptables-save` shows them all)");
	return 0;
}
