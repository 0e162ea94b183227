/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * serval-sr [EAL options] -- -c <config.yaml> [--check] [--exit-on-idle <ms>]
 *
 * Wiring only: options, config, EAL, ports, workers, control loop, orderly
 * shutdown. The main lcore is the control lcore; every other EAL lcore runs
 * a worker. With a single lcore (-l 0) the main lcore runs the worker loop
 * and the control duties interleaved: a control pass after every worker pass
 * that received nothing, and at least every SSR_CONTROL_PERIOD_US otherwise.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>

#include "config.h"
#include "control.h"
#include "flowtable.h"
#include "neigh.h"
#include "plane.h"
#include "ports.h"
#include "privdrop.h"
#include "registry.h"
#include "router.h"
#include "services.h"
#include "stats.h"
#include "svctable.h"
#include "worker.h"

#define MLOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, ssr_logtype_main, "serval-sr: " fmt "\n", \
			##__VA_ARGS__)

/* Single-lcore mode: longest gap between control passes under load. */
#define SSR_CONTROL_PERIOD_US 100
/* Control lcore with nothing to do naps this long (it owns no queue). */
#define SSR_CONTROL_NAP_US 20

_Static_assert(RTE_MAX_ETHPORTS > SSR_CFG_MAX_PORT_ID,
		"config port ids must fit DPDK's port table");

int ssr_stop_flag;

struct ssr_opts {
	const char *config;
	bool check;
	uint64_t idle_ms;
	bool drop_privileges;
	struct ssr_privdrop user;
};

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		/* relaxed: a flag the control loop polls */
		__atomic_store_n(&ssr_reload_flag, 1, __ATOMIC_RELAXED);
	else
		ssr_request_stop();
}

static void
usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s [EAL options] -- -c <config.yaml> [options]\n"
		"  -c, --config FILE      service map (see config/README.md)\n"
		"      --check            validate FILE, print every error, exit\n"
		"                         (0 = valid; needs no EAL options)\n"
		"      --exit-on-idle MS  stop once no packet arrived for MS ms after\n"
		"                         at least one did (pcap replay, demos, tests)\n"
		"      --user USER[:GROUP] once ports and sockets are open, become USER\n"
		"                         (and GROUP, else USER's group) for good\n"
		"  -h, --help             this text\n"
		"SIGINT/SIGTERM stop the router cleanly and print its counters;\n"
		"SIGHUP re-reads FILE and replaces the service rules at one instant.\n",
		prog);
}

/* Parse the options after "--". Returns 0, 1 for --help, -1 on error. */
static int
parse_opts(int argc, char **argv, struct ssr_opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "exit-on-idle", required_argument, NULL, 'i' },
		{ "user", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 1;
	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 'c':
			if (o->config != NULL) {
				fprintf(stderr, "%s: -c given twice\n", argv[0]);
				return -1;
			}
			o->config = optarg;
			break;
		case 'k':
			o->check = true;
			break;
		case 'i':
			errno = 0;
			o->idle_ms = strtoull(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' ||
					errno != 0 || o->idle_ms == 0 || o->idle_ms > 86400000) {
				fprintf(stderr, "%s: --exit-on-idle: '%s' is not 1..86400000 ms\n",
						argv[0], optarg);
				return -1;
			}
			break;
		case 'u': {
			char why[160];

			if (ssr_privdrop_parse(optarg, &o->user, why, sizeof(why)) != 0) {
				fprintf(stderr, "%s: --user: %s\n", argv[0], why);
				return -1;
			}
			o->drop_privileges = true;
			break;
		}
		case 'h':
			return 1;
		default:
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", argv[0], argv[optind]);
		return -1;
	}
	if (o->config == NULL) {
		fprintf(stderr, "%s: -c <config.yaml> is required\n", argv[0]);
		return -1;
	}
	return 0;
}

static struct ssr_config *
load_config(const char *path)
{
	struct ssr_config_errors errs;
	struct ssr_config *cfg;
	unsigned int i;

	cfg = ssr_config_load_file(path, &errs);
	for (i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	if (errs.truncated)
		fprintf(stderr, "%s: too many errors; only the first %u are shown\n",
				path, SSR_CFG_MAX_ERRORS);
	if (cfg == NULL && errno == ENOMEM)
		fprintf(stderr, "%s: out of memory\n", path);
	ssr_config_errors_free(&errs);
	return cfg;
}

/* The service rules of the config, in the rule model: one transaction. */
static struct ssr_rules *
load_rules(struct ssr_router *r, const struct ssr_config *cfg)
{
	struct ssr_rules *m = ssr_rules_create(r);
	struct ssr_rules_txn *txn;
	struct ssr_err e;
	int ret;

	if (m == NULL) {
		MLOG(ERR, "cannot create the rule model: %s", strerror(errno));
		return NULL;
	}
	memset(&e, 0, sizeof(e));
	txn = ssr_rules_begin(m, "load");
	ret = txn == NULL ? -ENOMEM : ssr_rules_replace_all(txn, cfg, &e);
	if (ret == 0)
		ret = ssr_rules_commit(txn, &e);
	else
		ssr_rules_abort(txn);
	if (ret != 0) {
		MLOG(ERR, "%s: cannot load the service rules: %s%s%s", cfg->source,
				e.field, e.field[0] ? ": " : "", e.msg);
		ssr_rules_free(m);
		return NULL;
	}
	return m;
}

static uint64_t
total_rx(const struct ssr_router *r)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < r->n_workers; i++)
		n += ssr_stats_read(&r->workers[i]->stats, SSR_CNT_RX);
	return n;
}

struct idle_state {
	uint64_t limit_tsc;
	uint64_t last_rx;
	uint64_t last_change;
};

static void
idle_check(struct ssr_router *r, struct idle_state *s, uint64_t now)
{
	uint64_t rx;

	if (s->limit_tsc == 0)
		return;
	rx = total_rx(r);
	if (rx != s->last_rx) {
		s->last_rx = rx;
		s->last_change = now;
	} else if (rx != 0 && now - s->last_change >= s->limit_tsc) {
		MLOG(INFO, "no packet for --exit-on-idle after %" PRIu64
				" received: stopping", rx);
		ssr_request_stop();
	}
}

static void
print_counters(struct ssr_router *r, const struct ssr_control *ctl, FILE *f)
{
	struct ssr_stats sum;
	unsigned int i;
	char title[64];

	memset(&sum, 0, sizeof(sum));
	ssr_ports_print_stats(r, f);
	for (i = 0; i < r->n_workers; i++) {
		snprintf(title, sizeof(title), "worker %u (lcore %u)", i,
				r->workers[i]->lcore);
		ssr_stats_print(f, title, &r->workers[i]->stats);
		ssr_stats_add(&sum, &r->workers[i]->stats);
	}
	snprintf(title, sizeof(title), "control (lcore %u)", rte_get_main_lcore());
	ssr_stats_print(f, title, &ctl->stats);
	ssr_stats_add(&sum, &ctl->stats);
	ssr_stats_print(f, "total", &sum);
	fprintf(f, "invariant: rx %" PRIu64 " + generated %" PRIu64 " == tx %" PRIu64
			" + consumed %" PRIu64 " + dropped %" PRIu64 ": %s\n",
			sum.cnt[SSR_CNT_RX], sum.cnt[SSR_CNT_GENERATED], sum.cnt[SSR_CNT_TX],
			sum.cnt[SSR_CNT_CONSUMED], ssr_stats_dropped(&sum),
			ssr_stats_balanced(&sum) ? "ok" : "VIOLATED");
	fflush(f);
}

/*
 * Shutdown, after every loop stopped: the control lcore and the workers
 * hand packets to each other (a worker's inbox can hold a packet that
 * resolves to a neighbour miss for the control lcore, which may route one
 * back), so drain both sides until neither holds anything; a few rounds at
 * most, as each round only ends or sends on what the last one left.
 */
static void
drain_all(struct ssr_router *r, struct ssr_control *ctl)
{
	unsigned int round, i, left = 0;

	for (round = 0; round < 8; round++) {
		ssr_control_finish(ctl);
		left = 0;
		for (i = 0; i < r->n_workers; i++)
			left += ssr_worker_finish(r->workers[i]);
		if (left == 0 && rte_ring_count(r->ctl_ring) == 0)
			return;
	}
	MLOG(WARNING, "%u packet(s) still queued between lcores at shutdown", left +
			rte_ring_count(r->ctl_ring));
}

/*
 * At exit, once the workers, the control lcore and the ports have given
 * back every mbuf they held: what is still out of a pool leaked somewhere.
 * Tests read these lines (tests/hostile).
 */
static void
print_pools(const struct ssr_router *r, FILE *f)
{
	unsigned int s;

	for (s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		const struct rte_mempool *mp = r->pools[s];

		if (mp == NULL)
			continue;
		/* the count includes every lcore's cache as available */
		fprintf(f, "mempool %s: in use %u of %u\n", mp->name,
				rte_mempool_in_use_count(mp), mp->size);
	}
	fflush(f);
}

/* Workers on the EAL's worker lcores, or on the main lcore alone. */
static int
setup_workers(struct ssr_router *r)
{
	unsigned int lcores[SSR_MAX_WORKERS], n = 0, l;

	RTE_LCORE_FOREACH_WORKER(l) {
		if (n == SSR_MAX_WORKERS) {
			MLOG(WARNING, "more than %u worker lcores; lcore %u idles",
					SSR_MAX_WORKERS, l);
			continue;
		}
		lcores[n++] = l;
	}
	if (n == 0) {
		lcores[n++] = rte_get_main_lcore();
		MLOG(INFO, "one lcore: the main lcore runs the worker loop and "
				"the control duties interleaved");
	}
	return ssr_router_start_workers(r, lcores, n);
}

static void
run(struct ssr_router *r, struct ssr_control *ctl, struct ssr_plane *plane,
		uint64_t idle_ms)
{
	struct idle_state idle = {
		.limit_tsc = r->tsc_hz / 1000 * idle_ms,
		.last_change = rte_rdtsc(),
	};
	unsigned int i;

	if (r->n_workers == 1 && r->workers[0]->lcore == rte_get_main_lcore()) {
		struct ssr_worker *w = r->workers[0];
		uint64_t period = r->tsc_hz / 1000000 * SSR_CONTROL_PERIOD_US;
		uint64_t last = 0;

		rte_rcu_qsbr_thread_online(r->qsv, w->qs_id);
		while (!ssr_stop_requested()) {
			unsigned int n = ssr_worker_poll(w);
			uint64_t now = rte_rdtsc();

			if (n == 0 || now - last >= period) {
				ssr_control_poll(ctl);
				ssr_plane_poll(plane);
				idle_check(r, &idle, now);
				last = now;
			}
		}
		rte_rcu_qsbr_thread_offline(r->qsv, w->qs_id);
		return;
	}
	for (i = 0; i < r->n_workers; i++)
		rte_eal_remote_launch(ssr_worker_main, r->workers[i], r->workers[i]->lcore);
	while (!ssr_stop_requested()) {
		unsigned int work = ssr_control_poll(ctl);

		work += ssr_plane_poll(plane);
		if (work == 0)
			rte_delay_us_sleep(SSR_CONTROL_NAP_US);
		idle_check(r, &idle, rte_rdtsc());
	}
	rte_eal_mp_wait_lcore();
}

int
main(int argc, char **argv)
{
	static struct ssr_router router;
	struct ssr_router *r = &router;
	struct ssr_plane *plane = NULL;
	struct ssr_rules *rules = NULL;
	struct ssr_control ctl;
	struct ssr_config *cfg;
	struct ssr_opts o;
	struct sigaction sa;
	char **app_argv;
	bool ctl_ready = false;
	int dd, app_argc, ret, i, status = EXIT_FAILURE;

	for (dd = 1; dd < argc && strcmp(argv[dd], "--") != 0; dd++)
		;
	/* the application's options follow "--"; argv[0] stays the name */
	app_argc = dd < argc ? argc - dd : 1;
	app_argv = calloc(app_argc + 1, sizeof(*app_argv));
	if (app_argv == NULL)
		return EXIT_FAILURE;
	app_argv[0] = argv[0];
	for (i = 1; i < app_argc; i++)
		app_argv[i] = argv[dd + i];
	ret = parse_opts(app_argc, app_argv, &o);
	free(app_argv);
	if (ret != 0) {
		usage(ret > 0 ? stdout : stderr, argv[0]);
		return ret > 0 ? EXIT_SUCCESS : 2;
	}

	cfg = load_config(o.config);
	if (cfg == NULL)
		return EXIT_FAILURE;
	if (o.check) {
		printf("%s: OK (%u port(s), %u service rule(s))\n", o.config,
				cfg->n_ports, cfg->n_services);
		ssr_config_free(cfg);
		return EXIT_SUCCESS;
	}

	ret = rte_eal_init(dd, argv);
	if (ret < 0) {
		fprintf(stderr, "%s: EAL init failed: %s\n", argv[0],
				rte_strerror(rte_errno));
		ssr_config_free(cfg);
		return EXIT_FAILURE;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (ssr_router_init(r, cfg) != 0 || setup_workers(r) != 0 ||
			ssr_router_create_tables(r) != 0)
		goto out;
	rules = load_rules(r, cfg);
	if (rules == NULL)
		goto out;
	if (ssr_control_init(&ctl, r) != 0) {
		MLOG(ERR, "cannot set up the control lcore (static neighbours)");
		goto out;
	}
	ctl_ready = true;
	ctl.reload_path = o.config;
	ctl.rules = rules;
	{
		struct ssr_plane_conf pc = {
			.r = r,
			.ctl = &ctl,
			.rules = rules,
			.cfg = cfg,
			.telemetry = true,
		};

		plane = ssr_plane_create(&pc);
		if (plane == NULL) {
			MLOG(ERR, "cannot start the control plane: %s", strerror(errno));
			goto out;
		}
	}
	if (o.drop_privileges) {
		char why[160];

		/* after the ports, the management and telemetry sockets: nothing
		 * later needs root (a reload reads the file as the new user) */
		if (ssr_privdrop_apply(&o.user, why, sizeof(why)) != 0) {
			MLOG(ERR, "cannot drop privileges: %s", why);
			goto out;
		}
		MLOG(INFO, "running as uid %u gid %u", (unsigned int)o.user.uid,
				(unsigned int)o.user.gid);
	}
	MLOG(INFO, "%s: %u port(s), %u worker(s), %u service rule(s); running",
			cfg->source, r->n_ports, r->n_workers, cfg->n_services);

	run(r, &ctl, plane, o.idle_ms);

	/* orderly shutdown: workers have left their loops */
	drain_all(r, &ctl);
	print_counters(r, &ctl, stdout);
	status = EXIT_SUCCESS;
out:
	ssr_plane_free(plane);
	if (ctl_ready)
		ssr_control_free(&ctl);
	ssr_rules_free(rules);
	ssr_ports_close(r);
	for (i = 0; i < (int)r->n_workers; i++)
		ssr_worker_free(r->workers[i]);
	rte_ring_free(r->ctl_ring);
	svctable_free(r->svc);
	flowtable_free(r->ft);
	rte_free(r->qsv);
	ssr_neigh_free(r->neigh);
	print_pools(r, stdout);
	ssr_ports_free_pools(r);
	ssr_config_free(cfg);
	rte_eal_cleanup();
	return status;
}
