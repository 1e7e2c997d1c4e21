/* duration.c - Go's time.ParseDuration, for flags and the kube-proxy config. */
#include "duration.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	uint64_t ns;
} units[] = {
	{ "ns", 1 },
	{ "us", 1000 },
	{ "\xc2\xb5s", 1000 },	/* U+00B5 micro sign */
	{ "\xce\xbcs", 1000 },	/* U+03BC Greek mu */
	{ "ms", 1000000 },
	{ "s", 1000000000ull },
	{ "m", 60ull * 1000000000ull },
	{ "h", 3600ull * 1000000000ull },
};

#define NS_MAX ((uint64_t)1 << 63)	/* |d| ≤ 2^63 (2^63 itself only negative) */

/* Digits at *@p into *@v; false on overflow of NS_MAX. Sets *@n to the count. */
static bool digits(const char **p, uint64_t *v, int *n)
{
	*v = 0;
	*n = 0;
	for (; **p >= '0' && **p <= '9'; (*p)++, (*n)++) {
		if (*v > NS_MAX / 10)
			return false;
		*v = *v * 10 + (uint64_t)(**p - '0');
		if (*v > NS_MAX)
			return false;
	}
	return true;
}

int sp_duration_parse_ns(const char *s, int64_t *ns)
{
	const char *p = s;
	uint64_t total = 0;
	bool neg = false;

	if (!s || !*s)
		return -EINVAL;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!strcmp(p, "0")) {
		*ns = 0;
		return 0;
	}
	if (!*p)
		return -EINVAL;
	while (*p) {
		uint64_t whole, frac = 0, unit = 0, add;
		double scale = 1;
		int nwhole, nfrac = 0;
		size_t ulen = 0;

		if (!(*p == '.' || (*p >= '0' && *p <= '9')))
			return -EINVAL;
		if (!digits(&p, &whole, &nwhole))
			return -ERANGE;
		if (*p == '.') {
			p++;
			/* Go keeps the fraction's leading digits while they fit. */
			for (; *p >= '0' && *p <= '9'; p++, nfrac++) {
				if (frac > (UINT64_MAX - 9) / 10)
					continue;
				frac = frac * 10 + (uint64_t)(*p - '0');
				scale *= 10;
			}
		}
		if (nwhole == 0 && nfrac == 0)
			return -EINVAL;	/* "." or ".s" */
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].name);
			const char *q = p + l;

			/* The unit is every non-digit, non-dot byte that follows. */
			if (!strncmp(p, units[i].name, l) && (!*q || *q == '.' || (*q >= '0' && *q <= '9')) &&
			    l > ulen) {
				unit = units[i].ns;
				ulen = l;
			}
		}
		if (!unit)
			return -EINVAL;	/* missing or unknown unit */
		p += ulen;
		if (whole > NS_MAX / unit)
			return -ERANGE;
		add = whole * unit;
		if (frac)
			add += (uint64_t)((double)frac * ((double)unit / scale));
		if (add > NS_MAX || total > NS_MAX - add)
			return -ERANGE;
		total += add;
	}
	if (total == NS_MAX && !neg)
		return -ERANGE;
	*ns = neg ? (int64_t)(0 - total) : (int64_t)total;
	return 0;
}

int sp_duration_parse(const char *s, double *out)
{
	int64_t ns;
	int e = sp_duration_parse_ns(s, &ns);

	if (!e)
		*out = (double)ns / 1e9;
	return e;
}

const char *sp_duration_format(double sec, char *buf, size_t sz)
{
	long long ms = llround(sec * 1000), h, m;
	double s;

	if (ms == 0) {
		snprintf(buf, sz, "0s");
		return buf;
	}
	if (ms < 1000) {
		snprintf(buf, sz, "%lldms", ms);
		return buf;
	}
	h = ms / 3600000;
	m = ms / 60000 % 60;
	s = (double)(ms % 60000) / 1000;
	if (h)
		snprintf(buf, sz, "%lldh%lldm%gs", h, m, s);
	else if (m)
		snprintf(buf, sz, "%lldm%gs", m, s);
	else
		snprintf(buf, sz, "%gs", s);
	return buf;
}
