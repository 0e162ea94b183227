/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * ssr-trafgen: write pcaps of SAL traffic for a serval-sr configuration.
 * See benchmarks/README.md ("Traffic sets") for the profiles and examples.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_config.h"
#include "trafgen.h"

struct profile {
	const char *name;
	const char *mix;   /* kind=weight list */
	uint32_t syn_rules;
	const char *desc;
};

#define R(k) TG_RULE_BIT(TG_RULE_##k)

static const struct profile profiles[] = {
	{ "transit", "data-c2s=1,data-s2c=1", R(RESOLVE),
		"data both ways between clients and instances, forwarded by IP" },
	{ "resolve", "syn=1", R(RESOLVE),
		"connection requests to resolve-mode rules (all forwarded)" },
	{ "syn-mix", "syn=9,miss=1", TG_RULE_ALL,
		"connection requests to every rule, 10% matching none" },
	{ "handshake", "ack=1", R(RESOLVE),
		"handshake completions (client ACK to the instance)" },
	{ "rsyn", "rsyn=1", R(RESOLVE),
		"migrations (RSYN from a new client address to the instance)" },
	{ "gateway-syn", "syn=1", R(GATEWAY),
		"connection requests to gateway-mode rules (input of ssr-blast --handshake)" },
	{ "gateway", "gw-data-c2s=1,gw-data-s2c=1", 0,
		"gateway-mode data both ways (needs --flow-map)" },
	{ "gateway-mix", "gw-data-c2s=50,gw-data-s2c=50,gw-rsyn=1", 0,
		"gateway-mode data with client migrations (needs --flow-map)" },
	{ "mix", "syn=10,miss=2,ack=8,data-c2s=40,data-s2c=35,rsyn=5", TG_RULE_ALL,
		"requests to every rule, misses, handshakes, transit data, migrations" },
};

#undef R

static void
usage(FILE *f, const char *prog)
{
	unsigned int i;

	fprintf(f,
		"usage: %s -c CONFIG.yaml -o OUT.pcap [options]\n"
		"  -c, --config FILE      serval-sr config: services, ports, neighbours, gateway\n"
		"  -o, --out FILE         pcap of every frame (or of port 0's with --out-port)\n"
		"      --out-port P=FILE  pcap of the frames entering router port P\n"
		"  -p, --profile NAME     packet mix preset (default mix), see below\n"
		"  -m, --mix K=W,...      kind weights, replacing the profile's\n"
		"      --syn-rules LIST   rule kinds SYNs target: resolve,gateway,local,delay,drop|all\n"
		"  -n, --packets N        packets to write (default 65536)\n"
		"  -f, --flows N          flows (default 4096)\n"
		"      --clients N        client addresses (default 1024)\n"
		"      --client-net A/L   client network (default 100.64.0.0/10)\n"
		"  -s, --size SPEC        wire sizes: 64 | 64,128 | 64:7,570:4 | 64-1518 | imix\n"
		"  -t, --transport P      tcp (default) or udp\n"
		"      --seed N           PRNG seed (default 1); same seed, same bytes\n"
		"      --flow-map FILE    gateway flows written by ssr-blast --handshake\n"
		"      --sequential       flows in order, not at random (-n FLOWS: each once)\n"
		"      --json             summary as one JSON object on stdout\n"
		"  -q, --quiet            no summary on stderr\n"
		"profiles:\n", prog);
	for (i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		fprintf(f, "  %-12s %s\n               [%s]\n", profiles[i].name, profiles[i].desc,
				profiles[i].mix);
	fprintf(f, "kinds:\n");
	for (i = 0; i < TG_KIND_MAX; i++)
		fprintf(f, "  %-12s %s\n", tg_kind_name(i), tg_kind_desc(i));
}

static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s == '-' || *s == '\0')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int
parse_mix(const char *s, uint32_t *weight)
{
	char buf[512], *tok, *save = NULL, *eq;
	uint64_t w;
	int k;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	memset(weight, 0, TG_KIND_MAX * sizeof(*weight));
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		eq = strchr(tok, '=');
		if (eq == NULL)
			return -EINVAL;
		*eq = '\0';
		k = tg_kind_from_name(tok);
		if (k < 0 || parse_u64(eq + 1, 1000000, &w) != 0) {
			fprintf(stderr, "ssr-trafgen: --mix: bad entry '%s=%s'\n", tok, eq + 1);
			return -EINVAL;
		}
		weight[k] = (uint32_t)w;
	}
	return 0;
}

static int
parse_rule_kinds(const char *s, uint32_t *mask)
{
	char buf[256], *tok, *save = NULL;
	unsigned int k;

	if (strcmp(s, "all") == 0) {
		*mask = TG_RULE_ALL;
		return 0;
	}
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	*mask = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		for (k = 0; k < TG_RULE_KIND_MAX; k++)
			if (strcmp(tok, tg_rule_kind_name(k)) == 0)
				break;
		if (k == TG_RULE_KIND_MAX)
			return -EINVAL;
		*mask |= TG_RULE_BIT(k);
	}
	return *mask == 0 ? -EINVAL : 0;
}

static int
parse_net(const char *s, uint32_t *net, uint8_t *bits)
{
	char buf[64], *slash;
	struct in_addr a;
	uint64_t b;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash == NULL)
		return -EINVAL;
	*slash = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1 || parse_u64(slash + 1, 30, &b) != 0 || b == 0)
		return -EINVAL;
	if ((ntohl(a.s_addr) & ((1u << (32 - b)) - 1)) != 0)
		return -EINVAL;
	*net = a.s_addr;
	*bits = (uint8_t)b;
	return 0;
}

struct summary {
	uint64_t packets, bytes;
	uint64_t kind[TG_KIND_MAX];
	uint64_t port[TG_MAX_PORTS];
	uint64_t *rule;
	uint32_t n_rules;
	uint32_t min_len, max_len;
};

static void
print_summary(FILE *f, const struct summary *s, const struct tg_svcmap *map, bool json)
{
	char id[SAL_SERVICE_ID_STRLEN];
	const struct tg_rule *r;
	unsigned int i;
	bool first = true;

	if (json) {
		fprintf(f, "{\"packets\": %" PRIu64 ", \"bytes\": %" PRIu64
				", \"min_len\": %u, \"max_len\": %u, \"kinds\": {", s->packets,
				s->bytes, s->min_len, s->max_len);
		for (i = 0; i < TG_KIND_MAX; i++) {
			fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "", tg_kind_name(i), s->kind[i]);
		}
		fprintf(f, "}, \"ports\": {");
		for (i = 0; i < TG_MAX_PORTS; i++) {
			if (s->port[i] == 0)
				continue;
			fprintf(f, "%s\"%u\": %" PRIu64, first ? "" : ", ", i, s->port[i]);
			first = false;
		}
		fprintf(f, "}, \"rules\": [");
		for (i = 0; i < s->n_rules; i++)
			fprintf(f, "%s%" PRIu64, i ? ", " : "", s->rule[i]);
		fprintf(f, "]}\n");
		return;
	}
	fprintf(f, "%" PRIu64 " packets, %" PRIu64 " bytes, frames %u..%u bytes (no FCS)\n",
			s->packets, s->bytes, s->min_len, s->max_len);
	for (i = 0; i < TG_KIND_MAX; i++)
		if (s->kind[i] != 0)
			fprintf(f, "  %-12s %10" PRIu64 "  %s\n", tg_kind_name(i), s->kind[i],
					tg_kind_desc(i));
	for (i = 0; i < TG_MAX_PORTS; i++)
		if (s->port[i] != 0)
			fprintf(f, "  into router port %u: %" PRIu64 "\n", i, s->port[i]);
	for (i = 0; i < s->n_rules; i++) {
		if (s->rule[i] == 0)
			continue;
		r = tg_svcmap_rule(map, i);
		sal_service_id_format(&r->id, r->bits, id, sizeof(id));
		fprintf(f, "  SYNs to rule %u (%s, %s): %" PRIu64 "\n", i,
				tg_rule_kind_name(r->kind), id, s->rule[i]);
	}
}

enum {
	OPT_OUT_PORT = 256,
	OPT_SYN_RULES,
	OPT_CLIENTS,
	OPT_CLIENT_NET,
	OPT_SEED,
	OPT_FLOW_MAP,
	OPT_JSON,
	OPT_SEQUENTIAL,
};

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' },
		{ "out-port", required_argument, NULL, OPT_OUT_PORT },
		{ "profile", required_argument, NULL, 'p' },
		{ "mix", required_argument, NULL, 'm' },
		{ "syn-rules", required_argument, NULL, OPT_SYN_RULES },
		{ "packets", required_argument, NULL, 'n' },
		{ "flows", required_argument, NULL, 'f' },
		{ "clients", required_argument, NULL, OPT_CLIENTS },
		{ "client-net", required_argument, NULL, OPT_CLIENT_NET },
		{ "size", required_argument, NULL, 's' },
		{ "transport", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "flow-map", required_argument, NULL, OPT_FLOW_MAP },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "sequential", no_argument, NULL, OPT_SEQUENTIAL },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *out = NULL, *port_out[TG_MAX_PORTS] = { NULL };
	const char *profile = "mix", *mix = NULL, *syn_rules = NULL, *flow_map = NULL;
	struct tg_writer_slot { const char *path; struct tg_pcap_writer *w; } slots[TG_MAX_PORTS];
	struct tg_pcap_writer *pw[TG_MAX_PORTS] = { NULL };
	struct ssr_config_errors errs = { 0 };
	struct ssr_config *cfg = NULL;
	struct tg_svcmap *map = NULL;
	struct tg_neigh *neigh = NULL;
	struct tg_gwflow *gw = NULL;
	struct summary sum;
	struct tg_topo topo;
	struct tg_conf c;
	struct tg_meta meta;
	struct tg *g = NULL;
	uint64_t packets = 65536, v, i;
	uint32_t macless, n_gw = 0, n_slots = 0, p;
	uint8_t *buf = NULL;
	bool json = false, quiet = false;
	char err[256];
	int opt, len, ret = 1;
	unsigned int k;

	tg_conf_init(&c);
	memset(&sum, 0, sizeof(sum));
	while ((opt = getopt_long(argc, argv, "c:o:p:m:n:f:s:t:qh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case OPT_OUT_PORT: {
			char *eq = strchr(optarg, '=');

			if (eq == NULL || (*eq = '\0', parse_u64(optarg, TG_MAX_PORTS - 1, &v)) != 0 ||
					eq[1] == '\0') {
				fprintf(stderr, "ssr-trafgen: --out-port wants P=FILE, P 0..%d\n",
						TG_MAX_PORTS - 1);
				return 2;
			}
			port_out[v] = eq + 1;
			break;
		}
		case 'p':
			profile = optarg;
			break;
		case 'm':
			mix = optarg;
			break;
		case OPT_SYN_RULES:
			syn_rules = optarg;
			break;
		case 'n':
			if (parse_u64(optarg, UINT32_MAX, &packets) != 0 || packets == 0) {
				fprintf(stderr, "ssr-trafgen: --packets: '%s' is not 1..2^32-1\n", optarg);
				return 2;
			}
			break;
		case 'f':
			if (parse_u64(optarg, 1u << 26, &v) != 0 || v == 0) {
				fprintf(stderr, "ssr-trafgen: --flows: '%s' is not 1..67108864\n", optarg);
				return 2;
			}
			c.n_flows = (uint32_t)v;
			break;
		case OPT_CLIENTS:
			if (parse_u64(optarg, 1u << 30, &v) != 0 || v == 0) {
				fprintf(stderr, "ssr-trafgen: --clients: '%s' is not 1..2^30\n", optarg);
				return 2;
			}
			c.n_clients = (uint32_t)v;
			break;
		case OPT_CLIENT_NET:
			if (parse_net(optarg, &c.client_net, &c.client_bits) != 0) {
				fprintf(stderr, "ssr-trafgen: --client-net: '%s' is not A.B.C.D/1..30 "
						"without host bits\n", optarg);
				return 2;
			}
			break;
		case 's':
			if (tg_sizes_parse(optarg, &c.sizes) != 0) {
				fprintf(stderr, "ssr-trafgen: --size: '%s' is not a size spec (64..9018)\n",
						optarg);
				return 2;
			}
			break;
		case 't':
			if (strcmp(optarg, "tcp") == 0)
				c.transport = SAL_PROTO_TCP;
			else if (strcmp(optarg, "udp") == 0)
				c.transport = SAL_PROTO_UDP;
			else {
				fprintf(stderr, "ssr-trafgen: --transport: tcp or udp\n");
				return 2;
			}
			break;
		case OPT_SEED:
			if (parse_u64(optarg, UINT64_MAX, &c.seed) != 0) {
				fprintf(stderr, "ssr-trafgen: --seed: '%s' is not a number\n", optarg);
				return 2;
			}
			break;
		case OPT_FLOW_MAP:
			flow_map = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_SEQUENTIAL:
			c.sequential = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (optind != argc || config == NULL || (out == NULL && port_out[0] == NULL)) {
		usage(stderr, argv[0]);
		return 2;
	}
	for (k = 0; k < sizeof(profiles) / sizeof(profiles[0]); k++)
		if (strcmp(profile, profiles[k].name) == 0)
			break;
	if (k == sizeof(profiles) / sizeof(profiles[0])) {
		fprintf(stderr, "ssr-trafgen: unknown profile '%s' (see --help)\n", profile);
		return 2;
	}
	c.syn_rules = profiles[k].syn_rules;
	if (parse_mix(mix != NULL ? mix : profiles[k].mix, c.weight) != 0) {
		fprintf(stderr, "ssr-trafgen: --mix wants kind=weight,... (kinds in --help)\n");
		return 2;
	}
	if (c.syn_rules == 0)
		c.syn_rules = TG_RULE_ALL;
	if (syn_rules != NULL && parse_rule_kinds(syn_rules, &c.syn_rules) != 0) {
		fprintf(stderr, "ssr-trafgen: --syn-rules: '%s' is not a list of "
				"resolve,gateway,local,delay,drop or 'all'\n", syn_rules);
		return 2;
	}

	cfg = ssr_config_load_file(config, &errs);
	if (cfg == NULL) {
		for (k = 0; k < errs.n; k++)
			fprintf(stderr, "%s\n", errs.msgs[k]);
		ssr_config_errors_free(&errs);
		return 1;
	}
	map = tg_svcmap_create();
	if (map == NULL) {
		fprintf(stderr, "ssr-trafgen: out of memory\n");
		goto out;
	}
	if (tg_from_config(cfg, map, &topo, &neigh, &macless) != 0) {
		fprintf(stderr, "ssr-trafgen: %s: cannot model this config (more than %d "
				"ports?)\n", config, TG_MAX_PORTS);
		goto out;
	}
	for (p = 0; p < topo.n_ports; p++)
		if ((macless & (1u << p)) && !quiet)
			fprintf(stderr, "ssr-trafgen: warning: port %u has no 'mac' in %s: frames "
					"to it use 02:00:00:00:ff:%02x\n", p, config, p);
	if (flow_map != NULL) {
		if (tg_gwmap_load(flow_map, &gw, &n_gw, err, sizeof(err)) != 0) {
			fprintf(stderr, "ssr-trafgen: %s\n", err);
			goto out;
		}
		c.gw = gw;
		c.n_gw = n_gw;
	}
	c.map = map;
	c.topo = &topo;
	g = tg_create(&c);
	if (g == NULL) {
		fprintf(stderr, "ssr-trafgen: %s\n", tg_last_error());
		goto out;
	}

	/* one writer per distinct file; frames of ports without their own go to -o */
	for (p = 0; p < TG_MAX_PORTS; p++) {
		const char *path = port_out[p] != NULL ? port_out[p] : out;

		if (path == NULL)
			continue;
		for (k = 0; k < n_slots; k++)
			if (strcmp(slots[k].path, path) == 0)
				break;
		if (k == n_slots) {
			slots[k].path = path;
			slots[k].w = tg_pcap_open(path);
			if (slots[k].w == NULL) {
				fprintf(stderr, "ssr-trafgen: %s: %s\n", path, strerror(errno));
				goto out;
			}
			n_slots++;
		}
		pw[p] = slots[k].w;
	}
	buf = malloc(TG_FRAME_MAX);
	sum.n_rules = tg_svcmap_count(map);
	sum.rule = calloc(sum.n_rules + 1, sizeof(*sum.rule));
	if (buf == NULL || sum.rule == NULL) {
		fprintf(stderr, "ssr-trafgen: out of memory\n");
		goto out;
	}
	sum.min_len = UINT32_MAX;
	for (i = 0;; i++) {
		if (i < packets)
			len = tg_next(g, buf, TG_FRAME_MAX, &meta);
		else
			len = tg_finish(g, buf, TG_FRAME_MAX, &meta);
		if (len == 0)
			break;
		if (len < 0) {
			fprintf(stderr, "ssr-trafgen: packet %" PRIu64 ": %s\n", i, strerror(-len));
			goto out;
		}
		if (pw[meta.port] == NULL) {
			fprintf(stderr, "ssr-trafgen: a frame enters router port %u, which has no "
					"output file (give -o or --out-port %u=FILE)\n", meta.port,
					meta.port);
			goto out;
		}
		/* one microsecond apart: stamps carry order only, replay sets the rate */
		if (tg_pcap_write(pw[meta.port], buf, (uint32_t)len, i) != 0) {
			fprintf(stderr, "ssr-trafgen: write error\n");
			goto out;
		}
		sum.packets++;
		sum.bytes += (uint64_t)len;
		sum.kind[meta.kind]++;
		sum.port[meta.port]++;
		if (meta.rule >= 0)
			sum.rule[meta.rule]++;
		if ((uint32_t)len < sum.min_len)
			sum.min_len = (uint32_t)len;
		if ((uint32_t)len > sum.max_len)
			sum.max_len = (uint32_t)len;
	}
	ret = 0;
out:
	for (k = 0; k < n_slots; k++)
		if (tg_pcap_close(slots[k].w) != 0 && ret == 0) {
			fprintf(stderr, "ssr-trafgen: %s: write error\n", slots[k].path);
			ret = 1;
		}
	if (ret == 0 && json)
		print_summary(stdout, &sum, map, true);
	else if (ret == 0 && !quiet)
		print_summary(stderr, &sum, map, false);
	free(sum.rule);
	free(buf);
	tg_free(g);
	free(gw);
	free(neigh);
	tg_svcmap_free(map);
	ssr_config_free(cfg);
	return ret;
}
