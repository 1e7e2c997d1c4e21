/* fuzz_inspect_buf.c - libFuzzer entry for inspect's format detection and every reader behind it (ipvsadm too). */
#include "../../tools/inspect/inspect.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_inspect in;
	char err[256], *buf = malloc(size + 1);	/* the reader cuts tokens in place */

	if (!buf || sp_inspect_init(&in)) {
		free(buf);
		return 0;
	}
	memcpy(buf, data, size);
	sp_inspect_buf(buf, size, &in, err, sizeof(err));
	sp_inspect_fini(&in);
	free(buf);
	return 0;
}
