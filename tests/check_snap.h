/*
 * check_snap.h — what check_snap.c lends check_snapdir.c beyond
 * store_fixture.h: a store populated with a bit of everything and its
 * dump, the membership every snapshot carries, whole files read and
 * written; and the function that adds the directory's tests.
 */
#ifndef CHECK_SNAP_H
#define CHECK_SNAP_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "raft.h"
#include "store.h"

/* The whole visible state of a store, for before/after comparisons. */
char *dump_all(struct store *s);
uint8_t *slurp(const char *path, size_t *size);
void spill(const char *path, const uint8_t *b, size_t size);

/* The membership of every snapshot here: n1 and n2 voters, n3 a learner. */
extern struct raft_member members3[3];
void assert_members3(const struct raft_member *m, uint32_t n);
/* A store with a bit of everything: keys, a delete, clients, members. */
void populate(struct store *s);

void snap_dir_tests(TCase *dir);

#endif
