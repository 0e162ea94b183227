/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * ssr-blast: the e2e benchmark's built-in generator (when pktgen-dpdk is not
 * there). One lcore, any DPDK ports (net_memif towards the router under test,
 * or real NICs):
 *
 *   replay   each --pcap P:FILE is loaded into mbufs once and sent on port P
 *            in a loop, as fast as the port takes it or at --rate Mpps; every
 *            port counts what comes back. After --warmup seconds the counters
 *            are sampled, and again --duration seconds later: TX and RX Mpps.
 *   handshake (--handshake MAP) gateway-mode set-up: the SYNs of the pcap on
 *            the client port are sent once; the router's forwarded SYNs on
 *            the instance port are answered with SYN-ACKs, the relayed
 *            SYN-ACKs on the client port with the client's ACK, and every
 *            flow that completed is written to MAP (trafgen's flow map), so
 *            ssr-trafgen can write data packets carrying the router's
 *            flowIDs.
 *
 * Sent frames are never rebuilt: each loaded mbuf gets one more reference per
 * transmission and the PMD's free drops it again, so the send loop does no
 * allocation and no copy of its own.
 *
 * Exit status: 0, 1 on errors, 2 on bad options, 77 when a port's link does
 * not come up (memif peer absent): the meson benchmark then counts as skipped.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "sal_build.h"
#include "sal_parse.h"
#include "trafgen.h"

#define BLAST_BURST 32
#define BLAST_RX_POOL 16384
#define BLAST_DESC 1024
#define BLAST_MAX_PORTS 8
#define EXIT_SKIP 77
/* Handshakes in flight at most (well below the 512..1024-slot rings). */
#define HS_WINDOW 256

struct blast_port {
	uint16_t id;
	bool up;
	struct rte_mbuf **frames; /* loaded pcap, NULL when RX only */
	uint32_t n_frames;
	uint32_t next;
	uint64_t tx;
	/* frames offered to tx_burst that the port did not take: the DUT's
	 * ring was full, so the DUT, not this generator, set the pace */
	uint64_t tx_refused;
	uint64_t rx;
	uint64_t tx_bytes;
	uint64_t rx_bytes;
};

struct blast {
	struct blast_port port[BLAST_MAX_PORTS];
	unsigned int n_ports;
	const char *pcap[BLAST_MAX_PORTS];
	struct rte_mempool *rx_pool;
	double duration, warmup, rate_mpps, link_timeout;
	const char *name;
	const char *handshake;
	unsigned int client_port, instance_port;
	uint8_t sal_proto;
	bool json;
	int watch_pid;          /* DUT whose CPU time is sampled with ours, or 0 */
	double linger;          /* seconds to keep the links up after the report */
	bool marks;             /* print "# window start/end" as they happen */
};

static volatile sig_atomic_t stop;
/* SIGUSR1 while lingering: stop polling, the DUT is about to go away */
static volatile sig_atomic_t quiesce;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		quiesce = 1;
	else
		stop = 1;
}

static void
usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s [EAL options] -- --pcap P:FILE [--pcap P:FILE ...] [options]\n"
		"  --pcap P:FILE        replay FILE on port P (ports without one only receive)\n"
		"  --duration S         measuring window in seconds (default 5)\n"
		"  --warmup S           seconds before measuring (default 1)\n"
		"  --rate MPPS          cap the total sending rate (default: as fast as it goes)\n"
		"  --link-timeout S     wait this long for every link (default 10); exit 77 if down\n"
		"  --name NAME          case name for the report\n"
		"  --json               one JSON object instead of the table\n"
		"  --handshake MAP      gateway handshakes: SYNs of the client port's pcap out once,\n"
		"                       answer from the instance port, write the flow map to MAP\n"
		"  --client-port P      (handshake) default 0\n"
		"  --instance-port P    (handshake) default 1\n"
		"  --sal-proto N        IP protocol of SAL (default 144)\n"
		"  --watch-pid PID      also report that process's CPU time in the window\n"
		"                       (the DUT's share of a contended CPU)\n"
		"  --linger S           after the report keep the links up (draining) for S\n"
		"                       seconds or until SIGINT/SIGTERM, so the DUT can stop\n"
		"                       first and never sees its peer vanish mid-burst; SIGUSR1\n"
		"                       then stops polling (the memif PMD must not be polled\n"
		"                       while its peer disconnects)\n"
		"  --marks              print '# window start' and '# window end' (flushed) when\n"
		"                       the measuring window opens and closes\n", prog);
}

static int
parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max))
		return -EINVAL;
	*out = v;
	return 0;
}

static int
parse_args(struct blast *b, int argc, char **argv)
{
	enum { O_PCAP = 256, O_DURATION, O_WARMUP, O_RATE, O_LINK, O_NAME, O_JSON,
		O_HANDSHAKE, O_CPORT, O_IPORT, O_PROTO, O_WATCH, O_LINGER, O_MARKS, O_HELP };
	static const struct option longopts[] = {
		{ "pcap", required_argument, NULL, O_PCAP },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "warmup", required_argument, NULL, O_WARMUP },
		{ "rate", required_argument, NULL, O_RATE },
		{ "link-timeout", required_argument, NULL, O_LINK },
		{ "name", required_argument, NULL, O_NAME },
		{ "json", no_argument, NULL, O_JSON },
		{ "handshake", required_argument, NULL, O_HANDSHAKE },
		{ "client-port", required_argument, NULL, O_CPORT },
		{ "instance-port", required_argument, NULL, O_IPORT },
		{ "sal-proto", required_argument, NULL, O_PROTO },
		{ "watch-pid", required_argument, NULL, O_WATCH },
		{ "linger", required_argument, NULL, O_LINGER },
		{ "marks", no_argument, NULL, O_MARKS },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	double v;
	char *colon, *end;
	unsigned long p;
	int opt;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case O_PCAP:
			colon = strchr(optarg, ':');
			errno = 0;
			p = strtoul(optarg, &end, 10);
			if (colon == NULL || end != colon || p >= BLAST_MAX_PORTS || colon[1] == '\0') {
				fprintf(stderr, "ssr-blast: --pcap wants P:FILE with P 0..%d\n",
						BLAST_MAX_PORTS - 1);
				return -EINVAL;
			}
			b->pcap[p] = colon + 1;
			break;
		case O_DURATION:
		case O_WARMUP:
		case O_RATE:
		case O_LINK:
		case O_LINGER:
			if (parse_double(optarg, opt == O_RATE ? 0.001 : 0, 3600, &v) != 0) {
				fprintf(stderr, "ssr-blast: bad number '%s'\n", optarg);
				return -EINVAL;
			}
			if (opt == O_DURATION)
				b->duration = v;
			else if (opt == O_WARMUP)
				b->warmup = v;
			else if (opt == O_RATE)
				b->rate_mpps = v;
			else if (opt == O_LINGER)
				b->linger = v;
			else
				b->link_timeout = v;
			break;
		case O_NAME:
			b->name = optarg;
			break;
		case O_JSON:
			b->json = true;
			break;
		case O_MARKS:
			b->marks = true;
			break;
		case O_HANDSHAKE:
			b->handshake = optarg;
			break;
		case O_CPORT:
		case O_IPORT:
		case O_PROTO:
			errno = 0;
			p = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' ||
					p >= (opt == O_PROTO ? 255u : BLAST_MAX_PORTS)) {
				fprintf(stderr, "ssr-blast: bad value '%s'\n", optarg);
				return -EINVAL;
			}
			if (opt == O_CPORT)
				b->client_port = (unsigned int)p;
			else if (opt == O_IPORT)
				b->instance_port = (unsigned int)p;
			else
				b->sal_proto = (uint8_t)p;
			break;
		case O_WATCH:
			errno = 0;
			p = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || p == 0 || p > INT32_MAX) {
				fprintf(stderr, "ssr-blast: bad pid '%s'\n", optarg);
				return -EINVAL;
			}
			b->watch_pid = (int)p;
			break;
		case O_HELP:
			usage(stdout, "ssr-blast");
			exit(0);
		default:
			usage(stderr, "ssr-blast");
			return -EINVAL;
		}
	}
	if (optind != argc) {
		usage(stderr, "ssr-blast");
		return -EINVAL;
	}
	if (b->duration <= 0 && b->handshake == NULL) {
		fprintf(stderr, "ssr-blast: --duration must be > 0\n");
		return -EINVAL;
	}
	return 0;
}

static int
port_init(struct blast *b, unsigned int i)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	uint16_t nb_rxd = BLAST_DESC, nb_txd = BLAST_DESC;
	uint16_t id = b->port[i].id;
	int ret;

	memset(&conf, 0, sizeof(conf));
	ret = rte_eth_dev_info_get(id, &info);
	if (ret != 0)
		return ret;
	ret = rte_eth_dev_configure(id, 1, 1, &conf);
	if (ret != 0)
		return ret;
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(id, &nb_rxd, &nb_txd);
	if (ret != 0)
		return ret;
	ret = rte_eth_rx_queue_setup(id, 0, nb_rxd, rte_eth_dev_socket_id(id), NULL, b->rx_pool);
	if (ret != 0)
		return ret;
	ret = rte_eth_tx_queue_setup(id, 0, nb_txd, rte_eth_dev_socket_id(id), NULL);
	if (ret != 0)
		return ret;
	ret = rte_eth_dev_start(id);
	if (ret != 0)
		return ret;
	/* accept whatever the router sends back, whatever MAC it uses */
	rte_eth_promiscuous_enable(id);
	return 0;
}

/* Load a pcap into mbufs of a pool sized for it (small frames, small mbufs). */
static int
load_pcap(struct blast *b, unsigned int i)
{
	struct blast_port *bp = &b->port[i];
	struct tg_capture cap;
	struct rte_mempool *mp;
	char name[RTE_MEMPOOL_NAMESIZE];
	uint32_t maxlen = 0, k;
	int ret;

	ret = tg_pcap_load(b->pcap[i], &cap);
	if (ret != 0) {
		fprintf(stderr, "ssr-blast: %s: %s\n", b->pcap[i],
				ret == -EINVAL ? "not a usable pcap file" : strerror(-ret));
		return ret;
	}
	if (cap.n == 0) {
		fprintf(stderr, "ssr-blast: %s: no frames\n", b->pcap[i]);
		tg_capture_free(&cap);
		return -EINVAL;
	}
	for (k = 0; k < cap.n; k++)
		if (cap.frames[k].len > maxlen)
			maxlen = cap.frames[k].len;
	if (maxlen > UINT16_MAX - RTE_PKTMBUF_HEADROOM) {
		fprintf(stderr, "ssr-blast: %s: frame of %u bytes is too big\n", b->pcap[i], maxlen);
		tg_capture_free(&cap);
		return -EINVAL;
	}
	snprintf(name, sizeof(name), "blast_tx%u", i);
	mp = rte_pktmbuf_pool_create(name, cap.n, 0, 0,
			(uint16_t)(RTE_PKTMBUF_HEADROOM + maxlen), rte_socket_id());
	bp->frames = calloc(cap.n, sizeof(*bp->frames));
	if (mp == NULL || bp->frames == NULL) {
		fprintf(stderr, "ssr-blast: %s: no memory for %u frames (%s): give EAL more "
				"(-m)\n", b->pcap[i], cap.n, rte_strerror(rte_errno));
		tg_capture_free(&cap);
		return -ENOMEM;
	}
	if (rte_pktmbuf_alloc_bulk(mp, bp->frames, cap.n) != 0) {
		tg_capture_free(&cap);
		return -ENOMEM;
	}
	for (k = 0; k < cap.n; k++) {
		char *d = rte_pktmbuf_append(bp->frames[k], (uint16_t)cap.frames[k].len);

		memcpy(d, cap.frames[k].data, cap.frames[k].len);
	}
	bp->n_frames = cap.n;
	tg_capture_free(&cap);
	return 0;
}

static int
wait_links(struct blast *b)
{
	uint64_t deadline = rte_get_tsc_cycles() + (uint64_t)(b->link_timeout * rte_get_tsc_hz());
	struct rte_eth_link link;
	unsigned int i, up;

	do {
		for (up = 0, i = 0; i < b->n_ports; i++) {
			if (rte_eth_link_get_nowait(b->port[i].id, &link) == 0 &&
					link.link_status == RTE_ETH_LINK_UP)
				up++;
		}
		if (up == b->n_ports)
			return 0;
		rte_delay_ms(50);
	} while (rte_get_tsc_cycles() < deadline && !stop);
	return -ETIMEDOUT;
}

/* Send up to BLAST_BURST loaded frames; returns the number sent. */
static inline uint16_t
send_burst(struct blast_port *bp, uint16_t want)
{
	struct rte_mbuf *pkts[BLAST_BURST];
	uint16_t i, sent;
	uint32_t idx = bp->next;

	for (i = 0; i < want; i++) {
		struct rte_mbuf *m = bp->frames[idx];

		/*
		 * Plain (non-atomic) increment: this lcore is the only one that
		 * touches these mbufs; the PMD frees them in our tx_burst calls.
		 */
		rte_mbuf_refcnt_set(m, (uint16_t)(rte_mbuf_refcnt_read(m) + 1));
		pkts[i] = m;
		if (++idx == bp->n_frames)
			idx = 0;
	}
	sent = rte_eth_tx_burst(bp->id, 0, pkts, want);
	for (i = sent; i < want; i++)
		rte_mbuf_refcnt_set(pkts[i], (uint16_t)(rte_mbuf_refcnt_read(pkts[i]) - 1));
	bp->tx_refused += (uint64_t)(want - sent);
	for (i = 0; i < sent; i++)
		bp->tx_bytes += rte_pktmbuf_pkt_len(pkts[i]);
	bp->next = (uint32_t)(((uint64_t)bp->next + sent) % bp->n_frames);
	bp->tx += sent;
	return sent;
}

static inline void
drain_rx(struct blast_port *bp)
{
	struct rte_mbuf *pkts[BLAST_BURST];
	uint16_t n, i;

	n = rte_eth_rx_burst(bp->id, 0, pkts, BLAST_BURST);
	if (n == 0)
		return;
	bp->rx += n;
	for (i = 0; i < n; i++)
		bp->rx_bytes += rte_pktmbuf_pkt_len(pkts[i]);
	rte_pktmbuf_free_bulk(pkts, n);
}

struct sample {
	uint64_t tsc;
	double dut_cpu;   /* seconds of CPU the watched process used so far */
	double own_cpu;
	uint64_t tx[BLAST_MAX_PORTS], rx[BLAST_MAX_PORTS], refused[BLAST_MAX_PORTS];
	uint64_t txb[BLAST_MAX_PORTS], rxb[BLAST_MAX_PORTS];
};

/* utime + stime of a process (all its threads) in seconds; -1 if unknown. */
static double
proc_cpu(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	if (pid <= 0)
		snprintf(path, sizeof(path), "/proc/self/stat");
	else
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* fields after the command name, which may hold spaces: state is 3rd */
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
				&ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void
take_sample(const struct blast *b, struct sample *s)
{
	unsigned int i;

	s->dut_cpu = b->watch_pid > 0 ? proc_cpu(b->watch_pid) : -1;
	s->own_cpu = proc_cpu(0);
	s->tsc = rte_get_tsc_cycles();
	for (i = 0; i < b->n_ports; i++) {
		s->tx[i] = b->port[i].tx;
		s->refused[i] = b->port[i].tx_refused;
		s->rx[i] = b->port[i].rx;
		s->txb[i] = b->port[i].tx_bytes;
		s->rxb[i] = b->port[i].rx_bytes;
	}
}

static void
report(const struct blast *b, const struct sample *s0, const struct sample *s1)
{
	double secs = (double)(s1->tsc - s0->tsc) / (double)rte_get_tsc_hz();
	uint64_t tx = 0, rx = 0, txb = 0, rxb = 0, refused = 0;
	struct rte_eth_stats st;
	double refused_share;
	unsigned int i;

	for (i = 0; i < b->n_ports; i++) {
		tx += s1->tx[i] - s0->tx[i];
		refused += s1->refused[i] - s0->refused[i];
		rx += s1->rx[i] - s0->rx[i];
		txb += s1->txb[i] - s0->txb[i];
		rxb += s1->rxb[i] - s0->rxb[i];
	}
	refused_share = tx + refused > 0 ? (double)refused / (double)(tx + refused) : 0;
	if (b->json) {
		printf("{\"name\": \"%s\", \"generator\": \"ssr-blast\", \"seconds\": %.3f, "
				"\"rate_cap_mpps\": %.3f, \"tx_pkts\": %" PRIu64 ", \"rx_pkts\": %"
				PRIu64 ", \"tx_mpps\": %.4f, \"rx_mpps\": %.4f, \"tx_gbps\": %.4f, "
				"\"rx_gbps\": %.4f, \"gen_cpu_share\": %.3f, \"dut_cpu_share\": %.3f, "
				"\"tx_refused_share\": %.4f, \"ports\": [", b->name, secs,
				b->rate_mpps, tx, rx,
				tx / secs / 1e6, rx / secs / 1e6, txb * 8 / secs / 1e9,
				rxb * 8 / secs / 1e9, (s1->own_cpu - s0->own_cpu) / secs,
				s0->dut_cpu < 0 || s1->dut_cpu < 0 ? -1.0 :
				(s1->dut_cpu - s0->dut_cpu) / secs, refused_share);
		for (i = 0; i < b->n_ports; i++) {
			memset(&st, 0, sizeof(st));
			rte_eth_stats_get(b->port[i].id, &st);
			printf("%s{\"port\": %u, \"tx_mpps\": %.4f, \"rx_mpps\": %.4f, "
					"\"frames\": %u, \"imissed\": %" PRIu64 ", \"oerrors\": %"
					PRIu64 "}", i ? ", " : "", i,
					(s1->tx[i] - s0->tx[i]) / secs / 1e6,
					(s1->rx[i] - s0->rx[i]) / secs / 1e6, b->port[i].n_frames,
					st.imissed, st.oerrors);
		}
		printf("]}\n");
		return;
	}
	printf("%-24s %8s %8s %10s %10s\n", b->name, "port", "frames", "TX Mpps", "RX Mpps");
	for (i = 0; i < b->n_ports; i++)
		printf("%-24s %8u %8u %10.3f %10.3f\n", "", i, b->port[i].n_frames,
				(s1->tx[i] - s0->tx[i]) / secs / 1e6,
				(s1->rx[i] - s0->rx[i]) / secs / 1e6);
	printf("%-24s %8s %8s %10.3f %10.3f   (%.2f s, CPU share: generator %.2f",
			"", "total", "", tx / secs / 1e6, rx / secs / 1e6, secs,
			(s1->own_cpu - s0->own_cpu) / secs);
	if (s0->dut_cpu >= 0 && s1->dut_cpu >= 0)
		printf(", watched pid %.2f", (s1->dut_cpu - s0->dut_cpu) / secs);
	printf("; frames the ports refused: %.1f%%)\n", 100 * refused_share);
}

/* Tell a watcher (run-e2e sampling a DUT's counters) where the window is. */
static void
mark(const struct blast *b, const char *what)
{
	if (!b->marks)
		return;
	printf("# window %s\n", what);
	fflush(stdout);
}

static int
run_replay(struct blast *b)
{
	uint64_t hz = rte_get_tsc_hz(), start, t_measure, t_end, now, allowed, total_tx = 0;
	double per_tsc = b->rate_mpps * 1e6 / (double)hz;
	struct sample s0, s1;
	unsigned int i;
	bool measuring = false, any_tx = false;

	for (i = 0; i < b->n_ports; i++)
		any_tx |= b->port[i].n_frames != 0;
	start = rte_get_tsc_cycles();
	t_measure = start + (uint64_t)(b->warmup * hz);
	t_end = t_measure + (uint64_t)(b->duration * hz);
	memset(&s0, 0, sizeof(s0));
	take_sample(b, &s0);
	for (;;) {
		now = rte_get_tsc_cycles();
		if (!measuring && now >= t_measure) {
			take_sample(b, &s0);
			measuring = true;
			mark(b, "start");
		}
		if (now >= t_end || stop)
			break;
		for (i = 0; i < b->n_ports; i++) {
			struct blast_port *bp = &b->port[i];
			uint16_t want = BLAST_BURST;

			if (bp->n_frames == 0)
				continue;
			if (b->rate_mpps > 0) {
				allowed = (uint64_t)((double)(now - start) * per_tsc);
				if (allowed <= total_tx)
					continue;
				if (allowed - total_tx < want)
					want = (uint16_t)(allowed - total_tx);
			}
			total_tx += send_burst(bp, want);
		}
		for (i = 0; i < b->n_ports; i++)
			drain_rx(&b->port[i]);
	}
	take_sample(b, &s1);
	if (measuring)
		mark(b, "end");
	else
		s0 = s1;
	/* let what is in flight come back, outside the window */
	now = rte_get_tsc_cycles();
	while (rte_get_tsc_cycles() < now + hz / 10)
		for (i = 0; i < b->n_ports; i++)
			drain_rx(&b->port[i]);
	if (stop && !measuring) {
		fprintf(stderr, "ssr-blast: interrupted before the measuring window\n");
		return -EINTR;
	}
	if (!any_tx)
		fprintf(stderr, "ssr-blast: no --pcap given: receive only\n");
	report(b, &s0, &s1);
	return 0;
}

/* ------------------------------------------------------------ handshake */

/* One flow seen in handshake mode; the index is in the instance's nonce. */
struct hs_flow {
	uint32_t rfid;          /* client-side router flowID, host order */
	uint32_t target;        /* network order */
	uint32_t client_verno;  /* host order */
	uint8_t nonce[SAL_NONCE_LEN];
	bool done;
};

struct handshake {
	struct blast *b;
	struct sal_parse_conf pc;
	struct hs_flow *flows;
	uint32_t n_flows, cap;
	uint32_t completed, syn_fwd, bad;
	FILE *map;
};

/* The instance's flowID for flow k: anything non-zero and unique will do. */
static uint32_t
instance_flowid(uint32_t k)
{
	return 0x40000000u | (k + 1);
}

static struct rte_mbuf *
build(struct blast *b, const struct rte_ether_hdr *rx_eth, const struct sal_msg *m)
{
	struct rte_mbuf *mb = rte_pktmbuf_alloc(b->rx_pool);
	struct rte_ether_hdr *eth;
	int len;

	if (mb == NULL)
		return NULL;
	eth = rte_pktmbuf_mtod(mb, struct rte_ether_hdr *);
	len = sal_build(m, (uint8_t *)(eth + 1), rte_pktmbuf_tailroom(mb) - sizeof(*eth));
	if (len < 0) {
		rte_pktmbuf_free(mb);
		return NULL;
	}
	/* answer the router's frame: back to its MAC, from the MAC it used */
	rte_ether_addr_copy(&rx_eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(&rx_eth->dst_addr, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	rte_pktmbuf_append(mb, (uint16_t)(len + sizeof(*eth)));
	return mb;
}

static void
hs_send(struct blast *b, unsigned int port, struct rte_mbuf *m)
{
	if (m == NULL || rte_eth_tx_burst(b->port[port].id, 0, &m, 1) != 1) {
		rte_pktmbuf_free(m);
		return;
	}
	b->port[port].tx++;
}

static void
control_ext(struct sal_msg *m, uint8_t flags, uint32_t verno, uint32_t ackno,
		const uint8_t *nonce)
{
	struct sal_ext_spec *e = &m->ext[m->n_ext++];

	e->type = SAL_EXT_CONTROL;
	e->u.control.flags = flags;
	e->u.control.verno = verno;
	e->u.control.ackno = ackno;
	memcpy(e->u.control.nonce, nonce, SAL_NONCE_LEN);
}

/* A forwarded SYN on the instance port: remember it, answer with a SYN-ACK. */
static void
hs_syn(struct handshake *h, const uint8_t *frame, const struct sal_pkt *sp)
{
	struct blast *b = h->b;
	struct hs_flow *f;
	struct sal_msg m;
	uint8_t nonce[SAL_NONCE_LEN];
	uint32_t k = h->n_flows, v;

	if (h->n_flows == h->cap) {
		uint32_t cap = h->cap == 0 ? 4096 : 2 * h->cap;
		struct hs_flow *nf = realloc(h->flows, cap * sizeof(*nf));

		if (nf == NULL) {
			h->bad++;
			return;
		}
		h->flows = nf;
		h->cap = cap;
	}
	f = &h->flows[k];
	memset(f, 0, sizeof(*f));
	f->rfid = rte_be_to_cpu_32(sp->src_flowid) & ~1u;
	f->target = sal_pkt_ip_dst(frame, sp);
	f->client_verno = sal_pkt_verno(frame, sp);
	memcpy(f->nonce, frame + sp->ctrl_off + offsetof(struct sal_control_ext, nonce),
			SAL_NONCE_LEN);
	h->n_flows++;
	h->syn_fwd++;

	/* the instance's nonce carries k, so the relayed SYN-ACK finds the flow */
	v = rte_cpu_to_be_32(k);
	memset(nonce, 0, sizeof(nonce));
	memcpy(nonce + 4, &v, 4);
	sal_msg_init(&m);
	m.ip_proto = b->sal_proto;
	m.ip_src = f->target;
	m.ip_dst = sal_pkt_ip_src(frame, sp);
	m.src_flowid = rte_cpu_to_be_32(instance_flowid(k));
	m.dst_flowid = sp->src_flowid;
	m.proto = SAL_PROTO_TCP;
	control_ext(&m, SAL_CTRL_SYN | SAL_CTRL_ACK, 0x1000u + k, f->client_verno + 1, nonce);
	hs_send(b, b->instance_port,
			build(b, (const struct rte_ether_hdr *)frame, &m));
}

/* A relayed SYN-ACK on the client port: record the flow, send the ACK. */
static void
hs_synack(struct handshake *h, const uint8_t *frame, const struct sal_pkt *sp)
{
	struct blast *b = h->b;
	struct tg_gwflow g;
	struct hs_flow *f;
	struct sal_msg m;
	uint32_t k;

	memcpy(&k, frame + sp->ctrl_off + offsetof(struct sal_control_ext, nonce) + 4, 4);
	k = rte_be_to_cpu_32(k);
	if (k >= h->n_flows || h->flows[k].done ||
			h->flows[k].rfid != rte_be_to_cpu_32(sp->src_flowid)) {
		h->bad++;
		return;
	}
	f = &h->flows[k];
	f->done = true;
	memset(&g, 0, sizeof(g));
	g.client_ip = sal_pkt_ip_dst(frame, sp);
	g.client_flowid = sp->dst_flowid;
	g.rfid = f->rfid;
	g.target = f->target;
	g.instance_flowid = rte_cpu_to_be_32(instance_flowid(k));
	memcpy(g.nonce, f->nonce, SAL_NONCE_LEN);
	if (tg_gwmap_write(h->map, &g) != 0)
		h->bad++;
	h->completed++;

	sal_msg_init(&m);
	m.ip_proto = b->sal_proto;
	m.ip_src = g.client_ip;
	m.ip_dst = sal_pkt_ip_src(frame, sp);
	m.src_flowid = g.client_flowid;
	m.dst_flowid = sp->src_flowid;
	m.proto = SAL_PROTO_TCP;
	control_ext(&m, SAL_CTRL_ACK, f->client_verno + 1, sal_pkt_verno(frame, sp) + 1,
			f->nonce);
	hs_send(b, b->client_port, build(b, (const struct rte_ether_hdr *)frame, &m));
}

static void
hs_rx(struct handshake *h, unsigned int port)
{
	struct rte_mbuf *pkts[BLAST_BURST];
	struct blast_port *bp = &h->b->port[port];
	struct sal_pkt sp;
	uint16_t n, i;

	n = rte_eth_rx_burst(bp->id, 0, pkts, BLAST_BURST);
	bp->rx += n;
	for (i = 0; i < n; i++) {
		const uint8_t *frame = rte_pktmbuf_mtod(pkts[i], const uint8_t *);

		if (pkts[i]->nb_segs != 1 ||
				sal_parse(&h->pc, frame, rte_pktmbuf_data_len(pkts[i]),
					sizeof(struct rte_ether_hdr), &sp) != SAL_DROP_NONE ||
				sp.ctrl_off == 0)
			continue;
		if (port == h->b->instance_port && sp.ctrl_flags == SAL_CTRL_SYN &&
				sp.dst_flowid == 0)
			hs_syn(h, frame, &sp);
		else if (port == h->b->client_port &&
				sp.ctrl_flags == (SAL_CTRL_SYN | SAL_CTRL_ACK))
			hs_synack(h, frame, &sp);
	}
	rte_pktmbuf_free_bulk(pkts, n);
}

static int
run_handshake(struct blast *b)
{
	struct blast_port *cp = &b->port[b->client_port];
	uint64_t hz = rte_get_tsc_hz(), start, now, last_progress;
	double rate = b->rate_mpps > 0 ? b->rate_mpps : 1.0;
	struct handshake h;
	uint32_t sent = 0, progress = 0;
	int ret = 0;

	if (b->client_port >= b->n_ports || b->instance_port >= b->n_ports ||
			b->client_port == b->instance_port || cp->n_frames == 0) {
		fprintf(stderr, "ssr-blast: --handshake needs two ports and the SYNs as "
				"--pcap %u:FILE\n", b->client_port);
		return -EINVAL;
	}
	memset(&h, 0, sizeof(h));
	h.b = b;
	sal_parse_conf_init(&h.pc, b->sal_proto, 0);
	h.map = fopen(b->handshake, "w");
	if (h.map == NULL) {
		fprintf(stderr, "ssr-blast: %s: %s\n", b->handshake, strerror(errno));
		return -errno;
	}
	fprintf(h.map, "# gateway flows set up by ssr-blast --handshake (trafgen flow map)\n"
			"# client_ip client_flowid rfid target_ip instance_flowid nonce\n");
	start = last_progress = rte_get_tsc_cycles();
	for (;;) {
		now = rte_get_tsc_cycles();
		if (stop)
			break;
		/*
		 * Each SYN once, paced, and at most HS_WINDOW flows unfinished:
		 * then no ring between us and the router can overflow, however
		 * long either of us is descheduled on a shared CPU.
		 */
		if (sent < cp->n_frames && sent - h.completed < HS_WINDOW) {
			uint64_t allowed = (uint64_t)((double)(now - start) * rate * 1e6 / hz);

			if (allowed > sent) {
				uint64_t want = RTE_MIN(allowed - sent,
						(uint64_t)(cp->n_frames - sent));

				if (want > BLAST_BURST)
					want = BLAST_BURST;
				if (want > HS_WINDOW - (sent - h.completed))
					want = HS_WINDOW - (sent - h.completed);

				sent += send_burst(cp, (uint16_t)want);
			}
		}
		hs_rx(&h, b->instance_port);
		hs_rx(&h, b->client_port);
		if (h.completed + h.syn_fwd != progress) {
			progress = h.completed + h.syn_fwd;
			last_progress = now;
		}
		if (sent == cp->n_frames &&
				(h.completed == cp->n_frames || now - last_progress > hz))
			break;
		if (now - start > (uint64_t)(b->link_timeout + 60) * hz)
			break;
	}
	/* the last ACKs: let the router relay them before we go */
	now = rte_get_tsc_cycles();
	while (rte_get_tsc_cycles() < now + hz / 5) {
		hs_rx(&h, b->instance_port);
		hs_rx(&h, b->client_port);
	}
	if (fclose(h.map) != 0) {
		fprintf(stderr, "ssr-blast: %s: write error\n", b->handshake);
		ret = -EIO;
	}
	free(h.flows);
	if (b->json)
		printf("{\"name\": \"%s\", \"handshake\": true, \"syn_sent\": %u, "
				"\"syn_forwarded\": %u, \"completed\": %u, \"unmatched\": %u}\n",
				b->name, sent, h.syn_fwd, h.completed, h.bad);
	else
		printf("handshake: %u SYNs sent, %u forwarded by the router, %u flows "
				"completed, %u replies unmatched; flow map %s\n", sent, h.syn_fwd,
				h.completed, h.bad, b->handshake);
	if (h.completed == 0) {
		fprintf(stderr, "ssr-blast: no gateway flow completed its handshake\n");
		return -EIO;
	}
	return ret;
}

int
main(int argc, char **argv)
{
	struct blast b;
	uint64_t settle;
	unsigned int i;
	int ret, n;

	memset(&b, 0, sizeof(b));
	b.duration = 5;
	b.warmup = 1;
	b.link_timeout = 10;
	b.name = "blast";
	b.instance_port = 1;
	b.sal_proto = SAL_IPPROTO_DEFAULT;

	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "ssr-blast: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	if (parse_args(&b, argc - n, argv + n) != 0) {
		rte_eal_cleanup();
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_signal);

	b.n_ports = rte_eth_dev_count_avail();
	if (b.n_ports == 0 || b.n_ports > BLAST_MAX_PORTS) {
		fprintf(stderr, "ssr-blast: %u ports (want 1..%d): give --vdev=net_memif... or "
				"real ports\n", b.n_ports, BLAST_MAX_PORTS);
		ret = 1;
		goto out;
	}
	for (i = 0; i < BLAST_MAX_PORTS; i++) {
		if (b.pcap[i] != NULL && i >= b.n_ports) {
			fprintf(stderr, "ssr-blast: --pcap %u: there are only %u ports\n", i,
					b.n_ports);
			ret = 2;
			goto out;
		}
	}
	b.rx_pool = rte_pktmbuf_pool_create("blast_rx", BLAST_RX_POOL, 256, 0,
			RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (b.rx_pool == NULL) {
		fprintf(stderr, "ssr-blast: RX pool: %s\n", rte_strerror(rte_errno));
		ret = 1;
		goto out;
	}
	i = 0;
	RTE_ETH_FOREACH_DEV(n) {
		if (i == b.n_ports)
			break;
		b.port[i++].id = (uint16_t)n;
	}
	for (i = 0; i < b.n_ports; i++) {
		if (b.pcap[i] != NULL && load_pcap(&b, i) != 0) {
			ret = 1;
			goto out;
		}
		ret = port_init(&b, i);
		if (ret != 0) {
			fprintf(stderr, "ssr-blast: port %u: %s\n", i, rte_strerror(-ret));
			ret = 1;
			goto out;
		}
	}
	if (wait_links(&b) != 0) {
		fprintf(stderr, "ssr-blast: a link did not come up within %.0f s (no memif "
				"peer?): skipping\n", b.link_timeout);
		ret = EXIT_SKIP;
		goto out;
	}
	/*
	 * Our side of a memif link comes up a moment before the DUT's: frames
	 * sent at once may find the DUT's other port not yet connected (its TX
	 * then fails). Settle first, draining whatever arrives.
	 */
	settle = rte_get_tsc_cycles() + rte_get_tsc_hz() / 2;
	while (rte_get_tsc_cycles() < settle && !stop)
		for (i = 0; i < b.n_ports; i++)
			drain_rx(&b.port[i]);
	for (i = 0; i < b.n_ports; i++)
		b.port[i].rx = b.port[i].rx_bytes = 0;
	ret = b.handshake != NULL ? run_handshake(&b) : run_replay(&b);
	ret = ret == 0 ? 0 : 1;
	fflush(stdout);
	if (b.linger > 0) {
		uint64_t end = rte_get_tsc_cycles() + (uint64_t)(b.linger * rte_get_tsc_hz());

		while (!stop && rte_get_tsc_cycles() < end) {
			if (quiesce) {
				rte_delay_us_sleep(1000);
				continue;
			}
			for (i = 0; i < b.n_ports; i++)
				drain_rx(&b.port[i]);
		}
	}
out:
	for (i = 0; i < b.n_ports; i++) {
		rte_eth_dev_stop(b.port[i].id);
		rte_eth_dev_close(b.port[i].id);
		if (b.port[i].frames != NULL)
			rte_pktmbuf_free_bulk(b.port[i].frames, b.port[i].n_frames);
		free(b.port[i].frames);
	}
	rte_eal_cleanup();
	return ret;
}
