/*
 * check_store.h — what the files of check_store share beyond
 * store_fixture.h: the dumps of a store's keys and tokens to compare as
 * strings and the populated store (check_store.c), the export feed and
 * TOKEN_PUT (check_store_image.c), and the functions by which each file
 * adds its tests to the test case, in the order check_store.c calls them.
 */
#ifndef CHECK_STORE_H
#define CHECK_STORE_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "token.h"

/* Everything a listing shows, as one string: "key=hex(value)@rev;..." */
struct dump {
	char *s;
	size_t len, cap;
	int calls;
	int stop_after;
};

void dump_add(struct dump *d, const char *fmt, ...);
char *dump_list(struct store *s, const char *prefix);
/* The whole visible state of a store, for before/after comparisons. */
char *dump_all(struct store *s);

extern const uint8_t binval[7];
/* A store with a bit of everything: keys, a delete, clients, members. */
void populate(struct store *s);

/* Copies the records of another store, then gives what test_next_extra says. */
struct feed {
	struct store_record recs[16];
	uint8_t *bufs[16];
	int n, next;
	struct store_record extra;
	bool has_extra;
};

int feed_cb(void *arg, const struct store_record *rec);
int feed_next(void *arg, struct store_record *rec, char *err, size_t errlen);

/* Apply TOKEN_PUT of name (access, prefix, a hash of byte h) at index. */
struct store_result token_put(struct store *s, uint64_t index, uint64_t client, uint64_t seq,
    const char *name, enum token_access access, const char *prefix, uint8_t h);
/* The tokens of s, in name order: "name:access:prefix:first hash byte;..." */
char *dump_tokens(struct store *s);

void store_map_tests(TCase *tc);
void store_image_tests(TCase *tc);
void store_cas_tests(TCase *tc);
void store_prefix_tests(TCase *tc);
void store_pile_tests(TCase *tc);
void store_grow_tests(TCase *tc);

#endif
