/*
 * pending.c — the table of client requests in flight (contract in
 * pending.h).
 */
#include "pending.h"

#include <stdlib.h>
#include <string.h>

void
pending_init(struct pending_table *t)
{
	for (int k = 0; k < PEND_NKINDS; k++) {
		TAILQ_INIT(&t->q[k]);
		t->count[k] = 0;
	}
}

void
pending_clear(struct pending_table *t)
{
	struct pending *p;

	for (int k = 0; k < PEND_NKINDS; k++)
		while ((p = TAILQ_FIRST(&t->q[k])) != NULL)
			pending_del(t, p);
}

struct pending *
pending_new(enum pending_kind kind, const struct origin *o, uint64_t deadline_ms, const void *data,
    size_t len)
{
	struct pending *p = calloc(1, sizeof(*p) + len + 1);

	if (p == NULL)
		return NULL;
	p->kind = kind;
	p->from = *o;
	p->deadline_ms = deadline_ms;
	p->len = len;
	if (len)
		memcpy(p->data, data, len);
	return p;
}

void
pending_add(struct pending_table *t, struct pending *p)
{
	struct pending_list *q = &t->q[p->kind];
	struct pending *after = TAILQ_LAST(q, pending_list);

	if (p->kind == PEND_WRITE)
		while (after && after->key > p->key)
			after = TAILQ_PREV(after, pending_list, link);
	if (after)
		TAILQ_INSERT_AFTER(q, after, p, link);
	else if (p->kind == PEND_WRITE)
		TAILQ_INSERT_HEAD(q, p, link);
	else
		TAILQ_INSERT_TAIL(q, p, link);
	t->count[p->kind]++;
}

void
pending_unlink(struct pending_table *t, struct pending *p)
{
	TAILQ_REMOVE(&t->q[p->kind], p, link);
	t->count[p->kind]--;
}

void
pending_del(struct pending_table *t, struct pending *p)
{
	pending_unlink(t, p);
	free(p);
}

struct pending *
pending_find(const struct pending_table *t, enum pending_kind kind, uint64_t key)
{
	struct pending *p;

	TAILQ_FOREACH(p, &t->q[kind], link)
		if (p->key == key)
			return p;
	return NULL;
}

size_t
pending_expire(
    struct pending_table *t, uint64_t now, void (*expired)(void *arg, struct pending *p), void *arg)
{
	struct pending *p, *tmp;
	size_t n = 0;

	for (int k = 0; k < PEND_NKINDS; k++)
		PENDING_EACH(t, k, p, tmp) {
			if (p->deadline_ms == 0 || now < p->deadline_ms)
				continue;
			pending_unlink(t, p);
			expired(arg, p);
			free(p);
			n++;
		}
	return n;
}
