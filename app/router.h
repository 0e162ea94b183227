/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/**
 * @file
 * The router's run-time state shared by the control lcore and the workers.
 *
 * Ownership legend: [I] immutable once the workers are launched, [C] control
 * lcore only, [W] owning worker only, [R] published for workers' acquire
 * loads. Addresses here are in network byte order (the data path compares
 * them against packet fields directly).
 */

#ifndef SSR_ROUTER_H
#define SSR_ROUTER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_rcu_qsbr.h>

#include "config.h"
#include "sal_parse.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Packets per RX burst and per TX buffer. */
#define SSR_BURST 32
/** Most workers (and so queues per port) the router runs. */
#define SSR_MAX_WORKERS 64
/** Prefetch this many packets ahead in the worker's loops. */
#define SSR_PREFETCH_OFFSET 3
/** Slots in the ring from workers to the control lcore. */
#define SSR_CONTROL_RING_SIZE 4096
/** Slots in each worker's TX hand-off ring. */
#define SSR_INBOX_SIZE 1024
/** TX buffers are flushed at least this often (microseconds). */
#define SSR_TX_DRAIN_US 100
/** Most `registration.allow` prefixes the data path checks. */
#define SSR_REG_MAX_ALLOW 64
/** Health-probe flowIDs (host order): top byte 0xff (never a local-flow
 * worker, see local.h) and bit 0 clear (never an instance-side gateway
 * flowID, which is what a SYN-ACK of a gateway flow is sent to). */
#define SSR_PROBE_FLOWID_TAG 0xff000000u
#define SSR_PROBE_FLOWID_MASK 0xff000001u

struct ssr_worker;
struct ssr_neigh;
struct svctable;
struct flowtable;

/** One port as the data path sees it. */
struct ssr_port {
	uint16_t port_id;            /**< [I] DPDK port id */
	int socket;                  /**< [I] NUMA socket of the device */
	rte_be32_t addr;             /**< [I] router address */
	rte_be32_t mask;             /**< [I] subnet mask */
	rte_be32_t bcast;            /**< [I] subnet broadcast address */
	struct rte_ether_addr mac;   /**< [I] port MAC */
	uint16_t nb_queues;          /**< [I] RX = TX queues configured */
	bool rss;                    /**< [I] RSS spreads RX over the queues */
	uint16_t rxq_worker[SSR_MAX_WORKERS]; /**< [I] worker polling RX queue q */
	uint16_t txq_owner[SSR_MAX_WORKERS];  /**< [I] worker owning TX queue q */
	struct rte_mempool *pool;    /**< [I] mbufs on this port's socket */
	bool started;                /**< [C] */
};

/** Everything the data path reads; set up by main.c before launch. */
struct ssr_router {
	const struct ssr_config *cfg;          /**< [I] */
	unsigned int n_ports;                  /**< [I] */
	struct ssr_port port[SSR_CFG_MAX_PORTS]; /**< [I] in config order */
	int8_t port_idx[RTE_MAX_ETHPORTS];     /**< [I] port id -> index or -1 */
	bool has_gateway;                      /**< [I] */
	rte_be32_t gateway;                    /**< [I] */
	uint8_t sal_proto;                     /**< [I] IP protocol carrying SAL */
	struct sal_parse_conf sal_conf;        /**< [I] */
	struct svctable *svc;                  /**< [R] rules; [C] writes */
	struct flowtable *ft;                  /**< gateway-mode flows (workers) */
	struct ssr_neigh *neigh;               /**< [R] entries; [C] writes */
	struct rte_ring *ctl_ring;             /**< workers -> control (MP/SC) */
	unsigned int n_workers;                /**< [I] */
	struct ssr_worker *workers[SSR_MAX_WORKERS]; /**< [I] */
	struct rte_rcu_qsbr *qsv;              /**< [I] workers report here */
	struct rte_mempool *pools[RTE_MAX_NUMA_NODES]; /**< [I] per socket */
	uint64_t tsc_hz;                       /**< [I] */
	uint64_t drain_tsc;                    /**< [I] SSR_TX_DRAIN_US in TSC */
	/** [I] per-rule counter slots each worker keeps (0: none). Set
	 * before ssr_worker_create(); the rule model's slot count. */
	uint32_t n_rule_slots;
	/** [I] per-target counter entries each worker keeps (0: none). */
	uint32_t n_tgt_ctr;
	/** [I] in-band registration: serviceID the router answers to. */
	struct sal_service_id reg_sid;
	/** [I] in-band registration is on (the config has `registration`). */
	bool reg_enabled;
	/** [I] hosts allowed to register: address and mask, network order. */
	unsigned int n_reg_allow;
	rte_be32_t reg_allow[SSR_REG_MAX_ALLOW][2];
	/** [R] health probes are out: SYN-ACKs to probe flowIDs go to the
	 * control lcore. Relaxed loads; the control lcore stores it. */
	uint32_t probes_on;
};

/** Set by the signal handler or the idle check; read by every loop. */
extern int ssr_stop_flag;

/** True once a stop was requested. Any thread. */
static inline bool
ssr_stop_requested(void)
{
	/* relaxed: a flag polled in a loop; nothing is published with it */
	return __atomic_load_n(&ssr_stop_flag, __ATOMIC_RELAXED) != 0;
}

/** Ask every loop to stop. Any thread, async-signal-safe. */
static inline void
ssr_request_stop(void)
{
	/* relaxed: see ssr_stop_requested() */
	__atomic_store_n(&ssr_stop_flag, 1, __ATOMIC_RELAXED);
}

/** Index of the port whose connected subnet holds @p ip, or -1. */
static inline int
ssr_connected_port(const struct ssr_router *r, rte_be32_t ip)
{
	unsigned int i;

	for (i = 0; i < r->n_ports; i++)
		if (((ip ^ r->port[i].addr) & r->port[i].mask) == 0)
			return i;
	return -1;
}

/** True when @p a (network order) is one of the router's port addresses. */
static inline bool
ssr_is_router_addr(const struct ssr_router *r, rte_be32_t a)
{
	unsigned int i;

	for (i = 0; i < r->n_ports; i++)
		if (r->port[i].addr == a)
			return true;
	return false;
}

/**
 * Route a destination: the output port index and the next hop (the
 * destination itself when connected, else the gateway). -1 when unroutable.
 */
static inline int
ssr_route(const struct ssr_router *r, rte_be32_t dst, rte_be32_t *nexthop)
{
	int p = ssr_connected_port(r, dst);

	if (p >= 0) {
		*nexthop = dst;
		return p;
	}
	if (!r->has_gateway)
		return -1;
	*nexthop = r->gateway;
	return ssr_connected_port(r, r->gateway);
}

/** Worker owning a TX queue on port index @p pidx that @p worker should use. */
static inline uint16_t
ssr_tx_owner(const struct ssr_router *r, unsigned int pidx, unsigned int worker)
{
	const struct ssr_port *p = &r->port[pidx];

	return p->txq_owner[worker % p->nb_queues];
}

/** Log type of serval-sr's start-up and shutdown (user.serval.main). */
extern int ssr_logtype_main;

/**
 * Set @p r up from a validated config (app/router.c): the fields the data
 * path reads, the SAL parser's conf, counter slots, in-band registration and
 * the neighbour table. Main lcore, after rte_eal_init().
 *
 * @return
 *   0, or -EINVAL (the config asks for what lib/sal or the router cannot
 *   do), -ENOMEM; logged.
 */
int
ssr_router_init(struct ssr_router *r, const struct ssr_config *cfg);

/**
 * The RCU variable, the control ring, the ports (one queue pair per
 * worker) and worker i on lcores[i] for each of the @p n workers, each
 * registered with the RCU variable (offline until its loop starts). Main
 * lcore, after ssr_router_init().
 *
 * @return
 *   0, or -EINVAL (n is 0 or above SSR_MAX_WORKERS), -ENOMEM, or the
 *   port set-up's error; logged. ssr_ports_close() and ssr_worker_free()
 *   undo what was done.
 */
int
ssr_router_start_workers(struct ssr_router *r, const unsigned int *lcores,
		unsigned int n);

/**
 * The service table and the gateway flow table, attached to the RCU
 * variable. Main lcore, after ssr_router_start_workers().
 *
 * @return
 *   0 or -ENOMEM; logged.
 */
int
ssr_router_create_tables(struct ssr_router *r);

#ifdef __cplusplus
}
#endif

#endif /* SSR_ROUTER_H */
