/*
 * check_pending.c — unit tests for daemon/pending: the node's table of
 * requests in flight (writes kept in index order, lookups by key, one
 * expiry walk over every kind).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pending.h"

static struct pending_table t;
static const struct origin from = { .kind = FROM_CONTROL, .conn = 7, .req_id = 42 };

static void
setup(void)
{
	pending_init(&t);
}

static void
teardown(void)
{
	pending_clear(&t);
}

static struct pending *
add(enum pending_kind kind, uint64_t key, uint64_t deadline)
{
	struct pending *p = pending_new(kind, &from, deadline, NULL, 0);

	ck_assert_ptr_nonnull(p);
	p->key = key;
	pending_add(&t, p);
	return p;
}

/* The keys of kind, in table order, as "k1 k2 ...". */
static const char *
keys(enum pending_kind kind)
{
	static char buf[256];
	struct pending *p, *tmp;
	size_t off = 0;

	buf[0] = '\0';
	PENDING_EACH(&t, kind, p, tmp)
		off += snprintf(buf + off, sizeof(buf) - off, "%s%lu", off ? " " : "",
		    (unsigned long)p->key);
	return buf;
}

START_TEST(test_writes_are_kept_in_index_order_whatever_the_order_added)
{
	add(PEND_WRITE, 5, 0);
	add(PEND_WRITE, 7, 0);
	add(PEND_WRITE, 3, 0);	/* a re-elected leader reusing a lower index */
	add(PEND_WRITE, 6, 0);
	add(PEND_WRITE, 9, 0);
	ck_assert_str_eq(keys(PEND_WRITE), "3 5 6 7 9");
	ck_assert_uint_eq(pending_first(&t, PEND_WRITE)->key, 3);
	ck_assert_uint_eq(pending_count(&t, PEND_WRITE), 5);
}
END_TEST

START_TEST(test_other_kinds_keep_the_order_they_were_added_in)
{
	add(PEND_FORWARD, 5, 0);
	add(PEND_FORWARD, 2, 0);
	add(PEND_FORWARD, 9, 0);
	ck_assert_str_eq(keys(PEND_FORWARD), "5 2 9");
	ck_assert_str_eq(keys(PEND_WRITE), "");
}
END_TEST

START_TEST(test_find_looks_only_at_its_kind)
{
	struct pending *r = add(PEND_READ, 4, 0);
	struct pending *f = add(PEND_FORWARD, 4, 0);

	ck_assert_ptr_eq(pending_find(&t, PEND_READ, 4), r);
	ck_assert_ptr_eq(pending_find(&t, PEND_FORWARD, 4), f);
	ck_assert_ptr_null(pending_find(&t, PEND_JOIN, 4));
	ck_assert_ptr_null(pending_find(&t, PEND_READ, 5));
}
END_TEST

START_TEST(test_data_is_copied_and_terminated)
{
	char key[] = "/app/x";
	struct pending *p = pending_new(PEND_READ, &from, 0, key, 4);

	ck_assert_ptr_nonnull(p);
	key[0] = 'X';
	ck_assert_uint_eq(p->len, 4);
	ck_assert_str_eq(p->data, "/app");
	ck_assert_int_eq(p->from.req_id, 42);
	ck_assert_uint_eq(p->from.conn, 7);
	free(p);
}
END_TEST

static unsigned n_expired;
static char expired_kinds[16];

static void
on_expired(void *arg, struct pending *p)
{
	ck_assert_ptr_eq(arg, &t);
	ck_assert_ptr_null(pending_find(&t, p->kind, p->key));	/* out of the table already */
	expired_kinds[n_expired++] = (char)('0' + p->kind);
}

START_TEST(test_expiry_takes_every_kind_due_and_leaves_the_rest)
{
	add(PEND_WRITE, 1, 100);
	add(PEND_WRITE, 2, 300);
	add(PEND_READ, 3, 100);
	add(PEND_FORWARD, 4, 200);
	add(PEND_JOIN, 5, 99);
	add(PEND_SNAPSHOT, 6, 0);	/* no deadline: never expires */
	n_expired = 0;
	ck_assert_uint_eq(pending_expire(&t, 200, on_expired, &t), 4);
	ck_assert_uint_eq(n_expired, 4);
	ck_assert_str_eq(expired_kinds, "0123");	/* WRITE READ FORWARD JOIN */
	ck_assert_str_eq(keys(PEND_WRITE), "2");
	ck_assert_uint_eq(pending_count(&t, PEND_READ), 0);
	ck_assert_uint_eq(pending_count(&t, PEND_SNAPSHOT), 1);
	ck_assert_uint_eq(pending_expire(&t, 299, on_expired, &t), 0);
	ck_assert_uint_eq(pending_expire(&t, UINT64_MAX, on_expired, &t), 1);
	ck_assert_uint_eq(pending_count(&t, PEND_SNAPSHOT), 1);
}
END_TEST

START_TEST(test_an_entry_can_be_deleted_while_walking_its_kind)
{
	struct pending *p, *tmp;

	for (uint64_t k = 1; k <= 6; k++)
		add(PEND_TRANSFER, k, 0);
	PENDING_EACH(&t, PEND_TRANSFER, p, tmp)
		if (p->key % 2 == 0)
			pending_del(&t, p);
	ck_assert_str_eq(keys(PEND_TRANSFER), "1 3 5");
	ck_assert_uint_eq(pending_count(&t, PEND_TRANSFER), 3);
}
END_TEST

START_TEST(test_clear_empties_every_kind)
{
	for (int k = 0; k < PEND_NKINDS; k++)
		add((enum pending_kind)k, 1, 0);
	pending_clear(&t);
	for (int k = 0; k < PEND_NKINDS; k++) {
		ck_assert_uint_eq(pending_count(&t, (enum pending_kind)k), 0);
		ck_assert_ptr_null(pending_first(&t, (enum pending_kind)k));
	}
}
END_TEST

static Suite *
pending_suite(void)
{
	Suite *s = suite_create("pending");
	TCase *tc = tcase_create("table");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_writes_are_kept_in_index_order_whatever_the_order_added);
	tcase_add_test(tc, test_other_kinds_keep_the_order_they_were_added_in);
	tcase_add_test(tc, test_find_looks_only_at_its_kind);
	tcase_add_test(tc, test_data_is_copied_and_terminated);
	tcase_add_test(tc, test_expiry_takes_every_kind_due_and_leaves_the_rest);
	tcase_add_test(tc, test_an_entry_can_be_deleted_while_walking_its_kind);
	tcase_add_test(tc, test_clear_empties_every_kind);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pending_suite());
	int failures;

	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
