/*
 * tdbutil.h — small helpers around libtdb shared by the store's files: a
 * TDB_DATA view of bytes or of a string, and tdb's last error as a
 * negative errno.
 */
#ifndef RAFTCONF_TDBUTIL_H
#define RAFTCONF_TDBUTIL_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <tdb.h>

static inline TDB_DATA
tdata(const void *p, size_t len)
{
	TDB_DATA d = { .dptr = (unsigned char *)(uintptr_t)p, .dsize = len };

	return d;
}

static inline TDB_DATA
tstr(const char *s)
{
	return tdata(s, strlen(s));
}

static inline int
tdb_errno(struct tdb_context *tdb)
{
	switch (tdb_error(tdb)) {
	case TDB_SUCCESS:
		return -EIO;
	case TDB_ERR_CORRUPT:
		return -EBADMSG;
	case TDB_ERR_OOM:
		return -ENOMEM;
	case TDB_ERR_NOEXIST:
		return -ENOENT;
	case TDB_ERR_EXISTS:
		return -EEXIST;
	case TDB_ERR_EINVAL:
		return -EINVAL;
	case TDB_ERR_RDONLY:
		return -EROFS;
	default:
		return -EIO;
	}
}

#endif
