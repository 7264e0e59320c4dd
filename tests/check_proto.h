/*
 * check_proto.h — what the files of check_proto share: the sample messages
 * (check_proto_samples.c), the independent frame writer and the codec
 * helpers (check_proto_harness.c), the field setters of the limit tests
 * (check_proto_limits.c), and the functions that add each file's test cases
 * to the suite.  check_proto.c builds the suite and runs it.
 */
#ifndef CHECK_PROTO_H
#define CHECK_PROTO_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define HDR PROTO_HEADER_SIZE
/* A string literal as a view, embedded NUL bytes included. */
#define S(lit) ((struct proto_str){ (lit), sizeof(lit) - 1 })

/* The items of a list reply, as the caller hands them to the builder. */
struct items {
	size_t n;
	const struct proto_entry *e;
	const struct proto_pair *p;
	const struct proto_member *mb;
	const struct proto_member_view *mv;
	const struct proto_token *tk;
	const struct proto_kv *kv;
	const struct proto_change *ch;
	const struct proto_member_status *ms;
	/* A TXN request's three lists, as craft writes them by hand. */
	const struct proto_compare *cmp;
	size_t ncmp;
	const struct proto_op *then_ops, *else_ops;
	size_t nthen, nelse;
};

struct sample {
	struct proto_msg m;	/* for list replies: everything but the items */
	struct items it;
};

/* ---------------------------------------------- check_proto_samples.c */

/* One sample of every message type at least, made by init_samples. */
extern struct sample samples[128];
extern int nsamples;

extern char max_id[RAFTCONF_MAX_ID];
extern uint8_t big_value[RAFTCONF_MAX_VALUE];
extern uint8_t big_payload[RAFTCONF_MAX_FRAME - HDR - 4];
extern char fillbuf[RAFTCONF_MAX_FRAME];
extern struct proto_entry entries3[3];
extern struct proto_pair pairs7[7];
extern struct proto_member members3[3];
extern struct proto_member_view views3[3];
extern struct proto_token tokens3[3];
extern struct proto_kv kvs3[3];
extern struct proto_member_status mstatus3[3];
extern uint8_t hash32[PROTO_TOKEN_HASH];

void fill_binary(uint8_t *p, size_t n);
struct proto_str view(const void *p, size_t n);
void init_samples(void);
bool is_list(uint8_t type);
bool has_id(uint8_t type);
const struct sample *first_sample(uint8_t type);

/* ---------------------------------------------- check_proto_harness.c */

void put_be32(uint8_t *p, uint32_t v);
void reseal(uint8_t *f, size_t len);
uint8_t *frame_around(uint8_t type, const uint8_t *body, size_t blen, size_t *len);
uint8_t *craft_count(const struct proto_msg *m, const struct items *it, uint32_t count,
		     size_t *len);
uint8_t *craft(const struct proto_msg *m, const struct items *it, size_t *len);
uint8_t *dup_exact(const uint8_t *p, size_t n);
int build(struct proto_buf *b, const struct proto_msg *m, const struct items *it);
uint8_t *encode_sample(const struct sample *s, size_t *len);
void decode_ok(const uint8_t *f, size_t len, struct proto_msg *out);
int decode_err(const uint8_t *f, size_t len, char *err, size_t errlen);
void assert_items_eq(const struct proto_msg *m, const struct items *it);
void assert_msg_eq(const struct proto_msg *d, const struct sample *s);

/* ----------------------------------------------- check_proto_limits.c */

/* Sets one string field of a message or of its item. */
typedef void setter_fn(struct proto_msg *m, union proto_item *it, struct proto_str s);

setter_fn set_get_key, set_set_key, set_set_value, set_del_key, set_list_prefix, set_join_id,
	set_join_address, set_join_cluster, set_joinreq_address, set_remove_id, set_transfer_id,
	set_watch_prefix, set_value_value, set_error_message, set_entry_key, set_entry_value,
	set_pair_name, set_pair_value, set_member_id, set_member_address, set_view_id,
	set_view_relay, set_event_key, set_event_value, set_hello_cluster, set_hello_id,
	set_hello_address, set_hello_auth, set_reject_message, set_raft_payload, set_token_add_name,
	set_token_add_prefix, set_token_add_hash, set_token_revoke_name, set_token_name,
	set_token_prefix, set_set_if_key, set_list_ex_prefix, set_del_prefix_prefix,
	set_set_if_value, set_del_if_key, set_value_meta_value, set_kv_key, set_kv_value, set_ms_id,
	set_ms_address, set_ms_error;

void base_item(uint8_t type, union proto_item *it, struct items *items);
int encode_rc(const struct proto_msg *m, const struct items *items, char *err, size_t errlen);

/* ---------------------------------------------------- the test cases */

void proto_limit_tests(Suite *s);
void proto_bad_frame_tests(Suite *s);
void proto_buffer_tests(Suite *s);
void proto_txn_tests(Suite *s);

#endif
