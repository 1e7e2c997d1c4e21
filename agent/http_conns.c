/* http_conns.c - connection bookkeeping for the HTTP servers (see http_conns.h). */
#include "http_conns.h"
#include "../common/hmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int sp_conns_init(struct sp_conns *t, size_t max, size_t per_client, double deadline)
{
	*t = (struct sp_conns){ .max = max, .per_client = per_client, .deadline = deadline };
	t->clients = sp_hmap_new();
	return t->clients ? 0 : -ENOMEM;
}

void sp_conns_fini(struct sp_conns *t)
{
	while (t->head)
		sp_conns_remove(t, t->head);
	sp_hmap_free(t->clients);
	t->clients = NULL;
}

static size_t held(const struct sp_conns *t, const char *client)
{
	return (size_t)(uintptr_t)sp_hmap_get(t->clients, client);
}

bool sp_conns_admit(const struct sp_conns *t, const char *client)
{
	return held(t, client) < t->per_client;
}

struct sp_conn *sp_conns_victim(const struct sp_conns *t)
{
	if (t->n < t->max)
		return NULL;
	for (struct sp_conn *c = t->head; c; c = c->next)
		if (!c->closing)
			return c;
	return NULL;
}

static void unlink_conn(struct sp_conns *t, struct sp_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		t->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		t->tail = c->prev;
	c->prev = c->next = NULL;
}

static void append(struct sp_conns *t, struct sp_conn *c)
{
	c->prev = t->tail;
	if (t->tail)
		t->tail->next = c;
	else
		t->head = c;
	t->tail = c;
}

struct sp_conn *sp_conns_add(struct sp_conns *t, int fd, const char *client, double now)
{
	struct sp_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	c->since = now;
	snprintf(c->client, sizeof(c->client), "%s", client);
	if (sp_hmap_put(t->clients, c->client, (void *)(uintptr_t)(held(t, client) + 1), NULL)) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	append(t, c);
	t->n++;
	return c;
}

void sp_conns_answered(struct sp_conns *t, struct sp_conn *c, double now)
{
	c->since = now;	/* the list stays ordered by since: move to the end */
	unlink_conn(t, c);
	append(t, c);
}

void sp_conns_closing(struct sp_conns *t, struct sp_conn *c)
{
	(void)t;
	c->closing = true;
}

void sp_conns_remove(struct sp_conns *t, struct sp_conn *c)
{
	size_t n = held(t, c->client);

	if (n > 1)
		sp_hmap_put(t->clients, c->client, (void *)(uintptr_t)(n - 1), NULL);
	else
		sp_hmap_del(t->clients, c->client);
	unlink_conn(t, c);
	t->n--;
	free(c);
}

struct sp_conn *sp_conns_expired(const struct sp_conns *t, double now)
{
	for (struct sp_conn *c = t->head; c && now - c->since > t->deadline; c = c->next)
		if (!c->closing)
			return c;
	return NULL;
}
