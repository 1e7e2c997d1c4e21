/* test_kubeconfig.c - kubeconfig files (variants and broken ones, each error
 * naming its field), the in-cluster settings, --master and token files. */
#define _GNU_SOURCE
#include "helpers.h"
#include "../../control/kubeconfig.h"

#include <stdlib.h>
#include <string.h>

static const char kc_head[] =
	"apiVersion: v1\nkind: Config\ncurrent-context: b\n"
	"contexts:\n- name: a\n  context: {cluster: one, user: u1}\n"
	"- name: b\n  context: {cluster: two, user: u2}\n";

static int parse(const char *text, const char *context, struct sp_kube_conn *c, struct sp_perr *err)
{
	memset(err, 0, sizeof(*err));
	return sp_kubeconfig_parse(text, strlen(text), "/etc/kube/config", context, c, err);
}

START_TEST(test_kubeconfig_current_context_token_file_and_relative_paths)
{
	char text[2048];
	struct sp_kube_conn c;
	struct sp_perr err;

	snprintf(text, sizeof(text), "%s"
		 "clusters:\n- name: one\n  cluster: {server: 'https://one:6443'}\n"
		 "- name: two\n  cluster:\n    server: https://10.0.0.1:6443/\n    certificate-authority: pki/ca.crt\n"
		 "users:\n- name: u1\n  user: {token: t1}\n"
		 "- name: u2\n  user:\n    tokenFile: /var/run/token\n"
		 "    client-certificate: c.crt\n    client-key: /abs/c.key\n", kc_head);
	ck_assert_msg(parse(text, NULL, &c, &err) == 0, "%s: %s", err.field, err.msg);
	ck_assert_str_eq(c.server, "https://10.0.0.1:6443");
	ck_assert_str_eq(c.ca.path, "/etc/kube/pki/ca.crt");
	ck_assert_str_eq(c.cert.path, "/etc/kube/c.crt");
	ck_assert_str_eq(c.key.path, "/abs/c.key");
	ck_assert_str_eq(c.token_file, "/var/run/token");
	ck_assert_ptr_null(c.token);
	ck_assert(!c.insecure);
	sp_kube_conn_fini(&c);

	/* The other context, by name. */
	ck_assert_int_eq(parse(text, "a", &c, &err), 0);
	ck_assert_str_eq(c.server, "https://one:6443");
	ck_assert_str_eq(c.token, "t1");
	ck_assert_ptr_null(c.ca.path);
	sp_kube_conn_fini(&c);
}
END_TEST

START_TEST(test_kubeconfig_data_fields_and_insecure)
{
	char text[2048];
	struct sp_kube_conn c;
	struct sp_perr err;

	/* "-----BEGIN X-----\n" and "key" in base64 */
	snprintf(text, sizeof(text), "%s"
		 "clusters:\n- name: two\n  cluster:\n    server: http://127.0.0.1:8080\n"
		 "    certificate-authority-data: LS0tLS1CRUdJTiBYLS0tLS0K\n    insecure-skip-tls-verify: true\n"
		 "users:\n- name: u2\n  user:\n    client-certificate-data: LS0tLS1CRUdJTiBYLS0tLS0K\n"
		 "    client-key-data: a2V5\n", kc_head);
	ck_assert_msg(parse(text, NULL, &c, &err) == 0, "%s: %s", err.field, err.msg);
	ck_assert_uint_eq(c.ca.len, 18);
	ck_assert(!memcmp(c.ca.data, "-----BEGIN X-----\n", 18));
	ck_assert_uint_eq(c.key.len, 3);
	ck_assert(!memcmp(c.key.data, "key", 3));
	ck_assert(c.insecure);
	ck_assert_ptr_null(c.ca.path);
	sp_kube_conn_fini(&c);
}
END_TEST

START_TEST(test_kubeconfig_broken)
{
	static const struct {
		const char *body, *field, *msg;
	} cases[] = {
		{ "clusters:\n- name: two\n  cluster: {}\nusers:\n- name: u2\n  user: {}\n",
		  "clusters[0].cluster.server", "missing" },
		{ "clusters:\n- name: two\n  cluster: {server: ftp://x}\nusers:\n- name: u2\n  user: {}\n",
		  "clusters[0].cluster.server", "not an http:// or https:// URL" },
		{ "clusters:\n- name: one\n  cluster: {server: https://x}\n", "clusters", "no cluster named two" },
		{ "clusters:\n- name: two\n  cluster: {server: https://x}\n", "users", "no user named u2" },
		{ "clusters:\n- name: two\n  cluster: {server: https://x, insecure-skip-tls-verify: maybe}\n"
		  "users:\n- name: u2\n  user: {}\n", "clusters[0].cluster.insecure-skip-tls-verify", "" },
		{ "clusters:\n- name: two\n  cluster: {server: https://x, certificate-authority-data: '!!!'}\n"
		  "users:\n- name: u2\n  user: {}\n", "clusters[0].cluster.certificate-authority", "not base64" },
		{ "clusters:\n- name: two\n  cluster: {server: https://x}\n"
		  "users:\n- name: u2\n  user: {client-certificate: c.crt}\n", "users[0].user",
		  "client-certificate and client-key go together" },
		{ "clusters:\n- name: two\n  cluster: {server: https://x}\n"
		  "users:\n- name: u2\n  user: {token: [1]}\n", "users[0].user.token", "" },
	};
	struct sp_kube_conn c;
	struct sp_perr err;
	char text[2048];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", kc_head, cases[i].body);
		ck_assert_int_eq(parse(text, NULL, &c, &err), -EINVAL);
		ck_assert_msg(!strcmp(err.field, cases[i].field), "case %zu: field '%s', want '%s'", i, err.field,
			      cases[i].field);
		ck_assert_msg(strstr(err.msg, cases[i].msg), "case %zu: '%s' lacks '%s'", i, err.msg, cases[i].msg);
		ck_assert_ptr_null(c.server);	/* nothing half-filled is left */
	}
	ck_assert_int_eq(parse("- a\n- b\n", NULL, &c, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a kubeconfig"));
	ck_assert_int_eq(parse("a: [", NULL, &c, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "line"));
	ck_assert_int_eq(parse("apiVersion: v1\n", NULL, &c, &err), -EINVAL);
	ck_assert_str_eq(err.field, "current-context");
	snprintf(text, sizeof(text), "%s", kc_head);
	ck_assert_int_eq(parse(text, "nope", &c, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "no context named nope"));
	ck_assert_int_eq(sp_kubeconfig_load("/nonexistent/kubeconfig", &c, &err), -ENOENT);
}
END_TEST

static const char *env_host, *env_port;
static char *fake_env(const char *name)
{
	return (char *)(!strcmp(name, "KUBERNETES_SERVICE_HOST") ? env_host
			: !strcmp(name, "KUBERNETES_SERVICE_PORT") ? env_port : NULL);
}

START_TEST(test_kube_incluster_master_and_token_file)
{
	char dir[256];
	struct sp_kube_conn c;
	struct sp_perr err = {0};
	char *t;
	int e;

	env_host = NULL;
	ck_assert_int_eq(sp_kube_incluster(fake_env, "/sa", &c, &err), -ENOENT);
	env_host = "fd00::1";
	env_port = "443";
	ck_assert_int_eq(sp_kube_incluster(fake_env, "/sa", &c, &err), 0);
	ck_assert_str_eq(c.server, "https://[fd00::1]:443");
	ck_assert_str_eq(c.token_file, "/sa/token");
	ck_assert_str_eq(c.ca.path, "/sa/ca.crt");
	ck_assert_int_eq(sp_kube_set_master(&c, "10.0.0.1:6443", &err), -EINVAL);
	ck_assert_str_eq(err.field, "--master");
	ck_assert_int_eq(sp_kube_set_master(&c, "https://10.0.0.1:6443/", &err), 0);
	ck_assert_str_eq(c.server, "https://10.0.0.1:6443");
	sp_kube_conn_fini(&c);

	/* The token file is read on every call: a rotation shows at once. */
	make_temp_dir(dir, sizeof(dir));
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(asprintf(&c.token_file, "%s/token", dir) > 0, 1);
	write_file(dir, "token", "first\n");
	t = sp_kube_token(&c, &e);
	ck_assert_str_eq(t, "first");
	free(t);
	write_file(dir, "token", "second");
	t = sp_kube_token(&c, &e);
	ck_assert_str_eq(t, "second");
	free(t);
	rm_tree(dir);
	ck_assert_ptr_null(sp_kube_token(&c, &e));
	ck_assert_int_eq(e, -ENOENT);
	sp_kube_conn_fini(&c);
}
END_TEST

/* A token with CR/LF would add HTTP headers: refused, from the kubeconfig and
 * from a token file, and the error never shows it. */
START_TEST(test_kube_token_control_characters_refused)
{
	static const char kc[] =
		"apiVersion: v1\nkind: Config\ncurrent-context: c\n"
		"contexts: [{name: c, context: {cluster: k, user: u}}]\n"
		"clusters: [{name: k, cluster: {server: 'https://1.2.3.4'}}]\n"
		"users: [{name: u, user: {token: \"s3cret\\r\\nX-Evil: 1\"}}]\n";
	struct sp_kube_conn c;
	struct sp_perr err = {0};
	char dir[64], *t;
	int e;

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(sp_kubeconfig_parse(kc, strlen(kc), "kc.yaml", NULL, &c, &err), -EINVAL);
	ck_assert_str_eq(err.field, "users[0].user.token");
	ck_assert_ptr_nonnull(strstr(err.msg, "control characters"));
	ck_assert_ptr_null(strstr(err.msg, "s3cret"));

	make_temp_dir(dir, sizeof(dir));
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(asprintf(&c.token_file, "%s/token", dir) > 0, 1);
	write_file(dir, "token", "s3cret\r\nX-Evil: 1\n");
	t = sp_kube_token(&c, &e);
	ck_assert_ptr_null(t);
	ck_assert_int_eq(e, -EILSEQ);
	write_file(dir, "token", "fine\r\n");	/* a trailing line end is trimmed, as before */
	t = sp_kube_token(&c, &e);
	ck_assert_str_eq(t, "fine");
	free(t);
	rm_tree(dir);
	sp_kube_conn_fini(&c);
}
END_TEST

START_TEST(test_kube_url_redact_hides_credentials)
{
	char out[256];
	struct sp_kube_conn c;
	struct sp_perr err = {0};

	sp_kube_url_redact("http://admin:password@host:8080/api?x=a@b", out, sizeof(out));
	ck_assert_str_eq(out, "http://***@host:8080/api?x=a@b");
	sp_kube_url_redact("https://host/a@b", out, sizeof(out));
	ck_assert_str_eq(out, "https://host/a@b");
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(sp_kube_set_master(&c, "ftp://admin:password@host", &err), -EINVAL);
	ck_assert_ptr_null(strstr(err.msg, "password"));
	sp_kube_conn_fini(&c);
}
END_TEST

Suite *suite_kubeconfig(void)
{
	Suite *s = suite_create("kubeconfig");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_kubeconfig_current_context_token_file_and_relative_paths);
	tcase_add_test(tc, test_kubeconfig_data_fields_and_insecure);
	tcase_add_test(tc, test_kubeconfig_broken);
	tcase_add_test(tc, test_kube_incluster_master_and_token_file);
	tcase_add_test(tc, test_kube_token_control_characters_refused);
	tcase_add_test(tc, test_kube_url_redact_hides_credentials);
	suite_add_tcase(s, tc);
	return s;
}
