/*
 * output.h — how raftconfctl prints the daemon's answers on standard output.
 *
 * For: the three formats of -w, text for people and scripts (output.c),
 * aligned tables with borders for people (output_table.c) and one line of
 * JSON for scripts (output_json.c), behind one table of functions; the
 * command handlers give each answer's data to whichever format main()
 * chose and never ask which one it is.  Not for: errors and notices on
 * standard error, which read the same in every format (cmd_*.c), nor
 * the exit status.
 *
 * What each format prints is the contract of raftconfctl(8).  The proto_str
 * and proto_* items are only read during the call.  Calls of one answer
 * come in order: list_begin, list_entry (or list_key) for each entry,
 * list_end; likewise
 * status_*, members_* and cluster_*.
 */
#ifndef RAFTCONF_CTL_OUTPUT_H
#define RAFTCONF_CTL_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto.h"

struct output {
	/* get: the value of key, exactly as stored, with its revisions and version. */
	void (*value)(const struct proto_kv *kv);
	/* set, del: the revision of the write. */
	void (*written)(uint64_t revision);

	/*
	 * list: longest_key is the length of the longest key listed;
	 * list_begin's truncated: keys under the prefix were left out (by
	 * --limit too); list_end's: the size of an answer left them out.
	 * keys_only: list_key follows for each entry, not list_entry.
	 */
	void (*list_begin)(size_t longest_key, bool truncated, bool keys_only);
	void (*list_entry)(const struct proto_kv *e);
	void (*list_end)(bool truncated);
	/* list --keys-only: an entry without its value, between list_begin and list_end. */
	void (*list_key)(const struct proto_kv *e);
	/* list --count: the number of keys under the prefix. */
	void (*count)(uint64_t count);
	/* del --prefix, del --all: the keys deleted and the revision of the write. */
	void (*deleted)(uint64_t deleted, uint64_t revision);

	/* status: longest_name is the length of the longest name. */
	void (*status_begin)(size_t longest_name);
	void (*status_pair)(const struct proto_pair *p);
	void (*status_end)(void);

	/* members: local_view when no leader's view could be had (the node
	 * asked answered with its own, without replication progress). */
	void (*members_begin)(bool local_view);
	void (*member)(const struct proto_member_view *m);
	void (*members_end)(void);

	/*
	 * status --cluster: the whole reply first (a table's widths), then
	 * each member as it reported itself (its pairs: proto_iter_pairs), or,
	 * when its error is not empty, why it has no status.
	 */
	void (*cluster_begin)(const struct proto_msg *reply);
	void (*cluster_member)(const struct proto_member_status *ms);
	void (*cluster_end)(void);

	/* watch: one change (PROTO_EV_PUT with its value, or PROTO_EV_DEL). */
	void (*event)(
	    uint8_t kind, struct proto_str key, uint64_t revision, struct proto_str value);

	/*
	 * token add: the new token and its secret, which is printed nowhere
	 * else, ever.  write: it may write (else only read).
	 */
	void (*token_secret)(struct proto_str name, bool write, struct proto_str prefix,
	    const char *secret, uint64_t revision);
	/* token list: longest_name is the length of the longest name. */
	void (*tokens_begin)(size_t longest_name);
	void (*token)(const struct proto_token *t);
	void (*tokens_end)(void);

	/*
	 * txn: which branch ran and its revision (replayed: the answer to a
	 * retry, without the gets), then each get's result (revision 0: the
	 * key did not exist).
	 */
	void (*txn_begin)(bool succeeded, uint64_t revision, bool replayed);
	void (*txn_result)(const struct proto_kv *kv);
	void (*txn_end)(void);

	/* join, remove, snapshot, token revoke: done, for people, and the index. */
	void (*done)(const char *done, uint64_t index);

	/* transfer: the leader and its term once it moved (leader.len 0: not learnt). */
	void (*transferred)(struct proto_str leader, uint64_t term);

	/* backup: FILE is written whole, with keys keys at revision, bytes long. */
	void (*backup_done)(const char *file, uint64_t keys, uint64_t revision, uint64_t bytes);
};

extern const struct output output_text;	 /* output.c */
extern const struct output output_table; /* output_table.c */
extern const struct output output_json;	 /* output_json.c */

/*
 * s on one line, as text and table output print keys and values (but get's
 * value, which goes out as it is): a backslash as \\, newline, carriage
 * return and tab as \n, \r and \t, every other control byte (0x00-0x1f,
 * 0x7f) and every byte that is not part of valid UTF-8 (RFC 3629, as
 * json.h judges it) as \xNN; with key, a space too (\x20), so that the
 * first space on a line ends the key.  What it writes is valid UTF-8.
 */
void output_escaped(FILE *f, struct proto_str s, bool key);

#endif
