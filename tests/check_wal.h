/*
 * check_wal.h — what the files of check_wal share: the test's directory
 * (waldir; setup and teardown), the counts of fdatasync and fsync calls,
 * the helpers that write, reopen and check a wal and read its segment
 * files (check_wal.c), the hand-made segments (check_wal_segments.c), and
 * the functions by which each file adds its tests to the test case, in the
 * order check_wal.c calls them.
 */
#ifndef CHECK_WAL_H
#define CHECK_WAL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "wal.h"

/* fdatasync and fsync calls of the wal, but on the spare segment. */
extern _Atomic int n_fdatasync, n_fsync;

extern char waldir[300];
void setup(void);
void teardown(void);

void entry_data(char *buf, size_t len, uint64_t index, uint64_t term);
/* Append [from, to] with the given term, in batches of batch, syncing after each. */
void append_range(struct wal *w, uint64_t from, uint64_t to, uint64_t term, size_t batch);
/* The recovered log is exactly [first, last] with the data append_range writes. */
void check_log(const struct wal_recovered *rec, uint64_t first, uint64_t last,
	uint64_t (*term_of)(uint64_t));
/* The same for a log that may keep a margin below its snapshot. */
void check_log_from(const struct wal_recovered *rec, uint64_t first, uint64_t last,
	uint64_t (*term_of)(uint64_t));
uint64_t term_one(uint64_t index);
struct wal *open_ok(struct wal_recovered *rec);
/* Opening must fail with -EBADMSG; returns the message. */
void open_fails(char *err, size_t errlen);
/* Segment file names in waldir, sorted. */
int list_segs(char names[][64], int max);
uint8_t *read_file(const char *name, size_t *size);
void write_file(const char *name, const uint8_t *b, size_t size);
size_t file_size(const char *name);
/* Offset of the last nonzero byte of b[from, to), plus one; from if none. */
size_t nonzero_end(const uint8_t *b, size_t from, size_t to);
/* Offsets of the records of a segment image, sync marks left out; *end: where they end. */
int record_offsets(const uint8_t *b, size_t size, size_t *offs, int max, size_t *end);
/* A wal of entries 1..5 (term 1), closed; returns the single segment's name. */
void make_five(char *name);

/* A hand-made segment: header then records of (type, payload). */
struct rawrec {
	uint8_t type;
	uint8_t payload[32];
	size_t len;
};

struct rawrec raw_entry(uint64_t index, uint64_t term);
void write_raw_segment(const struct rawrec *recs, size_t n);

void wal_segment_tests(TCase *tc);
void wal_sync_tests(TCase *tc);

#endif
