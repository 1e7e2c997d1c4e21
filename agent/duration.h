/* duration.h - durations as kube-proxy reads them: Go's time.ParseDuration
 * syntax ("1s", "500ms", "1m30s", "1.5h", "0"), finite, in int64 nanoseconds. */
#ifndef SP_AGENT_DURATION_H
#define SP_AGENT_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Parse @s exactly as Go's time.ParseDuration does: an optional sign, then
 * one or more decimal numbers (with an optional fraction) each followed by a
 * unit (ns, us, µs, μs, ms, s, m, h); "0" alone needs no unit. Nothing else:
 * no exponent, no nan or inf, no spaces, no overflow past ±292 years.
 * Returns 0 with nanoseconds in *@ns, -EINVAL for bad syntax (a number
 * without a unit included), -ERANGE for overflow. */
int sp_duration_parse_ns(const char *s, int64_t *ns);

/* The same, in seconds (exact to the nanosecond for anything under ~104 days). */
int sp_duration_parse(const char *s, double *out);

/* @sec written as Go prints a duration ("1s", "1m30s", "500ms", "0s") into @buf. */
const char *sp_duration_format(double sec, char *buf, size_t sz);

#endif
