/* jhash.h - Bob Jenkins' lookup3 word hash (the kernel's jhash2), for the
 * eBPF programs and for userspace alike: the flow hash that picks a Maglev slot
 * (flow_hash.h) and the endpoint hashes that build the table (control/maglev.c)
 * must agree bit for bit, so both compile this one header. No libc, no
 * pointers into packets: callers pass words they assembled themselves, which
 * is what keeps every result the same on little- and big-endian machines. */
#ifndef SP_BPF_JHASH_H
#define SP_BPF_JHASH_H

#include <linux/types.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define SP_JHASH_INITVAL 0xdeadbeefu

static __always_inline __u32 sp_rol32(__u32 w, unsigned int s)
{
	return (w << s) | (w >> (32 - s));
}

/* clang-format off */
/* Mix three words into each other (lookup3's mix()). */
#define SP_JHASH_MIX(a, b, c)                                                                      \
	do {                                                                                       \
		a -= c; a ^= sp_rol32(c, 4);  c += b;                                              \
		b -= a; b ^= sp_rol32(a, 6);  a += c;                                              \
		c -= b; c ^= sp_rol32(b, 8);  b += a;                                              \
		a -= c; a ^= sp_rol32(c, 16); c += b;                                              \
		b -= a; b ^= sp_rol32(a, 19); a += c;                                              \
		c -= b; c ^= sp_rol32(b, 4);  b += a;                                              \
	} while (0)

/* Final avalanche of three words into @c (lookup3's final()). */
#define SP_JHASH_FINAL(a, b, c)                                                                    \
	do {                                                                                       \
		c ^= b; c -= sp_rol32(b, 14);                                                      \
		a ^= c; a -= sp_rol32(c, 11);                                                      \
		b ^= a; b -= sp_rol32(a, 25);                                                      \
		c ^= b; c -= sp_rol32(b, 16);                                                      \
		a ^= c; a -= sp_rol32(c, 4);                                                       \
		b ^= a; b -= sp_rol32(a, 14);                                                      \
		c ^= b; c -= sp_rol32(b, 24);                                                      \
	} while (0)
/* clang-format on */

/* The hash of @n words @k under @seed, equal to the kernel's jhash2(k, n, seed).
 * @n must be a compile-time constant in BPF (the loop is then unrolled, and
 * bounded either way); at most 255 words. */
static __always_inline __u32 sp_jhash_words(const __u32 *k, __u32 n, __u32 seed)
{
	__u32 a, b, c, i = 0;

	a = b = c = SP_JHASH_INITVAL + (n << 2) + seed;
	for (int round = 0; round < 85; round++) { /* 85 × 3 = 255 words at most */
		if (n - i <= 3)
			break;
		a += k[i];
		b += k[i + 1];
		c += k[i + 2];
		SP_JHASH_MIX(a, b, c);
		i += 3;
	}
	switch (n - i) {
	case 3:
		c += k[i + 2];
		/* fallthrough */
	case 2:
		b += k[i + 1];
		/* fallthrough */
	case 1:
		a += k[i];
		SP_JHASH_FINAL(a, b, c);
		break;
	default: /* n == 0: nothing to add */
		break;
	}
	return c;
}

/* Four bytes as one word, most significant first, whatever the machine's byte
 * order (bytes in network order give the number they spell). */
static __always_inline __u32 sp_be32_word(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | (__u32)p[3];
}

#endif
