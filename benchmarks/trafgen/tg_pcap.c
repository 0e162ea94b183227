/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * Classic pcap files (the format tcpdump, scapy, net_pcap and pktgen all
 * read) and the gateway flow map. Written by hand: the format is a 24-byte
 * file header and a 16-byte header per record, and owning it keeps the
 * output byte-identical across hosts (always little-endian).
 */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trafgen.h"

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define PCAP_LINKTYPE_ETHERNET 1
#define PCAP_SNAPLEN 65535
/* Records larger than this are refused when reading. */
#define PCAP_MAX_RECORD 262144

struct tg_pcap_writer {
	FILE *fp;
	int err;
};

static void
put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

struct tg_pcap_writer *
tg_pcap_open(const char *path)
{
	struct tg_pcap_writer *w;
	uint8_t hdr[24];
	int err;

	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->fp = fopen(path, "wb");
	if (w->fp == NULL) {
		err = errno;
		free(w);
		errno = err;
		return NULL;
	}
	put_le32(hdr, PCAP_MAGIC_US);
	put_le16(hdr + 4, 2);
	put_le16(hdr + 6, 4);
	put_le32(hdr + 8, 0);   /* thiszone */
	put_le32(hdr + 12, 0);  /* sigfigs */
	put_le32(hdr + 16, PCAP_SNAPLEN);
	put_le32(hdr + 20, PCAP_LINKTYPE_ETHERNET);
	if (fwrite(hdr, sizeof(hdr), 1, w->fp) != 1)
		w->err = -EIO;
	return w;
}

int
tg_pcap_write(struct tg_pcap_writer *w, const uint8_t *frame, uint32_t len, uint64_t ts_us)
{
	uint8_t rec[16];

	put_le32(rec, (uint32_t)(ts_us / 1000000));
	put_le32(rec + 4, (uint32_t)(ts_us % 1000000));
	put_le32(rec + 8, len);
	put_le32(rec + 12, len);
	if (fwrite(rec, sizeof(rec), 1, w->fp) != 1 || fwrite(frame, 1, len, w->fp) != len)
		w->err = -EIO;
	return w->err;
}

int
tg_pcap_close(struct tg_pcap_writer *w)
{
	int err;

	if (w == NULL)
		return 0;
	err = w->err;
	if (fclose(w->fp) != 0)
		err = -EIO;
	free(w);
	return err;
}

static uint32_t
get32(const uint8_t *p, bool swap)
{
	uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		(uint32_t)p[3] << 24;

	return swap ? __builtin_bswap32(v) : v;
}

int
tg_pcap_load(const char *path, struct tg_capture *out)
{
	uint8_t hdr[24], rec[16];
	uint32_t caplen, len, cap_frames = 0;
	size_t store_len = 0, store_cap = 0;
	uint8_t *store = NULL, *ns;
	struct tg_frame *nf;
	uint32_t *offs = NULL, *noffs;
	bool swap;
	FILE *fp;
	int ret = 0;
	uint32_t i;

	memset(out, 0, sizeof(*out));
	fp = fopen(path, "rb");
	if (fp == NULL)
		return -errno;
	if (fread(hdr, sizeof(hdr), 1, fp) != 1) {
		ret = -EINVAL;
		goto out;
	}
	if (get32(hdr, false) == PCAP_MAGIC_US || get32(hdr, false) == PCAP_MAGIC_NS)
		swap = false;
	else if (get32(hdr, true) == PCAP_MAGIC_US || get32(hdr, true) == PCAP_MAGIC_NS)
		swap = true;
	else {
		ret = -EINVAL;
		goto out;
	}
	if (get32(hdr + 20, swap) != PCAP_LINKTYPE_ETHERNET) {
		ret = -EINVAL;
		goto out;
	}
	while (fread(rec, sizeof(rec), 1, fp) == 1) {
		caplen = get32(rec + 8, swap);
		len = get32(rec + 12, swap);
		if (caplen != len || caplen > PCAP_MAX_RECORD) {
			ret = -EINVAL;
			goto out;
		}
		if (store_len + caplen > store_cap) {
			store_cap = store_cap == 0 ? 65536 : 2 * store_cap;
			while (store_len + caplen > store_cap)
				store_cap *= 2;
			ns = realloc(store, store_cap);
			if (ns == NULL) {
				ret = -ENOMEM;
				goto out;
			}
			store = ns;
		}
		if (fread(store + store_len, 1, caplen, fp) != caplen) {
			ret = -EINVAL;
			goto out;
		}
		if (out->n == cap_frames) {
			cap_frames = cap_frames == 0 ? 1024 : 2 * cap_frames;
			nf = realloc(out->frames, cap_frames * sizeof(*nf));
			noffs = realloc(offs, cap_frames * sizeof(*noffs));
			if (nf != NULL)
				out->frames = nf;
			if (noffs != NULL)
				offs = noffs;
			if (nf == NULL || noffs == NULL) {
				ret = -ENOMEM;
				goto out;
			}
		}
		offs[out->n] = (uint32_t)store_len;
		out->frames[out->n].len = caplen;
		out->n++;
		store_len += caplen;
	}
	if (!feof(fp))
		ret = -EIO;
out:
	fclose(fp);
	if (ret != 0) {
		free(store);
		free(out->frames);
		free(offs);
		memset(out, 0, sizeof(*out));
		return ret;
	}
	/* pointers only now: the store moved while it grew */
	for (i = 0; i < out->n; i++)
		out->frames[i].data = store + offs[i];
	out->store = store;
	free(offs);
	return 0;
}

void
tg_capture_free(struct tg_capture *c)
{
	if (c == NULL)
		return;
	free(c->store);
	free(c->frames);
	memset(c, 0, sizeof(*c));
}

/* ------------------------------------------------------------ flow map */

static int
parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*out = a.s_addr;
	return 0;
}

static int
parse_hex32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (strlen(s) != 8)
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 16);
	if (errno != 0 || *end != '\0')
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int
parse_nonce(const char *s, uint8_t *nonce)
{
	unsigned int i, v;

	if (strlen(s) != 2 * SAL_NONCE_LEN)
		return -EINVAL;
	for (i = 0; i < SAL_NONCE_LEN; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		nonce[i] = (uint8_t)v;
	}
	return 0;
}

int
tg_gwmap_load(const char *path, struct tg_gwflow **out, uint32_t *n, char *err,
		size_t errlen)
{
	char line[512], f[6][64], extra[2];
	struct tg_gwflow *flows = NULL, *nf, g;
	uint32_t cap = 0, count = 0, lineno = 0, cfid, ifid;
	FILE *fp;
	int ret = 0;

	*out = NULL;
	*n = 0;
	fp = fopen(path, "r");
	if (fp == NULL) {
		ret = -errno;
		if (err != NULL)
			snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *p = line;

		lineno++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\n' || *p == '\0')
			continue;
		memset(&g, 0, sizeof(g));
		if (sscanf(p, "%63s %63s %63s %63s %63s %63s %1s", f[0], f[1], f[2], f[3],
					f[4], f[5], extra) != 6 ||
				parse_ip(f[0], &g.client_ip) != 0 ||
				parse_hex32(f[1], &cfid) != 0 ||
				parse_hex32(f[2], &g.rfid) != 0 ||
				parse_ip(f[3], &g.target) != 0 ||
				parse_hex32(f[4], &ifid) != 0 ||
				parse_nonce(f[5], g.nonce) != 0 ||
				cfid == 0 || ifid == 0 || (g.rfid & 1) != 0) {
			if (err != NULL)
				snprintf(err, errlen, "%s:%u: expected 'client_ip client_flowid "
						"rfid target_ip instance_flowid nonce' (flowIDs 8 "
						"hex digits, non-zero, rfid even; nonce 16 hex digits)",
						path, lineno);
			ret = -EINVAL;
			goto fail;
		}
		g.client_flowid = htonl(cfid);
		g.instance_flowid = htonl(ifid);
		if (count == cap) {
			cap = cap == 0 ? 1024 : 2 * cap;
			nf = realloc(flows, cap * sizeof(*nf));
			if (nf == NULL) {
				ret = -ENOMEM;
				goto fail;
			}
			flows = nf;
		}
		flows[count++] = g;
	}
	if (ferror(fp)) {
		ret = -EIO;
		goto fail;
	}
	fclose(fp);
	*out = flows;
	*n = count;
	return 0;
fail:
	fclose(fp);
	free(flows);
	return ret;
}

int
tg_gwmap_write(FILE *fp, const struct tg_gwflow *f)
{
	char cip[INET_ADDRSTRLEN], tip[INET_ADDRSTRLEN];
	struct in_addr a;
	unsigned int i;

	a.s_addr = f->client_ip;
	inet_ntop(AF_INET, &a, cip, sizeof(cip));
	a.s_addr = f->target;
	inet_ntop(AF_INET, &a, tip, sizeof(tip));
	if (fprintf(fp, "%s %08" PRIx32 " %08" PRIx32 " %s %08" PRIx32 " ", cip,
				ntohl(f->client_flowid), f->rfid, tip,
				ntohl(f->instance_flowid)) < 0)
		return -EIO;
	for (i = 0; i < SAL_NONCE_LEN; i++)
		if (fprintf(fp, "%02x", f->nonce[i]) < 0)
			return -EIO;
	return fputc('\n', fp) == EOF ? -EIO : 0;
}
