/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * bench_pipeline: the real worker path of serval-sr on pre-built mbuf
 * bursts, no NIC, against a bare receive-and-transmit loop on the same
 * harness in the same run.
 *
 * A router is wired in-process the way main.c wires it (rule model, flow
 * table, static neighbours, QSBR), its one port a net_null vdev with no-rx
 * (transmit frees, receive returns nothing). Each measured iteration of a
 * lane (one worker on one lcore):
 *   harness:  rte_pktmbuf_alloc_bulk(32) from the port's pool, copy the
 *             next 32 pre-built frames into them (the router rewrites
 *             headers in place, so every burst starts from the templates);
 *   router:   RX counter + ssr_worker_process_burst() (classify, parse,
 *             lookups, rewrite, buffered TX) + ssr_worker_poll() (the rest
 *             of a loop pass: an RX poll that finds nothing, hand-off
 *             inbox, TX flush, flow expiry, local timers, QSBR report);
 *   baseline: rte_eth_rx_burst() (finds nothing, as the router's poll) +
 *             rte_eth_tx_burst() of the burst: what io forwarding does.
 * Both sides pay the same harness, so ratio = router rate / baseline rate
 * on the same frames measures the router's own work per packet.
 *
 * Cases (SAL over IPv4, TCP transport):
 *   resolve_syn     SYNs to serviceIDs under random resolve-mode rules of
 *                   the bulk set (rewritten with a SOURCE extension, sent
 *                   to the picked target); 122-byte frames
 *   gateway_data    data packets of established gateway-mode flows, both
 *                   directions (client -> instance, instance -> client),
 *                   flows created in setup by SYN, SYN-ACK and ACK through
 *                   the real path, router flowIDs taken from the table;
 *                   66-byte frames
 *   local           SYNs to a LOCAL rule, answered by the router's own
 *                   endpoint with a SYN-ACK (64 flows per worker, SYNs
 *                   repeated: the retransmission path, one reply each)
 *   drop_rule       SYNs matching a DROP rule
 *   drop_malformed  SYNs with a corrupted SAL checksum (dropped by the
 *                   parser)
 * Every phase checks the worker counters afterwards (e.g. resolve_syn:
 * resolved == sent == packets); a case that took another path fails the
 * run instead of reporting a figure for the wrong thing.
 *
 * Sizes: default 4096 rules and 4096 flows (meson benchmark, seconds);
 * --full 1M resolve rules and 1M gateway flows installed at once. Each
 * round draws fresh templates uniformly over the installed rules / flows
 * (16384 per lane, 65536 with --full; --templates N). Rates are the median
 * of the rounds; each round runs the baseline then the case, interleaved.
 * Workers: --workers 1,2 (default: 1, and 2 when the EAL has 2 lcores);
 * lane i runs on the i-th EAL lcore, the main lcore included, and the rate
 * is the sum over lanes; a fresh router is built for each worker count.
 *
 * Diagnostics: --breakdown times the case's table lookups alone on the same
 * templates (svctable lookup + pick, flowtable lookup; one worker);
 * --no-rule-counters runs the cases that count per rule again with the
 * workers' per-rule and per-target counters off (rows "<case>.no_rule_
 * counters"), to show their share; --thp backs the EAL's --no-huge memory
 * with transparent huge pages (madvise), as hugepages would, to show what
 * 4 KB pages cost the big tables. Every row also says how many workers
 * at its per-worker rate a port of --link-gbps (default 10) at line rate
 * with the case's frames would keep busy ("wrk@10G"). Instructions per
 * packet, exactly:
 *   valgrind --tool=callgrind --toggle-collect=router_iter \
 *       --toggle-collect=base_iter bench_pipeline ... -- --cases resolve_syn
 * (router_iter / base_iter: one burst of the router / the baseline; divide
 * by 32 x their call counts).
 *
 * Usage: bench_pipeline [EAL args] -- [--json] [--full] [--rules N]
 *          [--flows N] [--workers a,b] [--rounds N] [--seconds S]
 *          [--templates N] [--cases a,b,...] [--breakdown]
 *          [--no-rule-counters] [--thp] [--link-gbps G]
 */

#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_memory.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "config.h"
#include "control.h"
#include "flowtable.h"
#include "neigh.h"
#include "ports.h"
#include "router.h"
#include "sal_build.h"
#include "services.h"
#include "stats.h"
#include "svctable.h"
#include "worker.h"

/* Defined by main.c in the binary; the library's loops read it. */
int ssr_stop_flag;

#define BURST SSR_BURST
/* Bytes per pre-built frame slot (the largest frame here is 122). */
#define STRIDE 128
#define N_TARGETS 16
#define N_CLIENTS 64
#define LOCAL_FLOWS 64
#define MAX_LANES 16
/* Bulk rules per rule-model transaction (see router_build()). */
#define LOAD_CHUNK 16384

/* Addresses, host order: one /8 subnet holds the router, the targets
 * (10.2.0.x) and the clients (10.1.0.x), all static neighbours. */
#define ROUTER_IP 0x0a000001u
#define TARGET_IP(i) (0x0a020001u + (i))
#define CLIENT_IP(i) (0x0a010001u + (i))
/* serviceIDs of the special rules: first byte 0xff, which no bulk rule
 * uses. */
#define SID_GATEWAY 0xff000001u
#define SID_LOCAL 0xff000002u
#define SID_DROP 0xff000003u

static const uint8_t router_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };

/* In the order they run: local last, as its flows stay (their SYN-ACK
 * retransmission timers are the only traffic a worker makes up). */
enum bcase {
	C_RESOLVE,
	C_GATEWAY,
	C_DROP_RULE,
	C_DROP_BAD,
	C_LOCAL,
	C_MAX
};

static const char *const case_name[C_MAX] = {
	"resolve_syn", "gateway_data", "drop_rule", "drop_malformed", "local",
};

/* Issue 7's targets: router rate >= target x the baseline rate (0: none). */
static const double case_target[C_MAX] = { 0.5, 0.7, 0, 0, 0 };

struct opts {
	bool json;
	bool full;
	bool breakdown;
	bool no_counters;
	bool thp;
	uint32_t link_gbps;
	uint32_t rules;
	uint32_t flows;
	uint32_t templates;
	unsigned int rounds;
	double seconds;
	unsigned int workers[4];
	unsigned int n_workers;
	bool run_case[C_MAX];
};

/* One gateway flow as the router set it up. */
struct gwflow {
	uint32_t client_ip;        /* network order */
	uint32_t client_flowid;    /* network order */
	uint32_t rfid;             /* client-side router flowID, host order */
	uint32_t target;           /* network order */
	uint32_t instance_flowid;  /* network order */
};

/* One worker and its harness. */
struct lane {
	unsigned int idx;
	unsigned int lcore;
	struct ssr_worker *w;
	uint16_t port_id;
	uint16_t queue;
	struct rte_mempool *pool;
	uint8_t *tmpl;             /* n_tmpl frames, STRIDE bytes apart */
	uint16_t *tlen;
	uint32_t n_tmpl;
	uint32_t cap_tmpl;
	uint32_t next;
	struct gwflow *flows;      /* this worker's gateway flows */
	uint32_t n_flows;
	uint64_t rng;
	/* phase results */
	uint64_t pkts;
	uint64_t cycles;
	uint64_t nombuf;
} __rte_cache_aligned;

/* The router under test. */
struct bench_router {
	struct ssr_router r;
	struct ssr_control ctl;
	bool ctl_ready;
	struct ssr_rules *rules;
	struct ssr_config *cfg;
	struct ssr_cfg_service *orig_services;
	unsigned int n_orig;
	struct ssr_cfg_service *all;
	struct ssr_cfg_target *tgts;
	uint32_t n_bulk;           /* bulk resolve rules: all[n_orig ...] */
	char vdev[32];
	bool vdev_up;
	uint16_t port_id;
};

static struct opts o;
static struct lane lanes[MAX_LANES];
static unsigned int n_lanes;
static struct bench_router br;

/* what the lanes run in a phase */
static int phase_router;
static uint64_t phase_go, phase_end;

/* ------------------------------------------------------------- helpers */

static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t
rnd_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(((rnd(s) >> 32) * n) >> 32);
}

static uint32_t
rnd_nonzero32(uint64_t *s)
{
	uint32_t v;

	do
		v = (uint32_t)rnd(s);
	while (v == 0);
	return v;
}

static void
sid_short(struct sal_service_id *id, uint32_t prefix32, uint64_t *s)
{
	unsigned int i;

	for (i = 0; i < sizeof(id->b); i++)
		id->b[i] = (uint8_t)rnd(s);
	id->b[0] = prefix32 >> 24;
	id->b[1] = prefix32 >> 16;
	id->b[2] = prefix32 >> 8;
	id->b[3] = prefix32;
}

/* A serviceID under bulk rule @p i (random bits past its prefix). */
static void
sid_under(const struct ssr_cfg_service *s, struct sal_service_id *id, uint64_t *st)
{
	unsigned int i, full = s->prefix_bits / 8, rem = s->prefix_bits % 8;

	for (i = 0; i < sizeof(id->b); i++)
		id->b[i] = (uint8_t)rnd(st);
	memcpy(id->b, s->id.b, full);
	if (rem != 0) {
		uint8_t keep = (uint8_t)(0xff << (8 - rem));

		id->b[full] = (s->id.b[full] & keep) | (id->b[full] & ~keep);
	}
}

/* What a frame holds. Addresses and flowIDs in network order. */
struct spec {
	uint32_t src, dst;
	uint32_t src_flowid, dst_flowid;
	uint8_t ctrl;                       /* 0: no CONTROL extension */
	uint8_t nonce[SAL_NONCE_LEN];
	const struct sal_service_id *sid;   /* NULL: no SERVICE extension */
	uint8_t tcp_flags;
	const uint8_t *src_mac;
};

static int
build_frame(const struct spec *sp, uint8_t *buf, uint32_t cap)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)buf;
	uint8_t tcp[20];
	struct sal_msg m;
	int len;

	sal_msg_init(&m);
	m.ip_src = sp->src;
	m.ip_dst = sp->dst;
	m.src_flowid = sp->src_flowid;
	m.dst_flowid = sp->dst_flowid;
	m.proto = SAL_PROTO_TCP;
	if (sp->ctrl != 0) {
		struct sal_ext_spec *e = &m.ext[m.n_ext++];

		e->type = SAL_EXT_CONTROL;
		e->u.control.flags = sp->ctrl;
		e->u.control.verno = 1;
		e->u.control.ackno = (sp->ctrl & SAL_CTRL_ACK) ? 1 : 0;
		memcpy(e->u.control.nonce, sp->nonce, SAL_NONCE_LEN);
	}
	if (sp->sid != NULL) {
		struct sal_ext_spec *e = &m.ext[m.n_ext++];

		e->type = SAL_EXT_SERVICE;
		e->u.service = *sp->sid;
	}
	memset(tcp, 0, sizeof(tcp));
	tcp[7] = 1;                 /* sequence number 1 */
	tcp[12] = 5 << 4;           /* 20-byte header */
	tcp[13] = sp->tcp_flags;
	tcp[14] = 0xff;             /* window */
	tcp[15] = 0xff;
	m.l4 = tcp;
	m.l4_len = sizeof(tcp);
	if (cap < sizeof(*eth))
		return -ENOSPC;
	len = sal_build(&m, buf + sizeof(*eth), cap - sizeof(*eth));
	if (len < 0)
		return len;
	memcpy(eth->dst_addr.addr_bytes, router_mac, 6);
	memcpy(eth->src_addr.addr_bytes, sp->src_mac, 6);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	return len + (int)sizeof(*eth);
}

static uint8_t client_mac[N_CLIENTS][6];
static uint8_t target_mac[N_TARGETS][6];

static void
macs_init(void)
{
	unsigned int i;

	for (i = 0; i < N_CLIENTS; i++) {
		uint8_t m[6] = { 0x02, 0, 0, 0x01, 0, (uint8_t)(i + 1) };

		memcpy(client_mac[i], m, 6);
	}
	for (i = 0; i < N_TARGETS; i++) {
		uint8_t m[6] = { 0x02, 0, 0, 0x02, 0, (uint8_t)(i + 1) };

		memcpy(target_mac[i], m, 6);
	}
}

static const uint8_t *
mac_of(uint32_t ip_be)
{
	uint32_t h = rte_be_to_cpu_32(ip_be);

	if (h >= TARGET_IP(0) && h < TARGET_IP(N_TARGETS))
		return target_mac[h - TARGET_IP(0)];
	if (h >= CLIENT_IP(0) && h < CLIENT_IP(N_CLIENTS))
		return client_mac[h - CLIENT_IP(0)];
	return client_mac[0];
}

/* ------------------------------------------------------------ the router */

static char *
config_text(uint16_t port_id, uint32_t max_flows)
{
	size_t cap = 16384, n = 0;
	char *t = malloc(cap);
	unsigned int i;

	if (t == NULL)
		return NULL;
#define PUT(...) (n += (size_t)snprintf(t + n, cap - n, __VA_ARGS__))
	PUT("ports:\n  - { port: %u, address: 10.0.0.1/8, mac: \"02:00:00:00:00:01\",\n"
		"      rx_desc: 256, tx_desc: 256 }\nneighbors:\n", port_id);
	for (i = 0; i < N_TARGETS; i++)
		PUT("  - { ip: 10.2.0.%u, mac: \"02:00:00:02:00:%02x\" }\n", i + 1, i + 1);
	for (i = 0; i < N_CLIENTS; i++)
		PUT("  - { ip: 10.1.0.%u, mac: \"02:00:00:01:00:%02x\" }\n", i + 1, i + 1);
	PUT("flows: { max: %u, timeouts: { syn: 1h, established: 24h, closing: 1h } }\n",
		max_flows);
	PUT("services:\n  - { prefix: \"%08x/32\", action: forward, mode: gateway,\n"
		"      targets: [", SID_GATEWAY);
	for (i = 0; i < N_TARGETS; i++)
		PUT("%s{ address: 10.2.0.%u }", i == 0 ? "" : ", ", i + 1);
	PUT("] }\n");
	PUT("  - { prefix: \"%08x/32\", action: local }\n", SID_LOCAL);
	PUT("  - { prefix: \"%08x/32\", action: drop }\n", SID_DROP);
#undef PUT
	if (n >= cap) {
		free(t);
		return NULL;
	}
	return t;
}

/* Append the bulk resolve-mode rules to the loaded config: random
 * prefixes of 48..96 bits (first byte never 0xff), two targets each. */
static int
add_bulk_rules(struct bench_router *b, uint32_t n)
{
	struct ssr_config *cfg = b->cfg;
	uint64_t s = 0x5e11a1u;
	uint32_t i;

	b->all = calloc((size_t)cfg->n_services + n, sizeof(*b->all));
	b->tgts = calloc((size_t)n * 2 + 1, sizeof(*b->tgts));
	if (b->all == NULL || b->tgts == NULL)
		return -ENOMEM;
	memcpy(b->all, cfg->services, cfg->n_services * sizeof(*b->all));
	for (i = 0; i < n; i++) {
		struct ssr_cfg_service *sv = &b->all[cfg->n_services + i];
		unsigned int bits = 48 + rnd_below(&s, 49), k;

		for (k = 0; k < sizeof(sv->id.b); k++)
			sv->id.b[k] = (uint8_t)rnd(&s);
		if (sv->id.b[0] == 0xff)
			sv->id.b[0] = 0xfe;
		/* no bits past the prefix */
		for (k = bits; k < SVCTABLE_KEY_BITS; k++)
			sv->id.b[k / 8] &= (uint8_t)~(0x80 >> (k % 8));
		sv->prefix_bits = (uint16_t)bits;
		sv->action = SSR_ACTION_FORWARD;
		sv->mode = SSR_MODE_RESOLVE;
		sv->targets = &b->tgts[2 * i];
		sv->n_targets = 2;
		sv->targets[0].addr = TARGET_IP(i % N_TARGETS);
		sv->targets[0].weight = 1;
		sv->targets[1].addr = TARGET_IP((i + 5) % N_TARGETS);
		sv->targets[1].weight = 1;
		ssr_cfg_health_defaults(&sv->health);
	}
	b->orig_services = cfg->services;
	b->n_orig = cfg->n_services;
	cfg->services = b->all;
	cfg->n_services += n;
	b->n_bulk = n;
	return 0;
}

static void
router_free(struct bench_router *b)
{
	struct ssr_router *r = &b->r;
	unsigned int i;

	for (i = 0; i < r->n_workers; i++)
		if (r->workers[i] != NULL) {
			rte_rcu_qsbr_thread_offline(r->qsv, i);
			ssr_worker_finish(r->workers[i]);
		}
	if (b->ctl_ready) {
		ssr_control_finish(&b->ctl);
		ssr_control_free(&b->ctl);
	}
	ssr_rules_free(b->rules);
	ssr_ports_close(r);
	for (i = 0; i < r->n_workers; i++)
		ssr_worker_free(r->workers[i]);
	rte_ring_free(r->ctl_ring);
	svctable_free(r->svc);
	flowtable_free(r->ft);
	rte_free(r->qsv);
	ssr_neigh_free(r->neigh);
	ssr_ports_free_pools(r);
	if (b->cfg != NULL && b->orig_services != NULL) {
		b->cfg->services = b->orig_services;
		b->cfg->n_services = b->n_orig;
	}
	ssr_config_free(b->cfg);
	free(b->all);
	free(b->tgts);
	if (b->vdev_up)
		rte_eal_hotplug_remove("vdev", b->vdev);
	memset(b, 0, sizeof(*b));
}

#define FAIL(...) do { fprintf(stderr, "bench_pipeline: " __VA_ARGS__); \
	fprintf(stderr, "\n"); goto fail; } while (0)

/* Wire a router as main.c does, with @p nw workers on lanes' lcores. */
static int
router_build(struct bench_router *b, unsigned int nw, uint32_t n_rules, uint32_t n_flows)
{
	static unsigned int gen;
	struct ssr_router *r = &b->r;
	struct ssr_config_errors errs;
	struct ssr_rules_txn *txn;
	struct ssr_err e;
	unsigned int lcores[SSR_MAX_WORKERS];
	char *text = NULL;
	unsigned int i;
	uint32_t max_flows;

	memset(b, 0, sizeof(*b));
	snprintf(b->vdev, sizeof(b->vdev), "net_null_pipe%u", gen++);
	if (rte_eal_hotplug_add("vdev", b->vdev, "no-rx=1") != 0)
		FAIL("cannot create vdev %s", b->vdev);
	b->vdev_up = true;
	if (rte_eth_dev_get_port_by_name(b->vdev, &b->port_id) != 0 ||
			b->port_id > SSR_CFG_MAX_PORT_ID)
		FAIL("vdev %s: no usable port id", b->vdev);
	/* slack: each worker's slice must take its share of the flows */
	max_flows = n_flows + n_flows / 4 + 64 * nw;
	text = config_text(b->port_id, max_flows);
	if (text == NULL)
		FAIL("config text: out of memory");
	b->cfg = ssr_config_load_string(text, strlen(text), "bench_pipeline", &errs);
	for (i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	ssr_config_errors_free(&errs);
	free(text);
	if (b->cfg == NULL)
		FAIL("config refused");
	if (add_bulk_rules(b, n_rules) != 0)
		FAIL("bulk rules: out of memory");

	/* the router main.c builds (app/router.c), on the lanes' lcores */
	for (i = 0; i < nw; i++)
		lcores[i] = lanes[i].lcore;
	if (ssr_router_init(r, b->cfg) != 0 || ssr_router_start_workers(r, lcores, nw) != 0)
		FAIL("router set-up (see the log above)");
	if (r->port[0].nb_queues != nw)
		FAIL("port has %u queue pairs for %u workers", r->port[0].nb_queues, nw);
	if (ssr_router_create_tables(r) != 0)
		FAIL("tables (%u flows; see the log above)", max_flows);
	memset(&e, 0, sizeof(e));
	b->rules = ssr_rules_create(r);
	if (b->rules == NULL)
		FAIL("rule model: %s", strerror(errno));
	/* The config's own rules as main.c loads them; the bulk rules (which
	 * sized the tables above) in transactions of LOAD_CHUNK rules, which
	 * keeps each transaction's staging arrays small (one transaction of
	 * any size the slots hold works too: tests/app big-map). */
	b->cfg->n_services = b->n_orig;
	txn = ssr_rules_begin(b->rules, "load");
	if (txn == NULL)
		FAIL("rule transaction: out of memory");
	if (ssr_rules_replace_all(txn, b->cfg, &e) != 0) {
		ssr_rules_abort(txn);
		FAIL("rules: %s: %s", e.field, e.msg);
	}
	if (ssr_rules_commit(txn, &e) != 0)
		FAIL("rules commit: %s: %s", e.field, e.msg);
	b->cfg->n_services = b->n_orig + b->n_bulk;
	for (i = 0; i < b->n_bulk; i += LOAD_CHUNK) {
		uint32_t k, end = RTE_MIN(b->n_bulk, i + LOAD_CHUNK);

		/* workers are offline: every grace period is over at once */
		ssr_rules_poll(b->rules, ssr_now_ms());
		txn = ssr_rules_begin(b->rules, "batch");
		if (txn == NULL)
			FAIL("rule transaction: out of memory");
		for (k = i; k < end; k++)
			if (ssr_rules_put(txn, &b->all[b->n_orig + k], true, &e) != 0) {
				ssr_rules_abort(txn);
				FAIL("bulk rule %u: %s: %s", k, e.field, e.msg);
			}
		if (ssr_rules_commit(txn, &e) != 0)
			FAIL("bulk rules commit at %u: %s: %s", i, e.field, e.msg);
	}
	if (ssr_control_init(&b->ctl, r) != 0)
		FAIL("control (static neighbours)");
	b->ctl_ready = true;
	b->ctl.rules = b->rules;
	for (i = 0; i < nw; i++) {
		struct lane *l = &lanes[i];

		rte_rcu_qsbr_thread_online(r->qsv, i);
		l->w = r->workers[i];
		l->port_id = r->port[0].port_id;
		l->queue = (uint16_t)l->w->txq[0];
		l->pool = r->port[0].pool;
		if (l->w->txq[0] < 0 || l->w->n_rxq != 1)
			FAIL("worker %u owns no queue pair", i);

	}
	return 0;
fail:
	router_free(b);
	return -1;
}

/* Whatever reached the control lcore is freed and counted (none should). */
static unsigned int
drain_control(struct bench_router *b)
{
	struct rte_mbuf *m[BURST];
	unsigned int n, total = 0;

	while ((n = rte_ring_dequeue_burst(b->r.ctl_ring, (void **)m, BURST, NULL)) != 0) {
		rte_pktmbuf_free_bulk(m, n);
		total += n;
	}
	return total;
}

/* --------------------------------------------------------- the harness */

static inline void
refresh(struct lane *l, struct rte_mbuf **pkts, unsigned int n)
{
	unsigned int i;
	uint32_t t = l->next;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint16_t len = l->tlen[t];

		rte_memcpy(rte_pktmbuf_mtod(m, void *), l->tmpl + (size_t)t * STRIDE, len);
		m->data_len = len;
		m->pkt_len = len;
		m->port = l->port_id;
		if (++t == l->n_tmpl)
			t = 0;
	}
	l->next = t;
}

/* Push @p n frames from the lane's templates through the router path
 * once (setup), as a measured iteration does. */
static void
push_router(struct lane *l, unsigned int n)
{
	struct rte_mbuf *pkts[BURST];

	while (n != 0) {
		unsigned int k = RTE_MIN(n, (unsigned int)BURST);

		if (rte_pktmbuf_alloc_bulk(l->pool, pkts, k) != 0) {
			ssr_worker_poll(l->w);
			continue;
		}
		refresh(l, pkts, k);
		ssr_count(&l->w->stats, SSR_CNT_RX, k);
		ssr_worker_process_burst(l->w, 0, pkts, k);
		ssr_worker_poll(l->w);
		n -= k;
	}
}

/* One burst through the router: what a worker's loop pass does with an
 * RX burst. Out of line (as is the baseline's) so a profiler can count
 * exactly this: valgrind --tool=callgrind --toggle-collect=router_iter. */
static __rte_noinline void
router_iter(struct ssr_worker *w, struct rte_mbuf **pkts)
{
	ssr_count(&w->stats, SSR_CNT_RX, BURST);
	ssr_worker_process_burst(w, 0, pkts, BURST);
	ssr_worker_poll(w);
}

/* One burst through io forwarding: an RX poll (which finds nothing, as
 * the router's does), then TX of the burst. */
static __rte_noinline void
base_iter(const struct lane *l, struct rte_mbuf **pkts)
{
	struct rte_mbuf *rx[BURST];
	uint16_t got = rte_eth_rx_burst(l->port_id, l->queue, rx, BURST);
	uint16_t sent;

	if (unlikely(got != 0))
		rte_pktmbuf_free_bulk(rx, got);
	sent = rte_eth_tx_burst(l->port_id, l->queue, pkts, BURST);
	if (unlikely(sent != BURST))
		rte_pktmbuf_free_bulk(pkts + sent, BURST - sent);
}

static int
lane_phase(void *arg)
{
	struct lane *l = arg;
	struct ssr_worker *w = l->w;
	struct rte_mbuf *pkts[BURST];
	uint64_t n = 0, t0, now, end = phase_end;
	bool router = phase_router != 0;

	l->next = 0;
	while (rte_rdtsc() < phase_go)
		rte_pause();
	t0 = rte_rdtsc();
	do {
		if (unlikely(rte_pktmbuf_alloc_bulk(l->pool, pkts, BURST) != 0)) {
			l->nombuf++;
			if (router)
				ssr_worker_poll(w);
			now = rte_rdtsc();
			continue;
		}
		refresh(l, pkts, BURST);
		if (router)
			router_iter(w, pkts);
		else
			base_iter(l, pkts);
		n += BURST;
		now = rte_rdtsc();
	} while (now < end);
	l->pkts = n;
	l->cycles = now - t0;
	return 0;
}

/* Run one phase on every lane at once; returns the summed rate (pps). */
static double
run_phase(bool router, double seconds, double *cyc_per_pkt)
{
	uint64_t hz = rte_get_tsc_hz();
	double rate = 0, cyc = 0;
	unsigned int i;

	/* plain stores: rte_eal_remote_launch() publishes them to the lanes
	 * (it hands over the function with a release store) */
	phase_router = router;
	phase_go = rte_rdtsc() + hz / 1000;
	phase_end = phase_go + (uint64_t)(seconds * (double)hz);
	for (i = 1; i < n_lanes; i++)
		rte_eal_remote_launch(lane_phase, &lanes[i], lanes[i].lcore);
	lane_phase(&lanes[0]);
	for (i = 1; i < n_lanes; i++)
		rte_eal_wait_lcore(lanes[i].lcore);
	for (i = 0; i < n_lanes; i++) {
		rate += (double)lanes[i].pkts * (double)hz / (double)lanes[i].cycles;
		cyc += (double)lanes[i].cycles / (double)lanes[i].pkts;
	}
	*cyc_per_pkt = cyc / n_lanes;
	return rate;
}

/* --------------------------------------------------------- templates */

static int
tmpl_reserve(struct lane *l, uint32_t n)
{
	if (n <= l->cap_tmpl)
		return 0;
	free(l->tmpl);
	free(l->tlen);
	l->tmpl = malloc((size_t)n * STRIDE);
	l->tlen = malloc((size_t)n * sizeof(*l->tlen));
	l->cap_tmpl = l->tmpl != NULL && l->tlen != NULL ? n : 0;
	return l->cap_tmpl != 0 ? 0 : -ENOMEM;
}

static int
tmpl_put(struct lane *l, uint32_t i, const struct spec *sp)
{
	int len = build_frame(sp, l->tmpl + (size_t)i * STRIDE, STRIDE);

	if (len < 0)
		return len;
	l->tlen[i] = (uint16_t)len;
	return 0;
}

static void
spec_syn(struct spec *sp, uint64_t *s, unsigned int client, const struct sal_service_id *sid)
{
	uint64_t nonce = rnd(s);

	memset(sp, 0, sizeof(*sp));
	sp->src = rte_cpu_to_be_32(CLIENT_IP(client));
	sp->dst = rte_cpu_to_be_32(ROUTER_IP);
	sp->src_flowid = rnd_nonzero32(s);
	sp->ctrl = SAL_CTRL_SYN;
	memcpy(sp->nonce, &nonce, sizeof(sp->nonce));
	sp->sid = sid;
	sp->tcp_flags = 0x02; /* TCP SYN */
	sp->src_mac = client_mac[client];
}

/* Fill lane @p l's templates for case @p c (fresh draws from its seed). */
static int
make_templates(struct lane *l, enum bcase c, uint32_t n)
{
	const struct bench_router *b = &br;
	struct sal_service_id sid;
	struct spec sp;
	uint32_t i;

	if (c == C_LOCAL)
		n = LOCAL_FLOWS;
	if (tmpl_reserve(l, n) != 0)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		uint64_t *s = &l->rng;
		int ret;

		switch (c) {
		case C_RESOLVE:
		case C_DROP_BAD:
			sid_under(&b->all[b->n_orig + rnd_below(s, b->n_bulk)], &sid, s);
			spec_syn(&sp, s, rnd_below(s, N_CLIENTS), &sid);
			break;
		case C_DROP_RULE:
			sid_short(&sid, SID_DROP, s);
			spec_syn(&sp, s, rnd_below(s, N_CLIENTS), &sid);
			break;
		case C_LOCAL: {
			/* fixed flows: the same SYN each time, a retransmission */
			uint64_t fs = 0x10ca1 + l->idx * 1000 + i;

			sid_short(&sid, SID_LOCAL, &fs);
			spec_syn(&sp, &fs, i % N_CLIENTS, &sid);
			break;
		}
		case C_GATEWAY: {
			const struct gwflow *f = &l->flows[rnd_below(s, l->n_flows)];

			memset(&sp, 0, sizeof(sp));
			sp.dst = rte_cpu_to_be_32(ROUTER_IP);
			sp.tcp_flags = 0x10; /* TCP ACK */
			if (i & 1) {
				sp.src = f->target;
				sp.src_flowid = f->instance_flowid;
				sp.dst_flowid = rte_cpu_to_be_32(f->rfid |
						FLOWTABLE_RFID_INSTANCE_SIDE);
			} else {
				sp.src = f->client_ip;
				sp.src_flowid = f->client_flowid;
				sp.dst_flowid = rte_cpu_to_be_32(f->rfid);
			}
			sp.src_mac = mac_of(sp.src);
			break;
		}
		default:
			return -EINVAL;
		}
		ret = tmpl_put(l, i, &sp);
		if (ret != 0)
			return ret;
		if (c == C_DROP_BAD)
			/* the SAL header checksum's low byte: only the sum is wrong */
			l->tmpl[(size_t)i * STRIDE + sizeof(struct rte_ether_hdr) + 20 +
				offsetof(struct sal_hdr, check) + 1] ^= 0x5a;
	}
	l->n_tmpl = n;
	l->next = 0;
	return 0;
}

/* Create @p n gateway flows on lane @p l's worker through the real path:
 * client SYN, the instance's SYN-ACK, the client's ACK. */
static int
make_flows(struct lane *l, uint32_t n)
{
	struct ssr_router *r = &br.r;
	struct flowtable_syn_key keys[BURST];
	struct flowtable_result res[BURST];
	uint32_t rfids[BURST], lens[BURST];
	struct spec syn[BURST];
	struct sal_service_id sid[BURST];
	uint64_t s = 0x9a7e + l->idx, hits;
	uint32_t done = 0, i, k;

	free(l->flows);
	l->flows = calloc(n ? n : 1, sizeof(*l->flows));
	l->n_flows = 0;
	if (l->flows == NULL || tmpl_reserve(l, BURST) != 0)
		return -ENOMEM;
	while (done < n) {
		k = RTE_MIN(n - done, (uint32_t)BURST);
		for (i = 0; i < k; i++) {
			sid_short(&sid[i], SID_GATEWAY, &s);
			spec_syn(&syn[i], &s, (done + i) % N_CLIENTS, &sid[i]);
			if (tmpl_put(l, i, &syn[i]) != 0)
				return -EINVAL;
			keys[i].client_ip = syn[i].src;
			keys[i].client_flowid = syn[i].src_flowid;
			memcpy(keys[i].nonce, syn[i].nonce, sizeof(keys[i].nonce));
		}
		l->n_tmpl = k;
		l->next = 0;
		push_router(l, k);
		hits = flowtable_find_syn_bulk(r->ft, l->idx, keys, k, rfids);
		for (i = 0; i < k; i++)
			lens[i] = 66;
		hits &= flowtable_lookup_bulk(r->ft, l->idx, rfids, lens, k, res, rte_rdtsc());
		if (hits != (UINT64_C(1) << k) - 1) {
			fprintf(stderr, "bench_pipeline: worker %u: SYNs created %u of %u flows\n",
					l->idx, (unsigned int)__builtin_popcountll(hits), k);
			return -EIO;
		}
		/* the instances answer, then the clients acknowledge */
		for (i = 0; i < k; i++) {
			struct gwflow *f = &l->flows[done + i];
			struct spec sp;

			f->client_ip = syn[i].src;
			f->client_flowid = syn[i].src_flowid;
			f->rfid = rfids[i];
			f->target = res[i].target;
			f->instance_flowid = rnd_nonzero32(&s);
			memset(&sp, 0, sizeof(sp));
			sp.src = f->target;
			sp.dst = rte_cpu_to_be_32(ROUTER_IP);
			sp.src_flowid = f->instance_flowid;
			sp.dst_flowid = rte_cpu_to_be_32(f->rfid | FLOWTABLE_RFID_INSTANCE_SIDE);
			sp.ctrl = SAL_CTRL_SYN | SAL_CTRL_ACK;
			memcpy(sp.nonce, syn[i].nonce, sizeof(sp.nonce));
			sp.tcp_flags = 0x12;
			sp.src_mac = mac_of(sp.src);
			if (tmpl_put(l, i, &sp) != 0)
				return -EINVAL;
		}
		push_router(l, k);
		for (i = 0; i < k; i++) {
			struct gwflow *f = &l->flows[done + i];
			struct spec sp;

			memset(&sp, 0, sizeof(sp));
			sp.src = f->client_ip;
			sp.dst = rte_cpu_to_be_32(ROUTER_IP);
			sp.src_flowid = f->client_flowid;
			sp.dst_flowid = rte_cpu_to_be_32(f->rfid);
			sp.ctrl = SAL_CTRL_ACK;
			memcpy(sp.nonce, syn[i].nonce, sizeof(sp.nonce));
			sp.tcp_flags = 0x10;
			sp.src_mac = mac_of(sp.src);
			if (tmpl_put(l, i, &sp) != 0)
				return -EINVAL;
		}
		push_router(l, k);
		done += k;
	}
	l->n_flows = n;
	return 0;
}

/* ------------------------------------------------------------ checks */

struct books {
	uint64_t cnt[SSR_CNT_MAX];
	uint64_t drop[SSR_DROP_MAX];
	uint64_t bad_sal_csum;
};

static void
books_take(struct books *bk)
{
	unsigned int i, j;

	memset(bk, 0, sizeof(*bk));
	for (i = 0; i < n_lanes; i++) {
		const struct ssr_stats *st = &lanes[i].w->stats;

		for (j = 0; j < SSR_CNT_MAX; j++)
			bk->cnt[j] += st->cnt[j];
		for (j = 0; j < SSR_DROP_MAX; j++)
			bk->drop[j] += st->drop[j];
		bk->bad_sal_csum += st->sal_reason[SAL_DROP_SAL_BAD_CSUM];
	}
}

static uint64_t
dropped(const struct books *bk)
{
	uint64_t n = 0;
	unsigned int j;

	for (j = 0; j < SSR_DROP_MAX; j++)
		n += bk->drop[j];
	return n;
}

/*
 * Did every packet of the phase take the path the case is about? Frames
 * the worker made up itself (local flows' SYN-ACK retransmissions) are
 * sent too: they are taken off the TX count.
 */
static int
check_path(enum bcase c, const struct books *a, const struct books *b, uint64_t pkts)
{
#define D(f) (b->f - a->f)
	uint64_t gen = D(cnt[SSR_CNT_GENERATED]), tx = D(cnt[SSR_CNT_TX]);
	uint64_t drops = dropped(b) - dropped(a), got;
	const char *what;
	bool ok;
	unsigned int j;

	switch (c) {
	case C_RESOLVE:
		got = D(cnt[SSR_CNT_SAL_RESOLVED]);
		what = "resolved";
		ok = got == pkts && tx - gen == pkts && drops == 0;
		break;
	case C_GATEWAY:
		got = D(cnt[SSR_CNT_SAL_GATEWAY]);
		what = "relayed";
		ok = got == pkts && tx - gen == pkts && drops == 0;
		break;
	case C_LOCAL:
		/* one SYN-ACK per SYN (and maybe a timer's), every SYN consumed */
		got = D(cnt[SSR_CNT_CONSUMED]);
		what = "answered";
		ok = got == pkts && gen >= pkts && tx == gen && drops == 0;
		break;
	case C_DROP_RULE:
		got = D(drop[SSR_DROP_SAL_RULE_DROP]);
		what = "dropped by the rule";
		ok = got == pkts && drops == pkts && tx == gen;
		break;
	default:
		got = D(bad_sal_csum);
		what = "dropped for their SAL checksum";
		ok = got == pkts && D(drop[SSR_DROP_SAL_MALFORMED]) == pkts &&
			drops == pkts && tx == gen;
		break;
	}
	if (ok)
		return 0;
	fprintf(stderr, "bench_pipeline: %s: %" PRIu64 " packets in, %" PRIu64 " %s, %"
			PRIu64 " sent, %" PRIu64 " generated, %" PRIu64
			" dropped: not the path measured\n",
			case_name[c], pkts, got, what, tx, gen, drops);
	for (j = 0; j < SSR_DROP_MAX; j++)
		if (b->drop[j] != a->drop[j])
			fprintf(stderr, "  drop %s: %" PRIu64 "\n", ssr_drop_name(j),
					D(drop[j]));
#undef D
	return -1;
}

/* ------------------------------------------------------------ running */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct result {
	double rate, cyc, base_rate, base_cyc;
	double lookup_cyc;   /* --breakdown: the case's table lookups alone */
	uint32_t frame;
};

static struct result results[4][C_MAX];

/*
 * --breakdown, one worker: the table lookups of a case alone, on the same
 * templates (read in place, nothing rewritten), in cycles per packet: what
 * the lookups cost at this table size, apart from the rest of the path.
 */
static double
breakdown(enum bcase c)
{
	struct lane *l = &lanes[0];
	struct ssr_router *r = &br.r;
	const struct svctable_key *keys[BURST];
	const struct svctable_rule *rules[BURST];
	const struct svctable_target *picks[BURST];
	struct flowtable_result fres[BURST];
	uint64_t hashes[BURST], n = 0, t0, now, end, sink = 0;
	uint32_t rfids[BURST], lens[BURST];
	unsigned int i;
	uint32_t t = 0;

	end = rte_rdtsc() + (uint64_t)(o.seconds * (double)rte_get_tsc_hz());
	t0 = rte_rdtsc();
	do {
		for (i = 0; i < BURST; i++) {
			const uint8_t *f = l->tmpl + (size_t)t * STRIDE;
			const uint8_t *ip = f + sizeof(struct rte_ether_hdr);
			const uint8_t *sal = ip + 20;
			uint32_t src, fid;

			memcpy(&src, ip + 12, 4);
			memcpy(&fid, sal, 4);
			if (c == C_RESOLVE) {
				/* SERVICE follows the 12-byte header and CONTROL */
				keys[i] = (const struct svctable_key *)(const void *)
					(sal + SAL_BASE_LEN + SAL_CONTROL_EXT_LEN + 4);
				hashes[i] = svctable_flow_hash(rte_be_to_cpu_32(src),
						rte_be_to_cpu_32(fid));
			} else {
				memcpy(&fid, sal + 4, 4);
				rfids[i] = rte_be_to_cpu_32(fid);
				lens[i] = l->tlen[t];
			}
			if (++t == l->n_tmpl)
				t = 0;
		}
		if (c == C_RESOLVE) {
			svctable_lookup_bulk(r->svc, keys, BURST, rules);
			for (i = 0; i < BURST; i++)
				if (rules[i] != NULL)
					rte_prefetch0(rules[i]);
			sink += svctable_pick_bulk(rules, hashes, BURST, picks);
		} else {
			sink += (uint64_t)__builtin_popcountll(flowtable_lookup_bulk(r->ft, 0,
					rfids, lens, BURST, fres, rte_rdtsc()));
		}
		n += BURST;
		now = rte_rdtsc();
	} while (now < end);
	if (sink != n)
		fprintf(stderr, "bench_pipeline: breakdown of %s: %" PRIu64 " of %" PRIu64
				" lookups hit\n", case_name[c], sink, n);
	return (double)(now - t0) / (double)n;
}

static int
run_case(enum bcase c, struct result *res)
{
	double rate[64], cyc[64], brate[64], bcyc[64];
	struct books a, b;
	unsigned int k, i;
	uint32_t n_tmpl = o.templates;
	uint64_t pkts;

	for (k = 0; k < o.rounds; k++) {
		for (i = 0; i < n_lanes; i++) {
			lanes[i].rng = 0xc0ffee + ((uint64_t)c << 40) + ((uint64_t)i << 32) + k;
			if (make_templates(&lanes[i], c, n_tmpl) != 0) {
				fprintf(stderr, "bench_pipeline: %s: templates failed\n",
						case_name[c]);
				return -1;
			}
		}
		res->frame = lanes[0].tlen[0];
		brate[k] = run_phase(false, o.seconds, &bcyc[k]);
		books_take(&a);
		rate[k] = run_phase(true, o.seconds, &cyc[k]);
		books_take(&b);
		pkts = 0;
		for (i = 0; i < n_lanes; i++)
			pkts += lanes[i].pkts;
		if (check_path(c, &a, &b, pkts) != 0)
			return -1;
		if (drain_control(&br) != 0) {
			fprintf(stderr, "bench_pipeline: %s: packets reached the control "
					"lcore\n", case_name[c]);
			return -1;
		}
	}
	res->rate = median(rate, o.rounds);
	res->cyc = median(cyc, o.rounds);
	res->base_rate = median(brate, o.rounds);
	res->base_cyc = median(bcyc, o.rounds);
	res->lookup_cyc = 0;
	if (o.breakdown && n_lanes == 1 && (c == C_RESOLVE || c == C_GATEWAY))
		res->lookup_cyc = breakdown(c);
	return 0;
}

/*
 * What a port of --link-gbps carries of one frame size, in packets per
 * second: on the wire each frame has its FCS, is padded to 64 bytes, and
 * takes 20 bytes more (preamble, start delimiter, inter-frame gap).
 */
static double
line_rate_pps(uint32_t frame)
{
	uint32_t wire = RTE_MAX(frame + (uint32_t)RTE_ETHER_CRC_LEN,
			(uint32_t)RTE_ETHER_MIN_LEN) + 20;

	return o.link_gbps * 1e9 / (8.0 * wire);
}

static void
report(enum bcase c, const char *variant, unsigned int nw, const struct result *res,
		const struct result *one)
{
	char name[64];
	double ratio = res->rate / res->base_rate;
	double scaling = one != NULL && one->rate > 0 ? res->rate / one->rate : 0;
	double line = line_rate_pps(res->frame), per_worker = res->rate / nw;
	/* workers at this per-worker rate that one port at line rate keeps
	 * busy: the quotient rounded up (0: the case forwarded nothing) */
	unsigned int for_line = per_worker > 0 ? (unsigned int)(line / per_worker) : 0;

	if (per_worker > 0 && for_line * per_worker < line)
		for_line++;

	snprintf(name, sizeof(name), "%s%s", case_name[c], variant);
	if (o.json) {
		printf("{\"name\": \"%s\", \"workers\": %u, \"rules\": %u, \"flows\": %u, "
			"\"templates\": %u, \"burst\": %u, \"frame_bytes\": %u, "
			"\"rounds\": %u, \"seconds\": %.2f, "
			"\"rate_pps\": %.0f, \"ns_per_pkt\": %.2f, \"cycles_per_pkt\": %.1f, "
			"\"baseline\": \"io_fwd\", \"baseline_pps\": %.0f, "
			"\"baseline_ns_per_pkt\": %.2f, \"baseline_cycles_per_pkt\": %.1f, "
			"\"ratio\": %.3f",
			name, nw, o.rules, o.flows,
			c == C_LOCAL ? LOCAL_FLOWS : o.templates, BURST, res->frame,
			o.rounds, o.seconds, res->rate, 1e9 * nw / res->rate, res->cyc,
			res->base_rate, 1e9 * nw / res->base_rate, res->base_cyc, ratio);
		if (case_target[c] > 0)
			printf(", \"target\": %.2f, \"met\": %s", case_target[c],
					ratio >= case_target[c] ? "true" : "false");
		if (scaling > 0)
			printf(", \"scaling_vs_1\": %.3f", scaling);
		if (res->lookup_cyc > 0)
			printf(", \"lookup_cycles_per_pkt\": %.1f", res->lookup_cyc);
		printf(", \"link_gbps\": %u, \"line_rate_pps\": %.0f, "
				"\"workers_for_line_rate\": %u}\n", o.link_gbps, line, for_line);
	} else {
		printf("%-30s %3u %8.2f %8.1f %10.2f %8.1f %7.3f", name, nw,
				res->rate / 1e6, res->cyc, res->base_rate / 1e6, res->base_cyc,
				ratio);
		if (case_target[c] > 0)
			printf("  %4.2f %-4s", case_target[c],
					ratio >= case_target[c] ? "met" : "MISS");
		else
			printf("  %9s", "");
		if (scaling > 0)
			printf(" %6.2fx", scaling);
		else
			printf(" %7s", "");
		printf(" %7u", for_line);
		if (res->lookup_cyc > 0)
			printf("  (%s lookups alone: %.1f cyc/pkt)",
					c == C_RESOLVE ? "svctable" : "flowtable", res->lookup_cyc);
		printf("\n");
	}
	fflush(stdout);
}

static int
run_workers(unsigned int wi, unsigned int nw)
{
	uint64_t t0 = rte_get_timer_cycles();
	uint32_t per = o.flows / nw;
	unsigned int i, c;
	int ret = 0;

	n_lanes = nw;
	if (per == 0) {
		fprintf(stderr, "bench_pipeline: --flows %u is fewer than the %u workers\n",
				o.flows, nw);
		return -1;
	}
	if (router_build(&br, nw, o.rules, o.flows) != 0)
		return -1;
	for (i = 0; i < nw; i++) {
		/* the last worker takes the remainder: o.flows in all */
		uint32_t n = i + 1 == nw ? o.flows - per * (nw - 1) : per;

		if (make_flows(&lanes[i], n) != 0) {
			ret = -1;
			goto out;
		}
	}
	if (drain_control(&br) != 0) {
		fprintf(stderr, "bench_pipeline: setup packets reached the control lcore\n");
		ret = -1;
		goto out;
	}
	if (!o.json)
		fprintf(stderr, "bench_pipeline: %u worker(s): %u rules, %u flows set up in "
				"%.1f s\n", nw, o.rules, o.flows,
				(double)(rte_get_timer_cycles() - t0) / rte_get_timer_hz());
	for (c = 0; c < C_MAX; c++) {
		if (!o.run_case[c])
			continue;
		if (run_case(c, &results[wi][c]) != 0) {
			ret = -1;
			goto out;
		}
		report(c, "", nw, &results[wi][c],
				wi > 0 && o.workers[0] == 1 ? &results[0][c] : NULL);
		if (o.no_counters && (c == C_RESOLVE || c == C_DROP_RULE || c == C_LOCAL)) {
			struct result nc;

			/* diagnostic: the same case with the workers' per-rule and
			 * per-target counters off (a slot past the end is skipped) */
			for (i = 0; i < nw; i++) {
				lanes[i].w->n_rule_ctr = 0;
				lanes[i].w->n_tgt_ctr = 0;
			}
			ret = run_case(c, &nc);
			for (i = 0; i < nw; i++) {
				lanes[i].w->n_rule_ctr = br.r.n_rule_slots;
				lanes[i].w->n_tgt_ctr = br.r.n_tgt_ctr;
			}
			if (ret != 0)
				goto out;
			report(c, ".no_rule_counters", nw, &nc, NULL);
		}
	}
out:
	router_free(&br);
	return ret;
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: bench_pipeline [EAL args] -- [--json] [--full] [--rules N] [--flows N]\n"
		"         [--workers a,b] [--rounds N] [--seconds S] [--templates N]\n"
		"         [--breakdown] [--no-rule-counters] [--thp] [--link-gbps G]\n"
		"         [--cases resolve_syn,gateway_data,local,drop_rule,drop_malformed]\n");
}

static int
parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int
parse_opts(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "full", no_argument, NULL, 'f' },
		{ "rules", required_argument, NULL, 'r' },
		{ "flows", required_argument, NULL, 'F' },
		{ "workers", required_argument, NULL, 'w' },
		{ "rounds", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "templates", required_argument, NULL, 't' },
		{ "cases", required_argument, NULL, 'c' },
		{ "breakdown", no_argument, NULL, 'b' },
		{ "no-rule-counters", no_argument, NULL, 'C' },
		{ "thp", no_argument, NULL, 'H' },
		{ "link-gbps", required_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	bool rules_set = false, flows_set = false, tmpl_set = false, rounds_set = false;
	bool secs_set = false;
	int opt;

	memset(&o, 0, sizeof(o));
	o.link_gbps = 10;
	for (opt = 0; opt < C_MAX; opt++)
		o.run_case[opt] = true;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		char *s, *tok, *save = NULL;
		uint32_t v;

		switch (opt) {
		case 'j':
			o.json = true;
			break;
		case 'f':
			o.full = true;
			break;
		case 'b':
			o.breakdown = true;
			break;
		case 'C':
			o.no_counters = true;
			break;
		case 'H':
			o.thp = true;
			break;
		case 'L':
			if (parse_u32(optarg, 1, 1000, &o.link_gbps) != 0)
				return -1;
			break;
		case 'r':
			if (parse_u32(optarg, 1, 1u << 24, &o.rules) != 0)
				return -1;
			rules_set = true;
			break;
		case 'F':
			if (parse_u32(optarg, 1, 1u << 23, &o.flows) != 0)
				return -1;
			flows_set = true;
			break;
		case 'n':
			if (parse_u32(optarg, 1, 63, &o.rounds) != 0)
				return -1;
			rounds_set = true;
			break;
		case 't':
			if (parse_u32(optarg, BURST, 1u << 22, &o.templates) != 0)
				return -1;
			tmpl_set = true;
			break;
		case 's':
			o.seconds = strtod(optarg, &s);
			if (*s != '\0' || !(o.seconds >= 0.01 && o.seconds <= 60))
				return -1;
			secs_set = true;
			break;
		case 'w':
			o.n_workers = 0;
			s = strdup(optarg);
			if (s == NULL)
				return -1;
			for (tok = strtok_r(s, ",", &save); tok != NULL;
					tok = strtok_r(NULL, ",", &save)) {
				if (o.n_workers == RTE_DIM(o.workers) ||
						parse_u32(tok, 1, MAX_LANES, &v) != 0) {
					free(s);
					return -1;
				}
				o.workers[o.n_workers++] = v;
			}
			free(s);
			break;
		case 'c':
			memset(o.run_case, 0, sizeof(o.run_case));
			s = strdup(optarg);
			if (s == NULL)
				return -1;
			for (tok = strtok_r(s, ",", &save); tok != NULL;
					tok = strtok_r(NULL, ",", &save)) {
				for (v = 0; v < C_MAX && strcmp(tok, case_name[v]) != 0; v++)
					;
				if (v == C_MAX) {
					free(s);
					return -1;
				}
				o.run_case[v] = true;
			}
			free(s);
			break;
		default:
			return -1;
		}
	}
	if (optind != argc)
		return -1;
	if (!rules_set)
		o.rules = o.full ? 1000000 : 4096;
	if (!flows_set)
		o.flows = o.full ? 1000000 : 4096;
	if (!tmpl_set)
		o.templates = o.full ? 65536 : 16384;
	if (!rounds_set)
		o.rounds = o.full ? 9 : 5;
	if (!secs_set)
		o.seconds = o.full ? 0.5 : 0.1;
	return 0;
}

static char runtime_dir[256];

/* --thp: ask for transparent huge pages under the EAL's memory (anonymous
 * with --no-huge, not touched yet), so tables sit on 2 MB pages as they
 * would on hugepages. */
static int
thp_advise(const struct rte_memseg_list *msl, void *arg)
{
	unsigned int *n = arg;

	if (msl->base_va != NULL && msl->len != 0 &&
			madvise(msl->base_va, msl->len, MADV_HUGEPAGE) == 0)
		(*n)++;
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned int i, l, n_lcores = 0;
	int ret, status = EXIT_SUCCESS;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "bench_pipeline: EAL init failed: %s\n", rte_strerror(rte_errno));
		return EXIT_FAILURE;
	}
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	argc -= ret;
	argv += ret;
	if (parse_opts(argc, argv) != 0) {
		usage();
		rte_eal_cleanup();
		rmdir(runtime_dir);
		return 2;
	}
	if (o.thp) {
		unsigned int n = 0;

		rte_memseg_list_walk(thp_advise, &n);
		if (n == 0)
			fprintf(stderr, "bench_pipeline: --thp: no memory could be advised\n");
	}
	lanes[n_lcores++].lcore = rte_get_main_lcore();
	RTE_LCORE_FOREACH_WORKER(l) {
		if (n_lcores == MAX_LANES)
			break;
		lanes[n_lcores++].lcore = l;
	}
	for (i = 0; i < n_lcores; i++)
		lanes[i].idx = i;
	if (o.n_workers == 0) {
		o.workers[o.n_workers++] = 1;
		if (n_lcores >= 2)
			o.workers[o.n_workers++] = 2;
	}
	macs_init();
	if (!o.json) {
		char line_hdr[16];

		snprintf(line_hdr, sizeof(line_hdr), "wrk@%uG", o.link_gbps);
		printf("serval-sr pipeline: worker path vs io-forward baseline on the same "
				"harness (burst %u, median of %u rounds of %.2f s)\n", BURST,
				o.rounds, o.seconds);
		printf("%u resolve rules, %u gateway flows, %u templates per lane; "
				"%u EAL lcore(s), TSC %.2f GHz\n", o.rules, o.flows, o.templates,
				n_lcores, rte_get_tsc_hz() / 1e9);
		printf("%-30s %3s %8s %8s %10s %8s %7s  %9s %7s %7s\n", "case", "wrk",
				"Mpps", "cyc/pkt", "base Mpps", "base cyc", "ratio", "target",
				"scale", line_hdr);
	}
	for (i = 0; i < o.n_workers; i++) {
		if (o.workers[i] > n_lcores) {
			fprintf(stderr, "bench_pipeline: %u workers need %u EAL lcores (have %u); "
					"skipped\n", o.workers[i], o.workers[i], n_lcores);
			continue;
		}
		if (run_workers(i, o.workers[i]) != 0) {
			status = EXIT_FAILURE;
			break;
		}
	}
	for (i = 0; i < n_lcores; i++) {
		free(lanes[i].tmpl);
		free(lanes[i].tlen);
		free(lanes[i].flows);
	}
	rte_eal_cleanup();
	rmdir(runtime_dir);
	return status;
}
