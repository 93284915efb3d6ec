/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of the journal's records.
 *
 * The parameters are those of iSCSI (RFC 3720 section 12.1 and B.4),
 * ext4, Btrfs and SSE4.2's crc32 instruction: polynomial 0x1EDC6F41
 * (0x82F63B78 reflected), input and output reflected, initial value and
 * final XOR 0xFFFFFFFF. CRC-32C was chosen over zlib's CRC-32 for its
 * better error detection at the lengths we store (Castagnoli 1993) and
 * because x86-64 computes it in hardware.
 *
 * srv_crc32c() uses the SSE4.2 instruction when the CPU has it (checked at
 * run time; the check reads the compiler runtime's CPU model, which it
 * fills once before main) and the portable slicing-by-8 table code
 * otherwise; both give identical results (tests/unit/check_crc32c.c holds
 * them to the RFC 3720 B.4 vectors and to each other). No allocation, no
 * mutable state: safe from any thread.
 */
#ifndef SRV_CRC32C_H
#define SRV_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * Extends crc, the CRC-32C of some bytes A (0 for no bytes), to the CRC of
 * A followed by p[0..len), and returns it:
 *     srv_crc32c(srv_crc32c(0, a, n), b, m) == CRC-32C of a||b.
 * The pre- and post-inversion happen inside, so a finished value is passed
 * back as is. p may be NULL only when len is 0 (crc is then returned).
 */
uint32_t srv_crc32c(uint32_t crc, const void *p, size_t len);

/* The portable slicing-by-8 implementation, whatever the CPU. Same
 * contract as srv_crc32c(); exposed so the tests cover it on machines
 * that take the hardware path. */
uint32_t srv_crc32c_sw(uint32_t crc, const void *p, size_t len);

/* 1 when srv_crc32c() uses the CPU's crc32 instruction, else 0. */
int srv_crc32c_hw_available(void);

#endif
