/* kubeconfig.h - how to reach the API server: a kubeconfig file (server, CA,
 * client certificate and key, token or tokenFile, current-context), the
 * in-cluster service account, and the --master override. */
#ifndef SP_CONTROL_KUBECONFIG_H
#define SP_CONTROL_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "k8s.h"

#define SP_SERVICE_ACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* A PEM file's path or its bytes (from *-data, base64-decoded). */
struct sp_pem {
	char *path;
	char *data;
	size_t len;
};

struct sp_kube_conn {
	char *server;		/* "https://host:port", no trailing slash */
	struct sp_pem ca, cert, key;
	char *token;		/* fixed bearer token, or NULL */
	char *token_file;	/* re-read before each request, or NULL */
	bool insecure;		/* insecure-skip-tls-verify: true */
	char *source;		/* where this came from, for messages */
};

/* Parse kubeconfig text @buf from @path (named in errors) into @c, using its
 * current-context (or @context when non-NULL). Relative file paths are
 * resolved against the kubeconfig's directory. Returns 0, or -EINVAL with
 * @err's field naming the kubeconfig path (e.g. users[0].user.token), or
 * -ENOMEM. */
int sp_kubeconfig_parse(const char *buf, size_t len, const char *path, const char *context,
			struct sp_kube_conn *c, struct sp_perr *err);

/* Read and parse the kubeconfig file at @path. Errors as above, -errno when
 * the file cannot be read (err->msg says why). */
int sp_kubeconfig_load(const char *path, struct sp_kube_conn *c, struct sp_perr *err);

/* The in-cluster configuration: KUBERNETES_SERVICE_HOST and _PORT from @env
 * (getenv-like), the token file and CA in @sa_dir (normally
 * /var/run/secrets/kubernetes.io/serviceaccount). -ENOENT when not in a
 * cluster. */
int sp_kube_incluster(char *(*env)(const char *), const char *sa_dir, struct sp_kube_conn *c,
		      struct sp_perr *err);

/* --master: replace the server URL. Returns 0 or -EINVAL for a URL that is
 * not http(s)://. */
int sp_kube_set_master(struct sp_kube_conn *c, const char *url, struct sp_perr *err);

/* The bearer token to send now (read from token_file when set, trimmed), in a
 * new string, or NULL when there is none. -errno in *@e when the file cannot
 * be read; -EILSEQ when the token holds control characters (never sent). */
char *sp_kube_token(const struct sp_kube_conn *c, int *e);

/* @url with the credentials of its authority ("user:password@") as "***@",
 * into @out (may be @url itself): what a log line may show of a URL. */
void sp_kube_url_redact(const char *url, char *out, size_t sz);

void sp_kube_conn_fini(struct sp_kube_conn *c);

#endif
