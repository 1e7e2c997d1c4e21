/* kubeconfig.c - kubeconfig files, the in-cluster service account, --master. */
#define _GNU_SOURCE
#include "kubeconfig.h"
#include "k8s_field.h"
#include "yaml.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KUBECONFIG (16u << 20)
#define MAX_TOKEN (64u << 10)

void sp_kube_conn_fini(struct sp_kube_conn *c)
{
	struct sp_pem *pems[] = { &c->ca, &c->cert, &c->key };

	for (size_t i = 0; i < 3; i++) {
		free(pems[i]->path);
		if (pems[i]->data)	/* key material: not left in freed memory */
			memset(pems[i]->data, 0, pems[i]->len);
		free(pems[i]->data);
	}
	if (c->token)
		memset(c->token, 0, strlen(c->token));
	free(c->token);
	free(c->token_file);
	free(c->server);
	free(c->source);
	memset(c, 0, sizeof(*c));
}

/* Whole file @path into a new NUL-terminated buffer of at most @max bytes. */
static char *read_file(const char *path, size_t max, size_t *len, int *e)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	*e = 0;
	if (!f) {
		*e = -errno;
		return NULL;
	}
	buf = malloc(max + 1);
	n = buf ? fread(buf, 1, max + 1, f) : 0;
	if (!buf)
		*e = -ENOMEM;
	else if (ferror(f))
		*e = -EIO;
	else if (n > max)
		*e = -EFBIG;
	fclose(f);
	if (*e) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Standard base64 (padding optional, whitespace skipped) into a new buffer. */
static char *base64_decode(const char *s, size_t *out_len)
{
	size_t n = strlen(s), o = 0;
	char *out = malloc(n / 4 * 3 + 4);
	uint32_t acc = 0;
	int bits = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		int v;

		if (ch == '=' || ch == '\n' || ch == '\r' || ch == ' ' || ch == '\t')
			continue;
		if (ch >= 'A' && ch <= 'Z')
			v = ch - 'A';
		else if (ch >= 'a' && ch <= 'z')
			v = ch - 'a' + 26;
		else if (ch >= '0' && ch <= '9')
			v = ch - '0' + 52;
		else if (ch == '+')
			v = 62;
		else if (ch == '/')
			v = 63;
		else {
			free(out);
			return NULL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)(acc >> bits & 0xff);
		}
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

/* @rel against the directory of @base, in a new string. */
static char *resolve(const char *base, const char *rel)
{
	const char *slash = strrchr(base, '/');
	char *out;

	if (rel[0] == '/' || !slash)
		return strdup(rel);
	if (asprintf(&out, "%.*s/%s", (int)(slash - base), base, rel) < 0)
		return NULL;
	return out;
}

/* The entry of list @key whose "name" is @name, and its index. */
static const cJSON *named(const cJSON *root, const char *key, const char *name, int *index)
{
	const cJSON *e;
	int i = 0;

	cJSON_ArrayForEach(e, sp_field(root, key)) {
		const cJSON *n = sp_field(e, "name");

		if (cJSON_IsString(n) && !strcmp(n->valuestring, name)) {
			*index = i;
			return e;
		}
		i++;
	}
	return NULL;
}

/* "<kind>-data" (base64) or "<kind>" (a file path) of @obj into @pem. */
static int pem_field(const cJSON *obj, const char *file_key, const char *path, const char *kc_path,
		     struct sp_pem *pem, struct sp_perr *err)
{
	char data_key[64], fpath[160];
	const char *file = NULL, *data = NULL;
	int e;

	snprintf(data_key, sizeof(data_key), "%s-data", file_key);
	snprintf(fpath, sizeof(fpath), "%s.%s", path, data_key);
	if ((e = sp_field_str(obj, data_key, fpath, NULL, &data, err)))
		return e;
	snprintf(fpath, sizeof(fpath), "%s.%s", path, file_key);
	if ((e = sp_field_str(obj, file_key, fpath, NULL, &file, err)))
		return e;
	if (data) {
		pem->data = base64_decode(data, &pem->len);
		if (!pem->data || !pem->len)
			return sp_perr_set(err, fpath, "%s-data is not base64", file_key);
	} else if (file && *file) {
		if (!(pem->path = resolve(kc_path, file)))
			return -ENOMEM;
	}
	return 0;
}

void sp_kube_url_redact(const char *url, char *out, size_t sz)
{
	const char *auth = strstr(url, "://"), *end, *at = NULL;

	auth = auth ? auth + 3 : url;
	end = auth + strcspn(auth, "/?#");
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;	/* the last '@' of the authority ends the credentials */
	if (!at) {
		memmove(out, url, strnlen(url, sz - 1));	/* (@out may be @url) */
		out[strnlen(url, sz - 1)] = '\0';
		return;
	}
	{
		char tmp[2048];

		snprintf(tmp, sizeof(tmp), "%.*s***%s", (int)(auth - url), url, at);
		snprintf(out, sz, "%s", tmp);
	}
}

/* A token goes into an HTTP header: control bytes (CR, LF, ...) would let it
 * add headers of its own. */
static bool token_ok(const char *t)
{
	for (const unsigned char *p = (const unsigned char *)t; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static int check_server(const char *url, const char *field, struct sp_perr *err)
{
	char shown[1024];

	sp_kube_url_redact(url, shown, sizeof(shown));
	if (strncmp(url, "https://", 8) && strncmp(url, "http://", 7))
		return sp_perr_set(err, field, "server %s is not an http:// or https:// URL", shown);
	if (strlen(url) > 1000)
		return sp_perr_set(err, field, "server URL longer than 1000 characters");
	return 0;
}

static char *trimmed_server(const char *url)
{
	char *s = strdup(url);
	size_t n = s ? strlen(s) : 0;

	while (n && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

int sp_kubeconfig_parse(const char *buf, size_t len, const char *path, const char *context,
			struct sp_kube_conn *c, struct sp_perr *err)
{
	cJSON *docs = sp_yaml_load(buf, len, err);
	const cJSON *root = cJSON_GetArrayItem(docs, 0), *ctx, *cl, *us, *cluster, *user;
	const char *cur = context, *cl_name = NULL, *us_name = NULL, *server = NULL, *s = NULL;
	char field[160];
	int ci = 0, li = 0, ui = 0, e = -EINVAL;
	bool insecure = false;

	memset(c, 0, sizeof(*c));
	if (!docs)
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	if (!cJSON_IsObject(root) || cJSON_GetArraySize(docs) != 1) {
		sp_perr_set(err, "", "not a kubeconfig (one YAML mapping)");
		goto out;
	}
	if (!cur && (e = sp_field_str(root, "current-context", "current-context", NULL, &cur, err)))
		goto out;
	e = -EINVAL;
	if (!cur || !*cur) {
		sp_perr_set(err, "current-context", "no current-context");
		goto out;
	}
	if (!(ctx = named(root, "contexts", cur, &ci))) {
		sp_perr_set(err, "contexts", "no context named %s", cur);
		goto out;
	}
	snprintf(field, sizeof(field), "contexts[%d].context", ci);
	ctx = sp_field(ctx, "context");
	if (!cJSON_IsObject(ctx)) {
		sp_perr_set(err, field, "missing");
		goto out;
	}
	snprintf(field, sizeof(field), "contexts[%d].context.cluster", ci);
	if ((e = sp_field_str(ctx, "cluster", field, NULL, &cl_name, err)))
		goto out;
	snprintf(field, sizeof(field), "contexts[%d].context.user", ci);
	if ((e = sp_field_str(ctx, "user", field, NULL, &us_name, err)))
		goto out;
	e = -EINVAL;
	if (!cl_name || !(cl = named(root, "clusters", cl_name, &li))) {
		sp_perr_set(err, "clusters", "no cluster named %s", cl_name ? cl_name : "(none)");
		goto out;
	}
	cluster = sp_field(cl, "cluster");
	snprintf(field, sizeof(field), "clusters[%d].cluster.server", li);
	if ((e = sp_field_str(cluster, "server", field, NULL, &server, err)))
		goto out;
	e = -EINVAL;
	if (!server || (e = check_server(server, field, err)))
		goto out_missing_server;
	snprintf(field, sizeof(field), "clusters[%d].cluster.insecure-skip-tls-verify", li);
	if ((e = sp_field_bool(cluster, "insecure-skip-tls-verify", field, false, &insecure, err)))
		goto out;
	snprintf(field, sizeof(field), "clusters[%d].cluster", li);
	if ((e = pem_field(cluster, "certificate-authority", field, path, &c->ca, err)))
		goto out;
	c->insecure = insecure;
	us = us_name ? named(root, "users", us_name, &ui) : NULL;
	if (us_name && !us) {
		e = sp_perr_set(err, "users", "no user named %s", us_name);
		goto out;
	}
	user = sp_field(us, "user");
	snprintf(field, sizeof(field), "users[%d].user", ui);
	if ((e = pem_field(user, "client-certificate", field, path, &c->cert, err)) ||
	    (e = pem_field(user, "client-key", field, path, &c->key, err)))
		goto out;
	if ((c->cert.path || c->cert.data) != (c->key.path || c->key.data)) {
		e = sp_perr_set(err, field, "client-certificate and client-key go together");
		goto out;
	}
	snprintf(field, sizeof(field), "users[%d].user.token", ui);
	if ((e = sp_field_str(user, "token", field, NULL, &s, err)))
		goto out;
	if (s && !token_ok(s)) {
		e = sp_perr_set(err, field, "the token holds control characters (CR, LF, ...): refused");
		goto out;
	}
	if (s && *s && !(c->token = strdup(s))) {
		e = -ENOMEM;
		goto out;
	}
	s = NULL;
	snprintf(field, sizeof(field), "users[%d].user.tokenFile", ui);
	if ((e = sp_field_str(user, "tokenFile", field, NULL, &s, err)))
		goto out;
	if (s && *s && !(c->token_file = resolve(path, s))) {
		e = -ENOMEM;
		goto out;
	}
	if (!(c->server = trimmed_server(server)) || !(c->source = strdup(path)))
		e = -ENOMEM;
	goto out;
out_missing_server:
	if (!server)
		e = sp_perr_set(err, field, "missing");
out:
	cJSON_Delete(docs);
	if (e)
		sp_kube_conn_fini(c);
	return e;
}

int sp_kubeconfig_load(const char *path, struct sp_kube_conn *c, struct sp_perr *err)
{
	size_t len;
	int e;
	char *buf = read_file(path, MAX_KUBECONFIG, &len, &e);

	if (!buf) {
		sp_perr_set(err, "", "%s", e == -EFBIG ? "larger than 16 MiB" : strerror(-e));
		return e;
	}
	e = sp_kubeconfig_parse(buf, len, path, NULL, c, err);
	free(buf);
	return e;
}

int sp_kube_incluster(char *(*env)(const char *), const char *sa_dir, struct sp_kube_conn *c,
		      struct sp_perr *err)
{
	const char *host = env("KUBERNETES_SERVICE_HOST"), *port = env("KUBERNETES_SERVICE_PORT");
	char *url;

	memset(c, 0, sizeof(*c));
	if (!host || !*host || !port || !*port) {
		sp_perr_set(err, "KUBERNETES_SERVICE_HOST", "not set: not running in a cluster");
		return -ENOENT;
	}
	if (asprintf(&url, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port) < 0)
		return -ENOMEM;
	c->server = url;
	if (asprintf(&c->token_file, "%s/token", sa_dir) < 0 || asprintf(&c->ca.path, "%s/ca.crt", sa_dir) < 0 ||
	    !(c->source = strdup("in-cluster service account"))) {
		c->token_file = c->ca.path = NULL;
		sp_kube_conn_fini(c);
		return -ENOMEM;
	}
	return 0;
}

int sp_kube_set_master(struct sp_kube_conn *c, const char *url, struct sp_perr *err)
{
	char *s;
	int e;

	if ((e = check_server(url, "--master", err)))
		return e;
	if (!(s = trimmed_server(url)))
		return -ENOMEM;
	free(c->server);
	c->server = s;
	return 0;
}

char *sp_kube_token(const struct sp_kube_conn *c, int *e)
{
	size_t len;
	char *t;

	*e = 0;
	if (!c->token_file)
		return c->token ? strdup(c->token) : NULL;
	t = read_file(c->token_file, MAX_TOKEN, &len, e);
	while (t && len && (t[len - 1] == '\n' || t[len - 1] == '\r' || t[len - 1] == ' '))
		t[--len] = '\0';
	if (t && (strlen(t) != len || !token_ok(t))) {
		memset(t, 0, len);
		free(t);
		*e = -EILSEQ;
		return NULL;
	}
	return t;
}
