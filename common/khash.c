/* khash.c - base32(sha256()) as kube-proxy names its chains. */
#include "khash.h"

#include <string.h>

#include <openssl/sha.h>

void sp_kube_hash(const char *name, size_t nchars, char *out)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned char d[SHA256_DIGEST_LENGTH];
	size_t bit = 0;

	SHA256((const unsigned char *)name, strlen(name), d);
	for (size_t i = 0; i < nchars && i < 52; i++, bit += 5) {
		size_t byte = bit / 8, shift = bit % 8;
		unsigned v = (unsigned)d[byte] << 8 | (byte + 1 < sizeof(d) ? d[byte + 1] : 0);

		out[i] = alphabet[(v >> (11 - shift)) & 31];
	}
	out[nchars < 52 ? nchars : 52] = '\0';
}
