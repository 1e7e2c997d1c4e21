/* main.c - runs every unit suite in one process (no fork, so the sanitizer
 * build checks leaks across all of them at exit). */
#include "helpers.h"

#include <stdlib.h>

int main(void)
{
	SRunner *sr = srunner_create(suite_addr());
	int failed;

	srunner_add_suite(sr, suite_hmap());
	srunner_add_suite(sr, suite_id_pool());
	srunner_add_suite(sr, suite_yaml());
	srunner_add_suite(sr, suite_log());
	srunner_add_suite(sr, suite_k8s_service());
	srunner_add_suite(sr, suite_k8s_endpointslice());
	srunner_add_suite(sr, suite_k8s_node());
	srunner_add_suite(sr, suite_manifest());
	srunner_add_suite(sr, suite_model());
	srunner_add_suite(sr, suite_model_json());
	srunner_add_suite(sr, suite_store());
	srunner_add_suite(sr, suite_topology());
	srunner_add_suite(sr, suite_source_dir());
	srunner_add_suite(sr, suite_config());
	srunner_add_suite(sr, suite_runner());
	srunner_add_suite(sr, suite_loop());
	srunner_add_suite(sr, suite_health());
	srunner_add_suite(sr, suite_metrics());
	srunner_add_suite(sr, suite_nft_render());
	srunner_add_suite(sr, suite_nft_readback());
	srunner_add_suite(sr, suite_nft_codec());
	srunner_add_suite(sr, suite_nft_plan());
	srunner_add_suite(sr, suite_inspect());
	srunner_add_suite(sr, suite_explain());
	srunner_add_suite(sr, suite_kubeconfig());
	srunner_add_suite(sr, suite_json_lines());
	srunner_add_suite(sr, suite_gunzip());
	srunner_add_suite(sr, suite_json_list_stream());
	srunner_add_suite(sr, suite_kube_events());
	srunner_add_suite(sr, suite_nft_lex());
	srunner_add_suite(sr, suite_us_balance());
	srunner_add_suite(sr, suite_us_flows());
	srunner_add_suite(sr, suite_kp_chains());
	srunner_add_suite(sr, suite_maglev());
	srunner_add_suite(sr, suite_us_fwd());
	srunner_add_suite(sr, suite_us_explain());
	srunner_add_suite(sr, suite_us_splice());
	srunner_add_suite(sr, suite_bpf_addrs());
	srunner_add_suite(sr, suite_bpf_sweep());
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
