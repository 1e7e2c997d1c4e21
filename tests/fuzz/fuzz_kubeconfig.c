/* fuzz_kubeconfig.c - libFuzzer entry for kubeconfig files. */
#include "../../control/kubeconfig.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_kube_conn c;
	struct sp_perr err;

	if (!sp_kubeconfig_parse((const char *)data, size, "/etc/kubernetes/kubeconfig", NULL, &c, &err))
		sp_kube_conn_fini(&c);
	return 0;
}
