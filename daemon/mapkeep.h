/*
 * mapkeep.h — a shared file mapping that tdb unmaps and maps again,
 * unchanged, is kept (mapkeep.c says why and how).
 */
#ifndef RAFTCONF_MAPKEEP_H
#define RAFTCONF_MAPKEEP_H

#include <stdint.h>

/* Arm it (store_open does): until then mmap and munmap only pass through.
 * Idempotent and thread-safe. */
void mapkeep_init(void);

/* How many times a mapping was kept rather than made anew, since start. */
uint64_t mapkeep_kept(void);

#endif
