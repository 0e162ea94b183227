/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include "ports.h"

RTE_LOG_REGISTER(ssr_logtype_ports, user.serval.ports, INFO);
#define PLOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, ssr_logtype_ports, "ports: " fmt "\n", ##__VA_ARGS__)

#define SSR_MBUF_CACHE 256

static int
port_socket(uint16_t port_id)
{
	int s = rte_eth_dev_socket_id(port_id);

	/* virtual devices have no socket: use the main lcore's */
	if (s < 0 || s >= RTE_MAX_NUMA_NODES)
		s = rte_lcore_to_socket_id(rte_get_main_lcore());
	if (s < 0 || s >= RTE_MAX_NUMA_NODES)
		s = 0;
	return s;
}

/* Decide queue counts, RSS, sockets; no device is touched yet but info. */
static int
plan_port(struct ssr_router *r, unsigned int i, const struct ssr_cfg_port *cp,
		struct rte_eth_dev_info *info)
{
	struct ssr_port *p = &r->port[i];
	uint16_t nq;
	unsigned int q;
	int ret;

	if (!rte_eth_dev_is_valid_port(cp->port_id)) {
		PLOG(ERR, "ports[%u]: DPDK port %u does not exist (%u ports found; "
				"check -a / --vdev)", i, cp->port_id, rte_eth_dev_count_avail());
		return -ENODEV;
	}
	ret = rte_eth_dev_info_get(cp->port_id, info);
	if (ret != 0) {
		PLOG(ERR, "port %u: cannot get device info: %s", cp->port_id,
				strerror(-ret));
		return ret;
	}
	p->port_id = cp->port_id;
	p->socket = port_socket(cp->port_id);
	p->addr = rte_cpu_to_be_32(cp->addr);
	p->mask = rte_cpu_to_be_32(cp->prefix_len == 0 ? 0 :
			UINT32_MAX << (32 - cp->prefix_len));
	p->bcast = p->addr | ~p->mask;
	nq = r->n_workers;
	if (info->max_rx_queues < nq)
		nq = info->max_rx_queues;
	if (info->max_tx_queues < nq)
		nq = info->max_tx_queues;
	if (nq == 0)
		nq = 1;
	p->rss = false;
	if (nq > 1 && (info->flow_type_rss_offloads & RTE_ETH_RSS_IP) == 0) {
		PLOG(WARNING, "port %u (%s): no IPv4 RSS; using one queue pair "
				"for %u workers", cp->port_id, info->driver_name, r->n_workers);
		nq = 1;
	} else if (nq > 1) {
		p->rss = true;
	}
	if (nq < r->n_workers)
		PLOG(NOTICE, "port %u (%s): %u queue pair(s) for %u workers; the "
				"others hand TX to the owners", cp->port_id,
				info->driver_name, nq, r->n_workers);
	p->nb_queues = nq;
	for (q = 0; q < nq; q++) {
		p->rxq_worker[q] = (i * nq + q) % r->n_workers;
		p->txq_owner[q] = p->rxq_worker[q];
	}
	return 0;
}

static int
create_pools(struct ssr_router *r)
{
	unsigned int need[RTE_MAX_NUMA_NODES] = { 0 };
	unsigned int i, s;

	for (i = 0; i < r->n_ports; i++) {
		const struct ssr_cfg_port *cp = &r->cfg->ports[i];
		struct ssr_port *p = &r->port[i];

		need[p->socket] += p->nb_queues * (cp->rx_desc + cp->tx_desc) +
			r->n_workers * SSR_BURST * 2;
	}
	for (s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		char name[RTE_MEMPOOL_NAMESIZE];
		unsigned int n = 1;

		if (need[s] == 0)
			continue;
		/* workers' caches, hand-off rings, control ring, ARP queues */
		need[s] += (r->n_workers + 1) * (SSR_MBUF_CACHE + SSR_BURST) +
			r->n_workers * SSR_INBOX_SIZE + SSR_CONTROL_RING_SIZE + 4096;
		while (n - 1 < need[s])
			n <<= 1;
		snprintf(name, sizeof(name), "ssr_mbuf_s%u", s);
		r->pools[s] = rte_pktmbuf_pool_create(name, n - 1, SSR_MBUF_CACHE, 0,
				RTE_MBUF_DEFAULT_BUF_SIZE, s);
		if (r->pools[s] == NULL) {
			PLOG(ERR, "socket %u: cannot create a pool of %u mbufs: %s", s,
					n - 1, rte_strerror(rte_errno));
			return -rte_errno;
		}
		PLOG(INFO, "socket %u: %u mbufs", s, n - 1);
	}
	for (i = 0; i < r->n_ports; i++)
		r->port[i].pool = r->pools[r->port[i].socket];
	return 0;
}

static int
start_port(struct ssr_router *r, unsigned int i, const struct ssr_cfg_port *cp,
		const struct rte_eth_dev_info *info)
{
	struct ssr_port *p = &r->port[i];
	struct rte_eth_conf conf;
	uint16_t nrx = cp->rx_desc, ntx = cp->tx_desc;
	unsigned int q;
	int ret;

	memset(&conf, 0, sizeof(conf));
	if (p->rss) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		/* addresses only: SAL's TCP ports are always 0 and flowIDs are
		 * not where an RSS engine looks */
		conf.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_IP &
			info->flow_type_rss_offloads;
	}
	if (info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM)
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
	ret = rte_eth_dev_configure(p->port_id, p->nb_queues, p->nb_queues, &conf);
	if (ret != 0) {
		PLOG(ERR, "port %u: configure: %s", p->port_id, strerror(-ret));
		return ret;
	}
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &nrx, &ntx);
	if (ret != 0) {
		PLOG(ERR, "port %u: descriptors: %s", p->port_id, strerror(-ret));
		return ret;
	}
	for (q = 0; q < p->nb_queues; q++) {
		struct rte_eth_rxconf rxc = info->default_rxconf;

		rxc.offloads = conf.rxmode.offloads;
		ret = rte_eth_rx_queue_setup(p->port_id, q, nrx, p->socket, &rxc,
				p->pool);
		if (ret != 0) {
			PLOG(ERR, "port %u: RX queue %u: %s", p->port_id, q, strerror(-ret));
			return ret;
		}
		ret = rte_eth_tx_queue_setup(p->port_id, q, ntx, p->socket,
				&info->default_txconf);
		if (ret != 0) {
			PLOG(ERR, "port %u: TX queue %u: %s", p->port_id, q, strerror(-ret));
			return ret;
		}
	}
	ret = rte_eth_macaddr_get(p->port_id, &p->mac);
	if (ret != 0) {
		PLOG(ERR, "port %u: cannot read MAC: %s", p->port_id, strerror(-ret));
		return ret;
	}
	if (cp->has_mac) {
		struct rte_ether_addr mac;

		memcpy(mac.addr_bytes, cp->mac, RTE_ETHER_ADDR_LEN);
		ret = rte_eth_dev_default_mac_addr_set(p->port_id, &mac);
		if (ret == -ENOTSUP) {
			/* e.g. net_pcap: take the MAC in software; the device must
			 * then hand us every frame and the L2 filter picks ours */
			ret = rte_eth_promiscuous_enable(p->port_id);
			if (ret != 0) {
				PLOG(ERR, "port %u: can neither set its MAC nor enter "
						"promiscuous mode: %s", p->port_id,
						strerror(-ret));
				return ret;
			}
			PLOG(NOTICE, "port %u: the device keeps its MAC; using the "
					"configured one in software (promiscuous mode)",
					p->port_id);
		} else if (ret != 0) {
			PLOG(ERR, "port %u: cannot set MAC: %s", p->port_id, strerror(-ret));
			return ret;
		}
		p->mac = mac;
	}
	ret = rte_eth_dev_start(p->port_id);
	if (ret != 0) {
		PLOG(ERR, "port %u: start: %s", p->port_id, strerror(-ret));
		return ret;
	}
	p->started = true;
	PLOG(INFO, "port %u (%s): " RTE_ETHER_ADDR_PRT_FMT " %u.%u.%u.%u/%u, "
			"socket %d, %u queue pair(s)%s, %u/%u descriptors",
			p->port_id, info->driver_name, RTE_ETHER_ADDR_BYTES(&p->mac),
			cp->addr >> 24, (cp->addr >> 16) & 0xff, (cp->addr >> 8) & 0xff,
			cp->addr & 0xff, cp->prefix_len, p->socket, p->nb_queues,
			p->rss ? " with RSS" : "", nrx, ntx);
	return 0;
}

int
ssr_ports_init(struct ssr_router *r)
{
	struct rte_eth_dev_info info[SSR_CFG_MAX_PORTS];
	unsigned int i;
	int ret;

	memset(r->port_idx, -1, sizeof(r->port_idx));
	r->n_ports = r->cfg->n_ports;
	for (i = 0; i < r->n_ports; i++) {
		ret = plan_port(r, i, &r->cfg->ports[i], &info[i]);
		if (ret != 0)
			return ret;
		r->port_idx[r->cfg->ports[i].port_id] = i;
	}
	ret = create_pools(r);
	if (ret != 0)
		return ret;
	for (i = 0; i < r->n_ports; i++) {
		ret = start_port(r, i, &r->cfg->ports[i], &info[i]);
		if (ret != 0)
			return ret;
	}
	return 0;
}

void
ssr_ports_print_stats(const struct ssr_router *r, FILE *f)
{
	unsigned int i;

	for (i = 0; i < r->n_ports; i++) {
		struct rte_eth_stats st;

		if (!r->port[i].started ||
				rte_eth_stats_get(r->port[i].port_id, &st) != 0)
			continue;
		fprintf(f, "port %u:\n  ipackets: %" PRIu64 "\n  opackets: %" PRIu64
				"\n  imissed: %" PRIu64 "\n  ierrors: %" PRIu64
				"\n  oerrors: %" PRIu64 "\n  rx_nombuf: %" PRIu64 "\n",
				r->port[i].port_id, st.ipackets, st.opackets, st.imissed,
				st.ierrors, st.oerrors, st.rx_nombuf);
	}
}

void
ssr_ports_close(struct ssr_router *r)
{
	unsigned int i;

	for (i = 0; i < r->n_ports; i++) {
		int ret;

		if (!r->port[i].started)
			continue;
		ret = rte_eth_dev_stop(r->port[i].port_id);
		if (ret != 0)
			PLOG(WARNING, "port %u: stop: %s", r->port[i].port_id,
					strerror(-ret));
		rte_eth_dev_close(r->port[i].port_id);
		r->port[i].started = false;
	}
}

void
ssr_ports_free_pools(struct ssr_router *r)
{
	unsigned int s;

	for (s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		rte_mempool_free(r->pools[s]);
		r->pools[s] = NULL;
	}
}
