/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * The control plane under load, on the real binary.
 *
 * serval-sr runs with one worker (lcore 1) and the control lcore (lcore 0),
 * port 0 a net_pcap replaying SAL connection requests forever (infinite_rx)
 * and port 1 a net_null sink the requests are resolved to. This program is
 * the management client:
 *
 * - forwarding_during_updates: requests resolved per second while a client
 *   streams rule changes as fast as the router takes them (pipelined, a
 *   window of requests in flight) into the very rules the traffic hits, vs
 *   the same with no updates (the baseline), measured in alternating rounds
 *   of the same run. The updates publish a new rule version at every
 *   change: the ratio is what they cost the data path (RCU publication,
 *   counter-run changes, cache traffic). The stream mixes three rule.replace
 *   of a one-target rule to one target.set on a two-target rule; every
 *   request is a real change (the weight it sets differs from the one in
 *   force).
 * - forwarding_during_weight_changes: the same with 1000 weight changes a
 *   second (--pace) of the two-target rule that half the traffic hits: each
 *   one rebuilds the rule's 64K-entry lookup table in new memory, which the
 *   worker then reads cold (the worst case for the data path).
 * - rule_updates_1target / _2target: changes applied per second through the
 *   socket (rule.replace of a one-target rule; target.set on a two-target
 *   rule, which rebuilds its 64K-entry consistent-hash table in lib/svctable),
 *   vs `version` requests per second through the same socket and window
 *   (the protocol's own cost: parse, reply, the poll loop).
 *
 * Usage: bench_control SERVAL-SR [--json] [--full] [--seconds S] [--rounds N]
 *                      [--mix 0|1|2] [--pace N]
 *   --mix 1: only one-target replaces, 2: only weight changes (one case);
 *   --pace N: N changes a second instead of as many as the router takes.
 *   default: 0.5 s phases, 6 rounds; --full: 2 s phases, 15 rounds (at most
 *   64). The forwarding ratio is the median of the rounds' ratios.
 * Exit 77 when the router cannot start here (no net_pcap or net_null).
 */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>

#include "sal.h"
#include "sal_build.h"

#define N_FRAMES 1024
#define WINDOW 32

static bool json_out;
static char tmpdir[64];
static char sock_path[100];
static pid_t router_pid;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench_control: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (router_pid > 0)
		kill(router_pid, SIGKILL);
	exit(1);
}

/* ---- the traffic: SAL SYNs for 7001xxxx and 7002xxxx ---- */

static void
put32(FILE *f, uint32_t v)
{
	fwrite(&v, 4, 1, f);
}

static void
write_pcap(const char *path)
{
	static const uint8_t router_mac[6] = { 2, 0, 0, 0, 0, 1 };
	static const uint8_t host_mac[6] = { 2, 0, 0, 0, 0, 0x99 };
	FILE *f = fopen(path, "wb");
	uint8_t frame[256], tcp[20];
	unsigned int i;

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	put32(f, 0xa1b2c3d4);
	put32(f, 2 | 4u << 16);
	put32(f, 0);
	put32(f, 0);
	put32(f, 65535);
	put32(f, 1);
	memset(tcp, 0, sizeof(tcp));
	tcp[12] = 5 << 4;
	tcp[13] = 0x02;
	for (i = 0; i < N_FRAMES; i++) {
		struct sal_msg m;
		int len;

		sal_msg_init(&m);
		m.ip_src = htonl(0xc0000264 + i % 100);      /* 192.0.2.100.. */
		m.ip_dst = htonl(0xc0000201);                /* 192.0.2.1 */
		m.ip_id = i;
		m.src_flowid = htonl(1000 + i);
		m.proto = SAL_PROTO_TCP;
		m.n_ext = 2;
		m.ext[0].type = SAL_EXT_CONTROL;
		m.ext[0].u.control.flags = SAL_CTRL_SYN;
		m.ext[0].u.control.verno = i;
		m.ext[0].u.control.nonce[0] = i;
		m.ext[1].type = SAL_EXT_SERVICE;
		m.ext[1].u.service.b[0] = 0x70;
		m.ext[1].u.service.b[1] = i % 2 ? 0x02 : 0x01;
		m.ext[1].u.service.b[2] = i >> 8;
		m.ext[1].u.service.b[3] = i;
		m.l4 = tcp;
		m.l4_len = sizeof(tcp);
		memcpy(frame, router_mac, 6);
		memcpy(frame + 6, host_mac, 6);
		frame[12] = 0x08;
		frame[13] = 0x00;
		len = sal_build(&m, frame + 14, sizeof(frame) - 14);
		if (len < 0)
			die("sal_build: %d", len);
		put32(f, 0);
		put32(f, 0);
		put32(f, len + 14);
		put32(f, len + 14);
		fwrite(frame, len + 14, 1, f);
	}
	fclose(f);
}

/* ---- the router ---- */

static void
start_router(const char *binary)
{
	char cfg[256], pcap[256], prefix[64], vd0[400], out[256];
	const char *lcores = sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? "0-1" : "0";
	FILE *f;
	int i;

	snprintf(cfg, sizeof(cfg), "%s/router.yaml", tmpdir);
	snprintf(pcap, sizeof(pcap), "%s/in.pcap", tmpdir);
	if (snprintf(sock_path, sizeof(sock_path), "%s/sock/ssr.sock", tmpdir) >=
			(int)sizeof(sock_path))
		die("socket path too long");
	write_pcap(pcap);
	f = fopen(cfg, "w");
	if (f == NULL)
		die("%s: %s", cfg, strerror(errno));
	fprintf(f,
		"ports:\n"
		"  - { port: 0, address: 192.0.2.1/24, mac: \"02:00:00:00:00:01\" }\n"
		"  - { port: 1, address: 198.18.0.1/24 }\n"
		"neighbors:\n"
		"  - { ip: 198.18.0.10, mac: \"02:00:00:00:01:10\" }\n"
		"  - { ip: 198.18.0.11, mac: \"02:00:00:00:01:11\" }\n"
		"services:\n"
		"  - { prefix: \"7001/16\", action: forward, targets: [{ address: 198.18.0.10 }] }\n"
		"  - prefix: \"7002/16\"\n"
		"    action: forward\n"
		"    targets: [{ address: 198.18.0.10 }, { address: 198.18.0.11 }]\n"
		"management:\n"
		"  socket: %s\n", sock_path);
	fclose(f);
	snprintf(prefix, sizeof(prefix), "--file-prefix=ssr-bench-ctl-%d", (int)getpid());
	snprintf(vd0, sizeof(vd0), "--vdev=net_pcap0,rx_pcap=%s,tx_pcap=/dev/null,"
			"infinite_rx=1", pcap);
	snprintf(out, sizeof(out), "%s/router.log", tmpdir);
	router_pid = fork();
	if (router_pid < 0)
		die("fork: %s", strerror(errno));
	if (router_pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(binary, binary, "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
				prefix, "-l", lcores, vd0, "--vdev=net_null0", "--", "-c", cfg,
				(char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 600; i++) {
		struct stat st;
		int status;

		if (waitpid(router_pid, &status, WNOHANG) == router_pid) {
			router_pid = 0;
			fprintf(stderr, "SKIP: serval-sr did not start here (see %s)\n", out);
			exit(77);
		}
		if (stat(sock_path, &st) == 0)
			return;
		usleep(50000);
	}
	die("the management socket did not appear");
}

static void
stop_router(void)
{
	int status;

	if (router_pid <= 0)
		return;
	kill(router_pid, SIGTERM);
	waitpid(router_pid, &status, 0);
	router_pid = 0;
}

/* ---- a pipelining client ---- */

struct conn {
	int fd;
	char buf[1 << 16];
	size_t len;
	uint64_t next_id;
};

static void
conn_open(struct conn *c)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		die("connect %s: %s", sock_path, strerror(errno));
}

static void
conn_send(struct conn *c, const char *line)
{
	size_t n = strlen(line), off = 0;

	while (off < n) {
		ssize_t w = write(c->fd, line + off, n - off);

		if (w <= 0)
			die("write: %s", strerror(errno));
		off += w;
	}
}

/* Next reply line (events are not subscribed: every line is a reply). */
static json_t *
conn_read(struct conn *c)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		ssize_t r;

		if (nl != NULL) {
			json_t *o = json_loadb(c->buf, nl - c->buf, 0, NULL);
			size_t used = nl - c->buf + 1;

			memmove(c->buf, nl + 1, c->len - used);
			c->len -= used;
			if (o == NULL)
				die("a reply is not JSON");
			return o;
		}
		if (c->len == sizeof(c->buf))
			die("a reply over %zu bytes", sizeof(c->buf));
		r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (r <= 0)
			die("read: %s", r == 0 ? "closed" : strerror(errno));
		c->len += r;
	}
}

static uint64_t
resolved(struct conn *c)
{
	json_t *o;
	uint64_t v;

	conn_send(c, "{\"id\":0,\"op\":\"stats\"}\n");
	o = conn_read(c);
	if (!json_is_true(json_object_get(o, "ok")))
		die("stats failed");
	v = json_integer_value(json_object_get(json_object_get(json_object_get(o, "result"),
					"counters"), "sal_resolved"));
	json_decref(o);
	return v;
}

enum kind { K_VERSION, K_REPLACE_1, K_SET_2 };

static void
request(struct conn *c, enum kind k, uint64_t n)
{
	char line[512];

	switch (k) {
	case K_VERSION:
		snprintf(line, sizeof(line), "{\"id\":%llu,\"op\":\"version\"}\n",
				(unsigned long long)n);
		break;
	case K_REPLACE_1:
		snprintf(line, sizeof(line), "{\"id\":%llu,\"op\":\"rule.replace\",\"prefix\":"
				"\"7001/16\",\"action\":\"forward\",\"targets\":[{\"address\":"
				"\"198.18.0.%d\"}]}\n", (unsigned long long)n, 10 + (int)(n % 2));
		break;
	case K_SET_2:
		snprintf(line, sizeof(line), "{\"id\":%llu,\"op\":\"target.set\",\"prefix\":"
				"\"7002/16\",\"address\":\"198.18.0.10\",\"weight\":%d}\n",
				(unsigned long long)n, 1 + (int)((n / 4) % 4));
		break;
	}
	conn_send(c, line);
}

/* Requests of @p kinds (cycled) for @p secs, @p rate per second (0: as
 * fast as the router answers, WINDOW in flight); the number answered ok. */
static uint64_t
stream(struct conn *c, const enum kind *kinds, unsigned int nk, double secs,
		double rate, double *elapsed)
{
	double t0 = now_s(), end = t0 + secs;
	uint64_t sent = 0, done = 0;

	if (rate > 0) {
		/* paced: one request at a time, on schedule */
		while (now_s() < end) {
			json_t *o;
			double due = t0 + sent / rate;

			while (now_s() < due)
				usleep(50);
			request(c, kinds[sent % nk], sent);
			sent++;
			o = conn_read(c);
			if (!json_is_true(json_object_get(o, "ok")))
				die("a request failed");
			json_decref(o);
			done++;
		}
		*elapsed = now_s() - t0;
		return done;
	}
	while (sent < WINDOW)
		request(c, kinds[sent % nk], sent), sent++;
	while (done < sent) {
		json_t *o = conn_read(c);

		if (!json_is_true(json_object_get(o, "ok")))
			die("a request failed: %s", json_string_value(json_object_get(
						json_object_get(o, "error"), "message")));
		json_decref(o);
		done++;
		if (now_s() < end)
			request(c, kinds[sent % nk], sent), sent++;
	}
	*elapsed = now_s() - t0;
	return done;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* @p ratio < 0: rate / base rate; else the given one (a median). */
static void
report(const char *name, const char *params, double rate, double base_name_rate,
		const char *base_name, double ratio)
{
	if (ratio < 0)
		ratio = rate / base_name_rate;

	if (json_out)
		printf("{\"name\":\"%s\",\"parameters\":{%s},\"rate\":%.0f,\"ns_per_op\":%.1f,"
				"\"baseline\":\"%s\",\"baseline_rate\":%.0f,\"baseline_ns_per_op\":%.1f,"
				"\"ratio\":%.3f}\n", name, params, rate, 1e9 / rate, base_name,
				base_name_rate, 1e9 / base_name_rate, ratio);
	else
		printf("%-30s %12.0f %10.1f   %-18s %12.0f %8.3f\n", name, rate, 1e9 / rate,
				base_name, base_name_rate, ratio);
}

/*
 * Forwarding with and without a stream of changes, in alternating rounds of
 * @p secs each: the rate with updates, its baseline, and the median of the
 * rounds' ratios (the machine is shared: a burst of someone else's load
 * spoils one round, not the figure).
 */
static void
forwarding(struct conn *probe, struct conn *writer, const char *name,
		const enum kind *kinds, unsigned int nk, double pace, double secs,
		unsigned int rounds)
{
	double base_pps = 0, upd_pps = 0, base_t = 0, upd_t = 0, el, ratios[64];
	uint64_t updates = 0;
	char params[256];
	unsigned int r;

	for (r = 0; r < rounds; r++) {
		uint64_t a = resolved(probe), b;
		double t0 = now_s(), t1, rb, rbt;

		usleep(secs * 1e6);
		b = resolved(probe);
		t1 = now_s();
		base_pps += b - a;
		base_t += t1 - t0;
		rb = b - a;
		rbt = t1 - t0;
		a = resolved(probe);
		t0 = now_s();
		updates += stream(writer, kinds, nk, secs, pace, &el);
		b = resolved(probe);
		t1 = now_s();
		upd_pps += b - a;
		upd_t += t1 - t0;
		ratios[r] = ((b - a) / (t1 - t0)) / (rb / rbt);
	}
	qsort(ratios, rounds, sizeof(ratios[0]), cmp_double);
	snprintf(params, sizeof(params), "\"phase_s\":%.1f,\"rounds\":%u,\"paced\":%.0f,"
			"\"updates_per_s\":%.0f", secs, rounds, pace, updates / upd_t);
	report(name, params, upd_pps / upd_t, base_pps / base_t, "no_updates",
			rounds % 2 ? ratios[rounds / 2] :
			(ratios[rounds / 2 - 1] + ratios[rounds / 2]) / 2);
}

int
main(int argc, char **argv)
{
	static const enum kind mix[] = { K_REPLACE_1, K_REPLACE_1, K_REPLACE_1, K_SET_2 };
	static const enum kind k_ver[] = { K_VERSION };
	static const enum kind k_rep[] = { K_REPLACE_1 };
	static const enum kind k_set[] = { K_SET_2 };
	double secs = 0.5, el;
	unsigned int rounds = 6;
	int mix_sel = 0;
	double pace = 0;
	const char *binary = NULL;
	struct conn probe, writer;
	char params[256];
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json_out = true;
		else if (strcmp(argv[i], "--full") == 0)
			secs = 2, rounds = 15;
		else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			secs = atof(argv[++i]);
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (strcmp(argv[i], "--mix") == 0 && i + 1 < argc)
			mix_sel = atoi(argv[++i]);
		else if (strcmp(argv[i], "--pace") == 0 && i + 1 < argc)
			pace = atof(argv[++i]);
		else if (binary == NULL && argv[i][0] != '-')
			binary = argv[i];
		else
			die("usage: bench_control SERVAL-SR [--json] [--full] [--seconds S] "
					"[--rounds N] [--mix 0|1|2]");
	}
	if (binary == NULL || secs <= 0 || rounds == 0 || rounds > 64)
		die("usage: bench_control SERVAL-SR [--json] [--full] [--seconds S] [--rounds N]");
	if (sysconf(_SC_NPROCESSORS_ONLN) >= 2) {
		cpu_set_t set;

		/* the client shares the control lcore's core (0), as a controller
		 * would live off the worker's: the worker (lcore 1) keeps its core,
		 * so the ratio is what the updates cost it, not what this program
		 * does */
		CPU_ZERO(&set);
		CPU_SET(0, &set);
		if (sched_setaffinity(0, sizeof(set), &set) != 0)
			fprintf(stderr, "bench_control: cannot pin to CPU 0: %s\n",
					strerror(errno));
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ssr-bench-ctl-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		die("mkdtemp: %s", strerror(errno));
	start_router(binary);
	conn_open(&probe);
	conn_open(&writer);
	sleep(1); /* let the replay reach its pace */

	if (!json_out)
		printf("%-30s %12s %10s   %-18s %12s %8s\n", "case", "rate/s", "ns/op",
				"baseline", "base rate/s", "ratio");
	if (mix_sel == 0 || mix_sel == 3) {
		forwarding(&probe, &writer, "forwarding_during_updates", mix, 4, pace, secs,
				rounds);
		forwarding(&probe, &writer, "forwarding_during_weight_changes", k_set, 1,
				pace > 0 ? pace : 1000, secs, rounds);
	} else {
		forwarding(&probe, &writer, "forwarding_during_updates",
				mix_sel == 1 ? k_rep : k_set, 1, pace, secs, rounds);
	}
	{
		uint64_t nv = stream(&writer, k_ver, 1, secs, 0, &el);
		double ver = nv / el;
		uint64_t n1 = stream(&writer, k_rep, 1, secs, 0, &el);
		double rep = n1 / el;
		uint64_t n2 = stream(&writer, k_set, 1, secs, 0, &el);
		double set = n2 / el;

		snprintf(params, sizeof(params), "\"window\":%d,\"targets\":1", WINDOW);
		report("rule_updates_1target", params, rep, ver, "version_requests", -1);
		snprintf(params, sizeof(params), "\"window\":%d,\"targets\":2", WINDOW);
		report("rule_updates_2target", params, set, ver, "version_requests", -1);
	}
	close(probe.fd);
	close(writer.fd);
	stop_router();
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s' /var/run/dpdk/ssr-bench-ctl-%d", tmpdir,
				(int)getpid());
		if (system(cmd) != 0)
			fprintf(stderr, "bench_control: could not remove %s\n", tmpdir);
	}
	return 0;
}
