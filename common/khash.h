/* khash.h - kube-proxy's chain-name hash: the first N characters of
 * base32(sha256(name)). nftables mode uses 8 ("ULMVA6XW"), iptables mode 16. */
#ifndef SP_COMMON_KHASH_H
#define SP_COMMON_KHASH_H

#include <stddef.h>

/* Write the first @nchars (≤ 52) characters of base32(sha256(@name)) and a NUL
 * into @out. */
void sp_kube_hash(const char *name, size_t nchars, char *out);

#endif
