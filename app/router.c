/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * Wiring a router from a validated config. serval-sr's main() and the
 * in-process pipeline benchmark both build their router with these, so the
 * benchmark measures the router the binary runs.
 */

#include <errno.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>

#include "flowtable.h"
#include "neigh.h"
#include "ports.h"
#include "registry.h"
#include "router.h"
#include "services.h"
#include "svctable.h"
#include "worker.h"

RTE_LOG_REGISTER(ssr_logtype_main, user.serval.main, INFO);
#define RLOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, ssr_logtype_main, "serval-sr: " fmt "\n", \
			##__VA_ARGS__)

/* In-band registration: the router's control serviceID and the hosts
 * allowed to register, as the workers check them. */
static int
setup_registration(struct ssr_router *r, const struct ssr_config *cfg)
{
	const struct ssr_cfg_registration *g = &cfg->registration;
	unsigned int i;

	if (!g->enabled)
		return 0;
	if (g->n_allow > SSR_REG_MAX_ALLOW) {
		RLOG(ERR, "%s: registration.allow lists %u prefixes, at most %u",
				cfg->source, g->n_allow, SSR_REG_MAX_ALLOW);
		return -EINVAL;
	}
	memset(&r->reg_sid, 0, sizeof(r->reg_sid));
	r->reg_sid.b[0] = (SSR_REG_ROUTER_SID >> 24) & 0xff;
	r->reg_sid.b[1] = (SSR_REG_ROUTER_SID >> 16) & 0xff;
	r->reg_sid.b[2] = (SSR_REG_ROUTER_SID >> 8) & 0xff;
	r->reg_sid.b[3] = SSR_REG_ROUTER_SID & 0xff;
	for (i = 0; i < g->n_allow; i++) {
		uint32_t mask = g->allow[i].len == 0 ? 0 :
			UINT32_MAX << (32 - g->allow[i].len);

		r->reg_allow[i][0] = rte_cpu_to_be_32(g->allow[i].addr);
		r->reg_allow[i][1] = rte_cpu_to_be_32(mask);
	}
	r->n_reg_allow = g->n_allow;
	r->reg_enabled = true;
	return 0;
}

int
ssr_router_init(struct ssr_router *r, const struct ssr_config *cfg)
{
	int ret;

	r->cfg = cfg;
	r->sal_proto = cfg->sal_ip_protocol;
	r->has_gateway = cfg->has_gateway;
	r->gateway = rte_cpu_to_be_32(cfg->gateway);
	r->tsc_hz = rte_get_tsc_hz();
	r->drain_tsc = (r->tsc_hz + 999999) / 1000000 * SSR_TX_DRAIN_US;
	/* NO_IP_CSUM: the worker checked the IPv4 checksum already */
	if (sal_parse_conf_init(&r->sal_conf, cfg->sal_ip_protocol,
				SAL_PARSE_F_NO_IP_CSUM) != 0) {
		RLOG(ERR, "sal.ip_protocol %u refused by lib/sal", cfg->sal_ip_protocol);
		return -EINVAL;
	}
	/* per-rule counters: one slot per rule the table holds, and room for
	 * slots still in a grace period after their rule went */
	r->n_rule_slots = ssr_services_slots(cfg) + 1024;
	r->n_tgt_ctr = r->n_rule_slots * SSR_TGT_CTR_PER_SLOT;
	ret = setup_registration(r, cfg);
	if (ret != 0)
		return ret;
	r->neigh = ssr_neigh_create(rte_socket_id(), cfg->arp.queue);
	if (r->neigh == NULL) {
		RLOG(ERR, "cannot allocate the neighbour table");
		return -ENOMEM;
	}
	return 0;
}

int
ssr_router_start_workers(struct ssr_router *r, const unsigned int *lcores,
		unsigned int n)
{
	int socket = rte_socket_id();
	unsigned int i;
	int ret;

	if (n == 0 || n > SSR_MAX_WORKERS)
		return -EINVAL;
	r->n_workers = n;
	r->qsv = rte_zmalloc_socket("ssr_qsbr", rte_rcu_qsbr_get_memsize(n),
			RTE_CACHE_LINE_SIZE, socket);
	if (r->qsv == NULL || rte_rcu_qsbr_init(r->qsv, n) != 0) {
		RLOG(ERR, "cannot create the QSBR variable");
		return -ENOMEM;
	}
	r->ctl_ring = rte_ring_create("ssr_ctl", SSR_CONTROL_RING_SIZE, socket,
			RING_F_SC_DEQ);
	if (r->ctl_ring == NULL) {
		RLOG(ERR, "cannot create the control ring: %s", rte_strerror(rte_errno));
		return -rte_errno;
	}
	/* ports need the worker count; workers need the ports' queue map */
	ret = ssr_ports_init(r);
	if (ret != 0)
		return ret;
	for (i = 0; i < n; i++) {
		r->workers[i] = ssr_worker_create(r, i, lcores[i]);
		if (r->workers[i] == NULL) {
			RLOG(ERR, "worker %u: %s", i, rte_strerror(rte_errno));
			return -rte_errno;
		}
		if (rte_rcu_qsbr_thread_register(r->qsv, i) != 0)
			return -EINVAL;
	}
	return 0;
}

/* The gateway-mode flow table: split over the workers, aged in TSC cycles. */
static struct flowtable *
create_flows(const struct ssr_router *r)
{
	const struct ssr_cfg_flows *f = &r->cfg->flows;
	uint64_t ms = r->tsc_hz / 1000;
	struct flowtable_conf conf = {
		.name = "ssr_flows",
		.max_flows = f->max,
		.n_workers = r->n_workers,
		.socket_id = rte_socket_id(),
	};

	conf.timeout[FLOWTABLE_STATE_FREE] = ms; /* unused; must not be 0 */
	conf.timeout[FLOWTABLE_STATE_SYN_SEEN] = ms * f->syn_timeout_ms;
	conf.timeout[FLOWTABLE_STATE_ESTABLISHED] = ms * f->established_timeout_ms;
	conf.timeout[FLOWTABLE_STATE_CLOSING] = ms * f->closing_timeout_ms;
	return flowtable_create(&conf);
}

int
ssr_router_create_tables(struct ssr_router *r)
{
	r->svc = ssr_services_create(r->cfg, rte_socket_id());
	if (r->svc == NULL || svctable_rcu_attach(r->svc, r->qsv) != 0) {
		RLOG(ERR, "cannot create the service table: %s", rte_strerror(rte_errno));
		return -ENOMEM;
	}
	r->ft = create_flows(r);
	if (r->ft == NULL || flowtable_rcu_attach(r->ft, r->qsv) != 0) {
		RLOG(ERR, "cannot create the flow table (flows.max %u): %s",
				r->cfg->flows.max, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	return 0;
}
