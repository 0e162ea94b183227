/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#ifndef SAL_VECTORS_H
#define SAL_VECTORS_H

/* Hand-checked IPv4 + SAL packets (from the IPv4 header on), shared by the
 * unit tests and the fuzz seed corpus. Field-by-field reasoning is next to
 * the bytes in sal_vectors.c. */

#include <stdint.h>

struct sal_vector {
	const char *name;
	const uint8_t *bytes;
	uint32_t len;
};

extern const uint8_t vec_syn[116];          /* router-in #0: CONTROL SYN + SERVICE, TCP SYN */
extern const uint8_t vec_data[52];          /* router-in #6: shl 3, TCP ACK, no extension */
extern const uint8_t vec_fin[52];           /* router-in #33: CONTROL FIN, no transport */
extern const uint8_t vec_synack_source[96]; /* router-in #1: SYN+ACK with SOURCE x3 */
extern const uint8_t vec_dgram[116];        /* two SERVICE, UDP (scapy layer) */
extern const uint8_t vec_syn_source[120];   /* SYN with SOURCE x2 (scapy layer) */
extern const uint8_t vec_syn_source_fwd[124]; /* vec_syn_source forwarded to 10.0.7.7 */
extern const uint8_t vec_dgram_fwd[128];    /* vec_dgram forwarded to 192.0.2.99 */

extern const struct sal_vector sal_vectors[];
extern const uint32_t sal_nb_vectors;

#endif /* SAL_VECTORS_H */
