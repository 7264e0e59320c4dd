/*
 * check_store_map.c — the store's file and its mapping: the size it reports
 * is the tdb file's, a transaction keeps the mapping (mapkeep), a child
 * forked while the file is held sees the store as it was at the fork, and a shared mapping
 * unmapped and made again is kept.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/types.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mapkeep.h"
#include "store.h"

#include "store_fixture.h"
#include "check_store.h"

START_TEST(test_the_file_size_is_the_tdb_files_and_follows_its_growth)
{
	static uint8_t big[4096];
	struct store *s = open_ok(dbpath);
	uint64_t bytes = 0, before;
	struct stat st;
	char key[32];

	ck_assert_int_eq(store_file_bytes(s, &bytes), 0);
	ck_assert_int_eq(stat(dbpath, &st), 0);
	ck_assert_uint_gt(bytes, 0);
	ck_assert_uint_eq(bytes, (uint64_t)st.st_size);
	before = bytes;
	ck_assert_int_eq(store_begin(s), 0);
	for (int i = 0; i < 256; i++) {
		snprintf(key, sizeof(key), "/grow/%d", i);
		set(s, (uint64_t)i + 1, 0, 0, key, big, sizeof(big));
	}
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_int_eq(store_file_bytes(s, &bytes), 0);
	ck_assert_int_eq(stat(dbpath, &st), 0);
	ck_assert_uint_eq(bytes, (uint64_t)st.st_size);
	ck_assert_uint_gt(bytes, before + 256 * sizeof(big));
	store_close(s);
}
END_TEST

/*
 * tdb remaps its file at every transaction's start; mapkeep keeps the
 * mapping.  Without it this fails: kept stays 0.
 */
START_TEST(test_a_transaction_keeps_the_stores_mapping)
{
	struct store *s = open_ok(dbpath);
	uint64_t before = mapkeep_kept();
	char key[32], val[32];

	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(store_begin(s), 0);
		snprintf(key, sizeof(key), "/keep/%d", i);
		snprintf(val, sizeof(val), "v%d", i);
		set(s, (uint64_t)i + 1, 0, 0, key, val, strlen(val));
		ck_assert_int_eq(store_commit(s), 0);
	}
	ck_assert_uint_ge(mapkeep_kept() - before, 20);
	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "/keep/%d", i);
		snprintf(val, sizeof(val), "v%d", i);
		check_value(s, key, val, strlen(val), (uint64_t)i + 1);
	}
	store_close(s);
	s = open_ok(dbpath);
	check_value(s, "/keep/19", "v19", 3, 20);
	store_close(s);
}
END_TEST

/*
 * A snapshot's writer, a child process, reads the store while the parent
 * holds its file: what the parent commits meanwhile, enough to grow a
 * file, piles up in the parent's memory and reaches neither the child nor
 * the file; a drain once it is released brings it in, and no other file
 * is left behind.
 */
START_TEST(test_a_child_forked_while_the_file_is_held_sees_the_store_as_at_the_fork)
{
	struct store *s = open_ok(dbpath);
	int ready[2], committed[2], status, files = 0;
	char *before, c = 0, big[1024], key[32];
	struct stat st0, st1;
	struct dirent *de;
	DIR *d;
	pid_t pid;

	populate(s);
	before = dump_all(s);
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(committed), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char *now;

		store_after_fork(s);
		if (write(ready[1], "r", 1) != 1 || read(committed[0], &c, 1) != 1)
			_exit(3);
		now = dump_all(s);
		if (strcmp(now, before) != 0) {
			fprintf(stderr, "the child saw\n%s\ninstead of\n%s\n", now, before);
			_exit(4);
		}
		_exit(0);
	}
	ck_assert_int_eq(store_hold(s), 0);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	ck_assert_int_eq(stat(dbpath, &st0), 0);
	ck_assert_int_eq(store_begin(s), 0);
	set(s, 8, 1, 3, "/app/a", "changed", 7);
	del(s, 9, 1, 4, "/app/b");
	memset(big, 'x', sizeof(big));
	for (int i = 0; i < 4000; i++) {
		snprintf(key, sizeof(key), "/grow/%d", i);
		set(s, 10 + (uint64_t)i, 0, 0, key, big, sizeof(big));
	}
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_int_gt(store_piled_bytes(s), 4000 * sizeof(big));
	check_value(s, "/app/a", "changed", 7, 8);
	ck_assert_int_eq(store_drain(s, 1), -EBUSY); /* held */
	ck_assert_int_eq(stat(dbpath, &st1), 0);
	ck_assert_int_eq(st1.st_size, st0.st_size);
	ck_assert_int_eq(st1.st_mtim.tv_sec, st0.st_mtim.tv_sec);
	ck_assert_int_eq(st1.st_mtim.tv_nsec, st0.st_mtim.tv_nsec);
	ck_assert_int_eq(write(committed[1], "g", 1), 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(
	    WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child: status %d", status);
	store_release(s);
	ck_assert_int_eq(store_drain(s, UINT64_MAX), 1);
	ck_assert_uint_eq(store_piled_bytes(s), 0);
	ck_assert_int_eq(store_drain(s, UINT64_MAX), 0);
	ck_assert_int_eq(stat(dbpath, &st1), 0);
	ck_assert_int_gt(st1.st_size, st0.st_size);
	check_value(s, "/app/a", "changed", 7, 8);
	ck_assert_uint_eq(store_applied(s), 4009);
	store_close(s);
	s = open_ok(dbpath);
	check_value(s, "/app/a", "changed", 7, 8);
	ck_assert_uint_eq(store_applied(s), 4009);
	ck_assert_ptr_nonnull(d = opendir(topdir));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			ck_assert_str_eq(de->d_name, "store.tdb");
			files++;
		}
	closedir(d);
	ck_assert_int_eq(files, 1);
	for (int i = 0; i < 2; i++) {
		close(ready[i]);
		close(committed[i]);
	}
	free(before);
	store_close(s);
}
END_TEST

/* A file mapped, unmapped and mapped again: the same mapping, the file's bytes. */
START_TEST(test_a_shared_mapping_unmapped_and_made_again_is_kept)
{
	char path[512], other[512];
	uint64_t before;
	size_t len = 8192;
	char *p, *q, buf[4];
	int fd, fd2;

	mapkeep_init();
	before = mapkeep_kept();
	snprintf(path, sizeof(path), "%s.map", dbpath);
	snprintf(other, sizeof(other), "%s.other", dbpath);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)len), 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	memcpy(p + 4096, "abc", 3);
	ck_assert_int_eq(munmap(p, len), 0);
	q = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(mapkeep_kept(), before + 1);
	ck_assert_int_eq(memcmp(q + 4096, "abc", 3), 0);
	memcpy(q, "xyz", 3); /* written through the kept mapping: in the file */
	ck_assert_int_eq(pread(fd, buf, 3, 0), 3);
	ck_assert_int_eq(memcmp(buf, "xyz", 3), 0);

	/* another length: mapped anew, and the held one really unmapped */
	ck_assert_int_eq(munmap(q, len), 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)(2 * len)), 0);
	q = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(q, MAP_FAILED);
	ck_assert_uint_eq(mapkeep_kept(), before + 1);
	ck_assert_int_eq(memcmp(q + 4096, "abc", 3), 0);
	ck_assert_int_eq(munmap(q, 2 * len), 0);

	/* a mapping replaced by a MAP_FIXED one is forgotten: its munmap is real */
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	q = mmap(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ck_assert_ptr_eq(q, p);
	ck_assert_int_eq(munmap(q, len), 0);
	q = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(q, MAP_FAILED);
	ck_assert_uint_eq(mapkeep_kept(), before + 1);
	ck_assert_int_eq(memcmp(q + 4096, "abc", 3), 0);
	ck_assert_int_eq(munmap(q, len), 0);

	/* another file on the same descriptor number: its own bytes */
	close(fd);
	fd2 = open(other, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd2, 0);
	ck_assert_int_eq(ftruncate(fd2, (off_t)(2 * len)), 0);
	ck_assert_int_eq(pwrite(fd2, "new", 3, 4096), 3);
	q = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
	ck_assert_ptr_ne(q, MAP_FAILED);
	ck_assert_uint_eq(mapkeep_kept(), before + 1);
	ck_assert_int_eq(memcmp(q + 4096, "new", 3), 0);
	ck_assert_int_eq(munmap(q, 2 * len), 0);
	close(fd2);
	unlink(path);
	unlink(other);
}
END_TEST

void
store_map_tests(TCase *tc)
{
	tcase_add_test(tc, test_the_file_size_is_the_tdb_files_and_follows_its_growth);
	tcase_add_test(tc, test_a_transaction_keeps_the_stores_mapping);
	tcase_add_test(tc, test_a_child_forked_while_the_file_is_held_sees_the_store_as_at_the_fork);
	tcase_add_test(tc, test_a_shared_mapping_unmapped_and_made_again_is_kept);
}
