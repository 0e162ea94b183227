/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * libFuzzer target for the whole per-packet worker path of serval-sr: the
 * input is one Ethernet frame, received by a worker of a real router (EAL
 * without hugepages, one net_ring port, the service map below) through
 * ssr_worker_poll(): L2/IPv4 checks, ICMP echo, transit forwarding, the SAL
 * stage (parse, service lookup, resolve and gateway rewrites, delay
 * hand-off, the local endpoint, RST replies). State (gateway and local
 * flows, the RST rate limit) carries over from input to input, as in a
 * router. The control lcore is not run: what a worker hands to it (ARP,
 * neighbour misses, delayed requests, in-band registrations) is taken off
 * its ring and freed here.
 *
 * The frame sits in a malloc'ed buffer of exactly the headroom plus its
 * length, attached to the mbuf as an external buffer, so ASan sees a read
 * or write past the frame. Checked after each input:
 * - no crash, no out-of-bounds access, no leak (LeakSanitizer);
 * - every mbuf is back in the pool: in-use count as before the first input,
 *   plus what waits in the TX buffer (a drop path that forgets to free, a
 *   reply that is never sent);
 * - the worker's books balance: rx + generated == tx + consumed + dropped
 *   + handed to the control lcore, counted from the first input (packets a
 *   timer has put in the TX buffer count as held);
 * - every frame sent is well formed: Ethernet source = the port's MAC, IPv4
 *   total length = frame length, valid IPv4 checksum; a SAL packet the
 *   router built or rewrote (anything but transit) parses with valid IPv4
 *   and SAL checksums.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "config.h"
#include "control.h"
#include "flowtable.h"
#include "neigh.h"
#include "ports.h"
#include "registry.h"
#include "router.h"
#include "sal_parse.h"
#include "services.h"
#include "stats.h"
#include "svctable.h"
#include "worker.h"

/* Defined by main.c in the binary. */
int ssr_stop_flag;

static const char cfg_text[] =
	"ports:\n"
	"  - { port: 0, address: 192.0.2.1/24, mac: \"02:00:00:00:00:01\",\n"
	"      rx_desc: 64, tx_desc: 64 }\n"
	"neighbors:\n"
	"  - { ip: 192.0.2.10, mac: \"02:00:00:00:00:10\" }\n"
	"  - { ip: 192.0.2.11, mac: \"02:00:00:00:00:11\" }\n"
	"  - { ip: 192.0.2.100, mac: \"02:00:00:00:00:99\" }\n"
	"  - { ip: 192.0.2.254, mac: \"02:00:00:00:00:fe\" }\n"
	"gateway: 192.0.2.254\n"
	"flows: { max: 64 }\n"
	"services:\n"
	"  - prefix: \"00015b38/32\"\n"
	"    action: forward\n"
	"    targets:\n"
	"      - { address: 192.0.2.10, weight: 3 }\n"
	"      - { address: 198.51.100.7, weight: 1 }\n"
	"      - { address: 192.0.2.12, priority: 0, weight: 0 }\n"
	"  - { prefix: \"0000ab12/32\", action: forward, mode: gateway,\n"
	"      targets: [{ address: 192.0.2.11 }] }\n"
	"  - { prefix: \"0000ff/24\", action: delay, delay: { queue: 4, timeout_ms: 100 } }\n"
	"  - { prefix: \"0000000e/32\", action: local }\n"
	"  - { prefix: \"dead/16\", action: drop }\n"
	"registration: { allow: [192.0.2.0/25] }\n";

#define RING_SIZE 1024
/* Frames longer than an mbuf's data room arrive multi-segment on real
 * ports; the worker drops those before reading them. */
#define MAX_FRAME RTE_MBUF_DEFAULT_DATAROOM

static struct ssr_router router;
static struct ssr_control ctl;
static struct ssr_rules *rules;
static struct ssr_worker *worker;
static struct rte_ring *rx_ring, *tx_ring;
static struct rte_mempool *pool;
static unsigned int pool_base;
static uint64_t books_in0, books_out0;
static struct sal_parse_conf out_conf;

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_worker: check failed: %s\n", what);
		abort();
	}
}

static void
free_extbuf(void *addr, void *opaque)
{
	free(addr);
	free(opaque);
}

/* An mbuf whose data is exactly the frame, in a buffer ASan can watch. */
static struct rte_mbuf *
frame_mbuf(const uint8_t *data, uint16_t len)
{
	struct rte_mbuf_ext_shared_info *shinfo;
	struct rte_mbuf *m;
	uint8_t *buf;

	m = rte_pktmbuf_alloc(pool);
	check(m != NULL, "mbuf for the input");
	buf = malloc(RTE_PKTMBUF_HEADROOM + len + (len == 0));
	shinfo = malloc(sizeof(*shinfo));
	check(buf != NULL && shinfo != NULL, "input buffer");
	shinfo->free_cb = free_extbuf;
	shinfo->fcb_opaque = shinfo;
	rte_mbuf_ext_refcnt_set(shinfo, 1);
	memcpy(buf + RTE_PKTMBUF_HEADROOM, data, len);
	rte_pktmbuf_attach_extbuf(m, buf, 0, RTE_PKTMBUF_HEADROOM + len, shinfo);
	m->data_off = RTE_PKTMBUF_HEADROOM;
	m->data_len = len;
	m->pkt_len = len;
	m->port = router.port[0].port_id;
	return m;
}

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t
ip_csum(const uint8_t *p, unsigned int len)
{
	uint32_t s = 0;
	unsigned int i;

	for (i = 0; i + 1 < len; i += 2)
		s += rd16(p + i);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* A frame the router sent. @p in_dst: IPv4 destination of the input. */
static void
check_output(struct rte_mbuf *m, uint32_t in_dst)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	uint16_t len = rte_pktmbuf_data_len(m), ihl, tot;
	struct sal_pkt sp;

	check(m->nb_segs == 1 && len == rte_pktmbuf_pkt_len(m), "one segment out");
	check(len >= RTE_ETHER_HDR_LEN, "Ethernet header out");
	check(memcmp(f + 6, router.port[0].mac.addr_bytes, 6) == 0, "source MAC is ours");
	if (rd16(f + 12) != RTE_ETHER_TYPE_IPV4)
		return;
	check(len >= RTE_ETHER_HDR_LEN + 20, "IPv4 header out");
	ihl = (f[14] & 0xf) * 4;
	tot = rd16(f + 16);
	check(ihl >= 20 && RTE_ETHER_HDR_LEN + ihl <= len, "IPv4 IHL out");
	check(tot == len - RTE_ETHER_HDR_LEN, "IPv4 total length = frame length");
	check(ip_csum(f + 14, ihl) == 0, "IPv4 checksum out");
	if (f[14 + 9] != router.sal_proto)
		return;
	/* transit SAL (not to a router address) is forwarded as it came */
	if (in_dst != router.port[0].addr)
		return;
	check(sal_parse(&out_conf, f, len, RTE_ETHER_HDR_LEN, &sp) == SAL_DROP_NONE,
		"a SAL packet the router built or rewrote parses (IPv4 and SAL checksums)");
}

static uint64_t
books(const struct ssr_stats *s, int out)
{
	if (!out)
		return s->cnt[SSR_CNT_RX] + s->cnt[SSR_CNT_GENERATED];
	return s->cnt[SSR_CNT_TX] + s->cnt[SSR_CNT_CONSUMED] + ssr_stats_dropped(s) +
		s->cnt[SSR_CNT_TO_CONTROL];
}

static char runtime_dir[128];

/* EAL leaves its runtime directory (empty with --no-shconf) behind. */
static void
remove_runtime_dir(void)
{
	rmdir(runtime_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char prefix[64];
	char *eal[] = {
		(*argv)[0], "--no-huge", "--no-pci", "-m", "256", "--no-shconf",
		"--no-telemetry", "-l", "0", "--log-level=*:error", prefix,
	};
	struct ssr_config_errors errs;
	struct ssr_router *r = &router;
	struct ssr_rules_txn *txn;
	struct ssr_config *cfg;
	struct ssr_err e;
	unsigned int main_lcore;
	int port;

	(void)argc;
	/* libFuzzer's -fork / -jobs run several of us at once */
	snprintf(prefix, sizeof(prefix), "--file-prefix=fuzz_worker_%d", (int)getpid());
	check(rte_eal_init(RTE_DIM(eal), eal) >= 0, "EAL init");
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	atexit(remove_runtime_dir);
	rx_ring = rte_ring_create("fz_rx", RING_SIZE, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	tx_ring = rte_ring_create("fz_tx", RING_SIZE, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	check(rx_ring != NULL && tx_ring != NULL, "rings");
	port = rte_eth_from_rings("fz0", &rx_ring, 1, &tx_ring, 1, 0);
	check(port == 0, "net_ring port 0");

	cfg = ssr_config_load_string(cfg_text, sizeof(cfg_text) - 1, "fuzz_worker", &errs);
	check(cfg != NULL, "config");
	ssr_config_errors_free(&errs);

	/* the router's own wiring (app/router.c), one worker on the main lcore */
	check(ssr_router_init(r, cfg) == 0, "router init");
	check(sal_parse_conf_init(&out_conf, cfg->sal_ip_protocol, 0) == 0, "parse conf");
	main_lcore = rte_get_main_lcore();
	check(ssr_router_start_workers(r, &main_lcore, 1) == 0, "ports and worker");
	worker = r->workers[0];
	check(ssr_router_create_tables(r) == 0, "tables");
	/* the service rules, as main.c's load_rules() */
	memset(&e, 0, sizeof(e));
	rules = ssr_rules_create(r);
	check(rules != NULL, "rule model");
	txn = ssr_rules_begin(rules, "load");
	check(txn != NULL && ssr_rules_replace_all(txn, cfg, &e) == 0 &&
		ssr_rules_commit(txn, &e) == 0, "rules");
	check(ssr_control_init(&ctl, r) == 0, "control (static neighbours)");
	ctl.rules = rules;
	rte_rcu_qsbr_thread_online(r->qsv, 0);
	pool = r->port[0].pool;
	pool_base = rte_mempool_in_use_count(pool);
	books_in0 = books(&worker->stats, 0);
	books_out0 = books(&worker->stats, 1);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rte_mbuf *m, *out[32];
	uint32_t in_dst = 0;
	unsigned int n, i, held;

	if (size > MAX_FRAME)
		return -1; /* not in the corpus: a real port would chain it */
	if (size >= RTE_ETHER_HDR_LEN + 20)
		in_dst = rd32(data + RTE_ETHER_HDR_LEN + 16);
	m = frame_mbuf(data, (uint16_t)size);
	check(rte_ring_enqueue(rx_ring, m) == 0, "RX ring");
	ssr_worker_poll(worker);
	/* a pass that receives nothing flushes the TX buffers */
	ssr_worker_poll(worker);
	check(rte_ring_count(rx_ring) == 0, "frame received");

	while ((n = rte_ring_dequeue_burst(tx_ring, (void **)out, RTE_DIM(out), NULL)) != 0)
		for (i = 0; i < n; i++) {
			check_output(out[i], in_dst);
			rte_pktmbuf_free(out[i]);
		}
	/* the control lcore's share: taken and freed, as it would end them */
	while ((n = rte_ring_dequeue_burst(router.ctl_ring, (void **)out, RTE_DIM(out),
				NULL)) != 0)
		rte_pktmbuf_free_bulk(out, n);

	/* Timers (local flows' retransmissions) run after the TX flush of a
	 * pass, so a packet they send may wait in the TX buffer until the next
	 * input: it is counted out when sent and held meanwhile. */
	held = worker->txb[0]->length;
	check(books(&worker->stats, 0) - books_in0 == books(&worker->stats, 1) - books_out0 + held,
		"rx + generated == tx + consumed + dropped + to_control (+ in the TX buffer)");
	check(rte_mempool_in_use_count(pool) == pool_base + held,
		"every mbuf back in the pool (or in the TX buffer)");
	return 0;
}
