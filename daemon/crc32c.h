/*
 * crc32c.h — CRC-32C (Castagnoli), the checksum of every WAL record and
 * snapshot record.
 *
 * Convention: crc32c(0, buf, len) is the standard CRC-32C of buf (initial
 * value ~0, final xor ~0, reflected polynomial 0x82F63B78), so
 * crc32c(0, "123456789", 9) == 0xE3069283.  The pre- and post-inversion
 * happen inside the call, so the result of one call is the seed of the next:
 *
 *	crc32c(crc32c(0, a, alen), b, blen) == crc32c(0, a ‖ b, alen + blen)
 *
 * Thread-safe, never blocks, never fails.  Uses the SSE4.2 crc32 instruction
 * when the CPU has it (checked once at run time), a slice-by-8 table
 * otherwise; both give the same results.
 */
#ifndef RAFTCONF_CRC32C_H
#define RAFTCONF_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* The portable table path alone; for tests that compare both paths. */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);

#endif
