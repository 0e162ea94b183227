/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/**
 * @file
 * Port setup: mbuf pools per NUMA socket, one RX and one TX queue per worker
 * per port (RSS over IPv4 addresses when the device can), and the mapping of
 * queues to workers when a device has fewer queues than there are workers.
 * Main lcore only, before launch and after the workers stop.
 */

#ifndef SSR_PORTS_H
#define SSR_PORTS_H

#include <stdio.h>

#include "router.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Configure and start every port of r->cfg for r->n_workers workers and fill
 * r->port[], r->port_idx[] and r->pools[].
 *
 * Queue mapping: a port gets min(workers, device RX limit, device TX limit)
 * queue pairs; with more than one it needs IPv4 RSS, or it falls back to one
 * (and says so). RX queue q of the port with index i is polled by worker
 * (i * nq + q) % workers, which spreads single-queue ports (net_pcap,
 * net_ring) over different workers; TX queue q belongs to the same worker.
 * A worker that owns no TX queue on a port hands its packets to an owner.
 *
 * @return
 *   0, or -errno with the reason logged (ENODEV: no such port).
 */
int
ssr_ports_init(struct ssr_router *r);

/** Print each port's device counters (rte_eth_stats). */
void
ssr_ports_print_stats(const struct ssr_router *r, FILE *f);

/** Stop and close every started port (a net_pcap TX file is complete after). */
void
ssr_ports_close(struct ssr_router *r);

/** Free the mbuf pools (after the ports are closed). */
void
ssr_ports_free_pools(struct ssr_router *r);

#ifdef __cplusplus
}
#endif

#endif /* SSR_PORTS_H */
