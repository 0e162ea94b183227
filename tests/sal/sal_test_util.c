/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sal_priv.h"
#include "sal_test_util.h"

static uint32_t
rd32(const uint8_t *p, int swap)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

int
test_pcap_load(const char *path, struct test_pcap *out)
{
	uint8_t gh[24], rh[16];
	FILE *f;
	int swap, ret = -EINVAL;
	uint32_t magic;

	memset(out, 0, sizeof(*out));
	f = fopen(path, "rb");
	if (f == NULL)
		return -errno;
	if (fread(gh, 1, sizeof(gh), f) != sizeof(gh))
		goto close;
	memcpy(&magic, gh, 4);
	if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d)
		swap = 0;
	else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1)
		swap = 1;
	else
		goto close;
	if (rd32(gh + 20, swap) != 1) /* LINKTYPE_ETHERNET */
		goto close;
	for (;;) {
		struct test_frame *nf;
		uint32_t caplen;
		size_t got = fread(rh, 1, sizeof(rh), f);

		if (got == 0)
			break;
		if (got != sizeof(rh))
			goto fail;
		caplen = rd32(rh + 8, swap);
		if (caplen > 262144)
			goto fail;
		nf = realloc(out->frames, (out->n + 1) * sizeof(*nf));
		if (nf == NULL) {
			ret = -ENOMEM;
			goto fail;
		}
		out->frames = nf;
		nf[out->n].len = caplen;
		nf[out->n].data = malloc(caplen ? caplen : 1);
		if (nf[out->n].data == NULL) {
			ret = -ENOMEM;
			goto fail;
		}
		out->n++;
		if (fread(nf[out->n - 1].data, 1, caplen, f) != caplen)
			goto fail;
	}
	fclose(f);
	return 0;
fail:
	test_pcap_free(out);
close:
	fclose(f);
	return ret;
}

void
test_pcap_free(struct test_pcap *p)
{
	uint32_t i;

	for (i = 0; i < p->n; i++)
		free(p->frames[i].data);
	free(p->frames);
	p->frames = NULL;
	p->n = 0;
}

const char *
test_upstream_dir(void)
{
	const char *d = getenv("SAL_TEST_DATA");

	return d != NULL ? d : "tests/data/upstream";
}

int
test_pcap_load_upstream(const char *name, struct test_pcap *out)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", test_upstream_dir(), name);
	return test_pcap_load(path, out);
}

void
test_rng_seed(struct test_rng *r, uint64_t seed)
{
	r->s = seed ? seed : 0x9e3779b97f4a7c15ull;
}

uint64_t
test_rng_next(struct test_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dull;
}

uint32_t
test_rng_below(struct test_rng *r, uint32_t n)
{
	return (uint32_t)((test_rng_next(r) >> 32) % n);
}

void
test_rng_bytes(struct test_rng *r, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(test_rng_next(r) >> 56);
}

void
test_fix_csums(uint8_t *l3, uint32_t len)
{
	uint32_t ihl, tot, shl, l4_len;
	uint8_t *sal;

	if (len < SAL_IP_MIN_LEN)
		return;
	ihl = (uint32_t)(l3[0] & 0x0f) * 4;
	if (ihl < SAL_IP_MIN_LEN || ihl > len)
		return;
	sal_ip_csum_set(l3);
	tot = sal_get16(l3 + SAL_IP_OFF_TOTLEN);
	if (tot > len)
		tot = len;
	if (tot < ihl + SAL_BASE_LEN)
		return;
	sal = l3 + ihl;
	shl = (uint32_t)sal[SAL_OFF_SHL] * 4;
	if (shl > tot - ihl)
		shl = tot - ihl;
	sal_put16(sal + SAL_OFF_CSUM, 0);
	sal_put16(sal + SAL_OFF_CSUM, sal_csum(sal, shl));
	l4_len = tot - ihl - shl;
	sal_l4_csum_set(l3, sal[SAL_OFF_PROTO], sal + shl, l4_len);
}

enum sal_drop_reason
test_parse_l3(const uint8_t *l3, uint32_t len, struct sal_pkt *pkt)
{
	struct sal_parse_conf conf;

	sal_parse_conf_init(&conf, SAL_IPPROTO_DEFAULT, 0);
	return sal_parse(&conf, l3, len, 0, pkt);
}

static void
random_ext(struct test_rng *r, struct sal_ext_spec *e, uint8_t type, uint8_t **store)
{
	memset(e, 0, sizeof(*e));
	e->type = type;
	/* Reserved bits are zero on the wire almost always; sometimes not. */
	if (test_rng_below(r, 8) == 0) {
		e->res4 = (uint8_t)test_rng_below(r, 16);
		e->res = (uint16_t)test_rng_next(r);
		if (type == SAL_EXT_CONTROL)
			e->res &= 0xff;
	}
	switch (type) {
	case SAL_EXT_CONTROL:
		e->u.control.flags = (uint8_t)test_rng_next(r);
		e->u.control.verno = (uint32_t)test_rng_next(r);
		e->u.control.ackno = (uint32_t)test_rng_next(r);
		test_rng_bytes(r, e->u.control.nonce, SAL_NONCE_LEN);
		break;
	case SAL_EXT_SERVICE:
		test_rng_bytes(r, e->u.service.b, sizeof(e->u.service.b));
		break;
	case SAL_EXT_ADDRESS:
		e->u.address.verno = (uint32_t)test_rng_next(r);
		e->u.address.ackno = (uint32_t)test_rng_next(r);
		e->u.address.n_addr = (uint8_t)test_rng_below(r, 9);
		test_rng_bytes(r, *store, 4u * e->u.address.n_addr);
		e->u.address.addr = *store;
		*store += 4u * e->u.address.n_addr;
		break;
	case SAL_EXT_SOURCE:
		e->u.source.n_addr = (uint8_t)(SAL_SOURCE_MIN_ADDRS +
			test_rng_below(r, SAL_SOURCE_MAX_ADDRS - SAL_SOURCE_MIN_ADDRS + 1));
		test_rng_bytes(r, *store, 4u * e->u.source.n_addr);
		e->u.source.addr = *store;
		*store += 4u * e->u.source.n_addr;
		break;
	default:
		break;
	}
}

static const uint8_t ext_len_fixed[] = { 1, 20, 36, 0, 0 };

static uint32_t
spec_len(const struct sal_ext_spec *e)
{
	if (e->type == SAL_EXT_ADDRESS)
		return 12u + 4u * e->u.address.n_addr;
	if (e->type == SAL_EXT_SOURCE)
		return 4u + 4u * e->u.source.n_addr;
	return ext_len_fixed[e->type];
}

void
test_random_msg(struct test_rng *r, struct sal_msg *m, uint8_t *store)
{
	static const uint8_t protos[] = { SAL_PROTO_TCP, SAL_PROTO_UDP, 99 };
	uint8_t *s;

	for (;;) {
		uint32_t k, i, len, n_ctrl = 0, n_srv = 0, n_src = 0, pad;

		s = store;
		sal_msg_init(m);
		m->ip_tos = (uint8_t)test_rng_next(r);
		m->ip_id = (uint16_t)test_rng_next(r);
		m->ip_frag = (uint16_t)(test_rng_next(r) & 0xc000);
		m->ip_ttl = (uint8_t)test_rng_next(r);
		m->ip_src = (uint32_t)test_rng_next(r);
		m->ip_dst = (uint32_t)test_rng_next(r);
		if (test_rng_below(r, 4) == 0) {
			m->ip_opt_len = (uint8_t)(4 * (1 + test_rng_below(r, 10)));
			test_rng_bytes(r, s, m->ip_opt_len);
			m->ip_opt = s;
			s += m->ip_opt_len;
		}
		m->src_flowid = (uint32_t)test_rng_next(r);
		m->dst_flowid = (uint32_t)test_rng_next(r);
		m->proto = protos[test_rng_below(r, 3)];

		k = test_rng_below(r, SAL_MAX_EXT + 1);
		len = SAL_BASE_LEN;
		for (i = 0; i < k; i++) {
			uint8_t t;

			do {
				t = (uint8_t)(1 + test_rng_below(r, 4));
			} while ((t == SAL_EXT_CONTROL && n_ctrl) ||
				(t == SAL_EXT_SERVICE && n_srv == 2) ||
				(t == SAL_EXT_SOURCE && n_src));
			if (test_rng_below(r, 6) == 0)
				t = SAL_EXT_PAD;
			n_ctrl += t == SAL_EXT_CONTROL;
			n_srv += t == SAL_EXT_SERVICE;
			n_src += t == SAL_EXT_SOURCE;
			random_ext(r, &m->ext[i], t, &s);
			len += spec_len(&m->ext[i]);
		}
		pad = (4 - len % 4) % 4;
		if (k + pad > SAL_MAX_EXT || len + pad > SAL_SHL_MAX * 4)
			continue;
		/* Insert the PAD bytes the length needs at random places. */
		for (i = 0; i < pad; i++) {
			uint32_t at = test_rng_below(r, k + 1);

			memmove(&m->ext[at + 1], &m->ext[at], (k - at) * sizeof(m->ext[0]));
			memset(&m->ext[at], 0, sizeof(m->ext[at]));
			m->ext[at].type = SAL_EXT_PAD;
			k++;
		}
		m->n_ext = (uint8_t)k;
		break;
	}

	switch (test_rng_below(r, 4)) {
	case 0: /* control-only: no transport bytes at all */
		break;
	default:
		if (m->proto == SAL_PROTO_TCP) {
			uint32_t doff = 5 + test_rng_below(r, 11);

			m->l4_len = doff * 4 + test_rng_below(r, 300);
			test_rng_bytes(r, s, m->l4_len);
			s[SAL_TCP_OFF_DOFF] = (uint8_t)(doff << 4 | (s[SAL_TCP_OFF_DOFF] & 0x0f));
		} else if (m->proto == SAL_PROTO_UDP) {
			m->l4_len = SAL_UDP_LEN + test_rng_below(r, 300);
			test_rng_bytes(r, s, m->l4_len);
			sal_put16(s + 4, (uint16_t)m->l4_len);
		} else {
			m->l4_len = 1 + test_rng_below(r, 100);
			test_rng_bytes(r, s, m->l4_len);
		}
		m->l4 = s;
		break;
	}
}

static int
ext_equal(const struct sal_ext_spec *a, const struct sal_ext_spec *b)
{
	if (a->type != b->type || a->res4 != b->res4)
		return 0;
	switch (a->type) {
	case SAL_EXT_PAD:
		return 1;
	case SAL_EXT_CONTROL:
		return a->res == b->res && a->u.control.flags == b->u.control.flags &&
			a->u.control.verno == b->u.control.verno &&
			a->u.control.ackno == b->u.control.ackno &&
			memcmp(a->u.control.nonce, b->u.control.nonce, SAL_NONCE_LEN) == 0;
	case SAL_EXT_SERVICE:
		return a->res == b->res && memcmp(&a->u.service, &b->u.service, 32) == 0;
	case SAL_EXT_ADDRESS:
		return a->res == b->res && a->u.address.verno == b->u.address.verno &&
			a->u.address.ackno == b->u.address.ackno &&
			a->u.address.n_addr == b->u.address.n_addr &&
			(a->u.address.n_addr == 0 || memcmp(a->u.address.addr,
				b->u.address.addr, 4u * a->u.address.n_addr) == 0);
	case SAL_EXT_SOURCE:
		return a->res == b->res && a->u.source.n_addr == b->u.source.n_addr &&
			memcmp(a->u.source.addr, b->u.source.addr, 4u * a->u.source.n_addr) == 0;
	default:
		return 0;
	}
}

int
test_msg_equal(const struct sal_msg *a, const struct sal_msg *b)
{
	uint32_t i;
	int off;

	if (a->ip_src != b->ip_src || a->ip_dst != b->ip_dst || a->ip_id != b->ip_id ||
			a->ip_frag != b->ip_frag || a->ip_tos != b->ip_tos ||
			a->ip_ttl != b->ip_ttl || a->ip_proto != b->ip_proto ||
			a->ip_opt_len != b->ip_opt_len)
		return 0;
	if (a->ip_opt_len && memcmp(a->ip_opt, b->ip_opt, a->ip_opt_len) != 0)
		return 0;
	if (a->src_flowid != b->src_flowid || a->dst_flowid != b->dst_flowid ||
			a->proto != b->proto || a->n_ext != b->n_ext || a->l4_len != b->l4_len)
		return 0;
	for (i = 0; i < a->n_ext; i++)
		if (!ext_equal(&a->ext[i], &b->ext[i]))
			return 0;
	/* Transport bytes equal except the checksum the builder computes. */
	off = sal_l4_csum_off(a->proto, a->l4_len);
	for (i = 0; i < a->l4_len; i++) {
		if (off >= 0 && (i == (uint32_t)off || i == (uint32_t)off + 1))
			continue;
		if (a->l4[i] != b->l4[i])
			return 0;
	}
	return 1;
}

void
test_hexdump(const char *what, const uint8_t *p, uint32_t len)
{
	uint32_t i;

	fprintf(stderr, "%s (%u bytes):", what, len);
	for (i = 0; i < len; i++)
		fprintf(stderr, "%s%02x", i % 16 ? " " : "\n  ", p[i]);
	fprintf(stderr, "\n");
}
