/* helpers.h - shared fixtures for the unit suites: load a manifest directory
 * into a store and model, capture log lines, describe a model compactly. */
#ifndef SP_TESTS_HELPERS_H
#define SP_TESTS_HELPERS_H

#include <check.h>
#include <errno.h>
#include <stdio.h>

#include "../../common/log.h"
#include "../../control/model.h"
#include "../../control/store.h"

#ifndef FIXTURES
#define FIXTURES "tests/fixtures"
#endif

/* A log that writes into memory; lines() counts what was written. */
struct captured_log {
	struct sp_log log;
	char *buf;
	size_t len;
};
void captured_log_open(struct captured_log *c);
/* Flush and return the text so far (owned by @c). */
const char *captured_log_text(struct captured_log *c);
int captured_log_lines(struct captured_log *c);
void captured_log_close(struct captured_log *c);

/* Load every manifest of @dir into @st and build @m from it. Returns the
 * number of errors the source logged. */
size_t load_dir_model(const char *dir, const char *node, struct sp_store *st, struct sp_model *m,
		      const struct sp_log *lg);

/* "key -> ip:port,ip:port" for one port (endpoints in model order), malloc'd. */
char *describe_port(const struct sp_svc_port *p);

/* Service port @svc:http/TCP/IPv4 on ClusterIP @cip:@port with @neps ready
 * endpoints 10.0.{1,2}.(10+i):8080, the even ones local (for the renderer and
 * readback suites). */
struct sp_svc_port *svc_port_eps(const char *svc, const char *cip, uint16_t port, int neps);

/* A fresh temporary directory (mkdtemp) in @buf; rm_tree removes it. */
void make_temp_dir(char *buf, size_t sz);
void rm_tree(const char *dir);
void write_file(const char *dir, const char *name, const char *text);

Suite *suite_addr(void);
Suite *suite_hmap(void);
Suite *suite_id_pool(void);
Suite *suite_yaml(void);
Suite *suite_log(void);
Suite *suite_k8s_service(void);
Suite *suite_k8s_endpointslice(void);
Suite *suite_k8s_node(void);
Suite *suite_manifest(void);
Suite *suite_model(void);
Suite *suite_model_json(void);
Suite *suite_store(void);
Suite *suite_topology(void);
Suite *suite_source_dir(void);
Suite *suite_config(void);
Suite *suite_runner(void);
Suite *suite_loop(void);
Suite *suite_health(void);
Suite *suite_metrics(void);
Suite *suite_nft_render(void);
Suite *suite_nft_readback(void);
Suite *suite_nft_codec(void);
Suite *suite_nft_plan(void);
Suite *suite_inspect(void);
Suite *suite_explain(void);
Suite *suite_kubeconfig(void);
Suite *suite_json_lines(void);
Suite *suite_gunzip(void);
Suite *suite_json_list_stream(void);
Suite *suite_kube_events(void);
Suite *suite_nft_lex(void);
Suite *suite_us_balance(void);
Suite *suite_us_flows(void);
Suite *suite_kp_chains(void);
Suite *suite_maglev(void);
Suite *suite_us_fwd(void);
Suite *suite_us_explain(void);
Suite *suite_us_splice(void);
Suite *suite_bpf_addrs(void);
Suite *suite_bpf_sweep(void);

#endif
