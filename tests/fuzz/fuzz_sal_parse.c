/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * libFuzzer target for lib/sal: the input is an IPv4 packet (IP header
 * first). Public API only. Checked properties:
 * - sal_parse() never crashes or reads past the frame (ASan), whatever
 *   the flags, and sal_parse_bulk() agrees with it;
 * - an accepted packet re-emits byte for byte (build(parse(x)) == x);
 * - a packet accepted with checksum checks off, rebuilt by sal_build(), is
 *   accepted with every check on and differs only in checksum fields;
 * - on that packet every edit (forward in both room modes, address and
 *   flowID rewrites, TTL, RST reply) yields a packet the parser accepts
 *   with all checksums valid, and the forward edit did what it claims;
 * - the serviceID text parser, fed the input as a string, round-trips.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_checks.h"
#include "sal.h"
#include "sal_build.h"
#include "sal_edit.h"
#include "sal_parse.h"

#define L2 14
#define ROOM 128

static struct sal_parse_conf conf_all, conf_nocsum, conf_l4;

static uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* Parse a frame at a fresh exact-size heap copy so ASan sees any overread. */
static enum sal_drop_reason
parse_copy(const struct sal_parse_conf *c, const uint8_t *l3, uint32_t len,
	struct sal_pkt *pkt, uint8_t **frame_out)
{
	uint8_t *f = malloc(L2 + len);
	enum sal_drop_reason r;

	check(f != NULL);
	memset(f, 0xe0, L2);
	memcpy(f + L2, l3, len);
	r = sal_parse(c, f, L2 + len, L2, pkt);
	check(pkt->drop == r);
	if (frame_out != NULL)
		*frame_out = f;
	else
		free(f);
	return r;
}

static void
check_all_valid(const uint8_t *frame, uint32_t frame_len, struct sal_pkt *pkt)
{
	struct sal_pkt fresh;

	check(sal_parse(&conf_l4, frame, frame_len, L2, &fresh) == SAL_DROP_NONE);
	check(sal_verify_ip_csum(frame, &fresh));
	check(sal_verify_sal_csum(frame, &fresh));
	check(sal_verify_l4_csum(frame, &fresh));
	if (pkt != NULL) {
		fresh.drop = pkt->drop;
		check(memcmp(&fresh, pkt, sizeof(fresh)) == 0);
	}
}

static void
fuzz_forward(const uint8_t *l3, uint32_t len, uint32_t dst, int headroom, uint32_t tailroom,
	uint32_t flags)
{
	uint32_t size = (uint32_t)headroom + L2 + len + tailroom;
	uint8_t *buf = malloc(size);
	struct sal_frame f;
	struct sal_edit_res res;
	struct sal_pkt pkt, before;
	enum sal_drop_reason r;
	uint32_t old_src, old_dst, i;

	check(buf != NULL);
	memset(buf, 0xa5, size);
	memcpy(buf + headroom + L2, l3, len);
	check(sal_parse(&conf_all, buf + headroom, L2 + len, L2, &pkt) == SAL_DROP_NONE);
	before = pkt;
	old_src = sal_pkt_ip_src(buf + headroom, &pkt);
	old_dst = sal_pkt_ip_dst(buf + headroom, &pkt);
	f.data = buf + headroom;
	f.len = L2 + len;
	f.headroom = (uint32_t)headroom;
	f.tailroom = tailroom;
	r = sal_edit_forward(&f, &pkt, dst, flags, &res);
	check(pkt.drop == r);
	if (r != SAL_DROP_NONE) {
		check(res.prepended == 0 && res.appended == 0);
		check(f.data == buf + headroom && f.len == L2 + len);
		check(memcmp(f.data + L2, l3, len) == 0);
		check(r == SAL_DROP_TTL_EXPIRED || r == SAL_DROP_SOURCE_LOOP ||
			r == SAL_DROP_SOURCE_TOO_LONG || r == SAL_DROP_EXT_TOO_MANY ||
			r == SAL_DROP_EDIT_TOO_LONG || r == SAL_DROP_EDIT_NO_ROOM);
		free(buf);
		return;
	}
	check(f.data == buf + headroom - res.prepended);
	check(f.len == L2 + len + res.prepended + res.appended);
	check(pkt.ip_len == before.ip_len + res.prepended + res.appended);
	for (i = 0; i < L2; i++)
		check(f.data[i] == 0xa5);
	check(sal_pkt_ip_src(f.data, &pkt) == old_src);
	check(sal_pkt_ip_dst(f.data, &pkt) == dst);
	if (!(flags & SAL_FWD_F_NO_SOURCE)) {
		check(pkt.n_source >= 2);
		check(sal_pkt_source_addr(f.data, &pkt, pkt.n_source - 1u) == old_dst);
		if (before.n_source == 0)
			check(sal_pkt_source_addr(f.data, &pkt, 0) == old_src);
		else
			check(pkt.n_source == before.n_source + 1);
	}
	check_all_valid(f.data, f.len, &pkt);
	free(buf);
}

static void
fuzz_rewrites(const uint8_t *l3, uint32_t len, const uint8_t *seed)
{
	uint8_t *frame = NULL, rst[SAL_RST_LEN];
	struct sal_pkt pkt;
	int n;

	check(parse_copy(&conf_all, l3, len, &pkt, &frame) == SAL_DROP_NONE);
	sal_edit_set_ip_addrs(frame, &pkt, rd32(seed), rd32(seed + 4));
	sal_edit_set_flowids(frame, &pkt, rd32(seed + 8), rd32(seed + 4));
	check(pkt.src_flowid == rd32(seed + 8));
	if (sal_edit_dec_ttl(frame, &pkt) == SAL_DROP_TTL_EXPIRED)
		check(frame[L2 + 8] <= 1);
	check_all_valid(frame, L2 + len, &pkt);

	n = sal_build_rst(frame, &pkt, 64, 1, rst, sizeof(rst));
	if (pkt.ctrl_flags & SAL_CTRL_RST) {
		check(n == -EINVAL);
	} else {
		uint8_t *rf = NULL;
		struct sal_pkt rp;

		check(n == SAL_RST_LEN);
		check(parse_copy(&conf_l4, rst, (uint32_t)n, &rp, &rf) == SAL_DROP_NONE);
		check(rp.ctrl_flags & SAL_CTRL_RST);
		check(rp.src_flowid == pkt.dst_flowid && rp.dst_flowid == pkt.src_flowid);
		free(rf);
	}
	free(frame);
}

static void
fuzz_text(const uint8_t *data, size_t size)
{
	char s[96], err[SAL_ERRLEN], out[SAL_SERVICE_ID_STRLEN];
	struct sal_service_id id, back;
	uint16_t bits, bits2;

	if (size >= sizeof(s))
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (sal_service_id_parse(s, &id, &bits, err, sizeof(err)) != 0) {
		check(err[0] != '\0');
		return;
	}
	check(bits <= 256);
	check(sal_service_id_format(&id, bits, out, sizeof(out)) > 0);
	check(sal_service_id_parse(out, &back, &bits2, err, sizeof(err)) == 0);
	check(memcmp(&id, &back, sizeof(id)) == 0 && bits == bits2);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	check(sal_parse_conf_init(&conf_all, SAL_IPPROTO_DEFAULT, 0) == 0);
	check(sal_parse_conf_init(&conf_nocsum, SAL_IPPROTO_DEFAULT,
		SAL_PARSE_F_NO_IP_CSUM | SAL_PARSE_F_NO_SAL_CSUM) == 0);
	check(sal_parse_conf_init(&conf_l4, SAL_IPPROTO_DEFAULT, SAL_PARSE_F_L4_CSUM) == 0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t rebuilt[70000], out[70000];
	uint32_t len = size > 65535 ? 65535 : (uint32_t)size;
	struct sal_pkt pkt, bulk;
	struct sal_msg m;
	uint8_t *frame = NULL, seed[12] = { 0 };
	const uint8_t *frames[1];
	uint32_t lens[1];
	uint16_t offs[1] = { L2 };
	enum sal_drop_reason r;
	int n, i;

	fuzz_text(data, size);

	/* Strict parse; an accepted packet re-emits exactly. */
	r = parse_copy(&conf_all, data, len, &pkt, &frame);
	frames[0] = frame;
	lens[0] = L2 + len;
	check(sal_parse_bulk(&conf_all, frames, lens, offs, 1, &bulk) == (r == SAL_DROP_NONE));
	check(bulk.drop == r);
	if (r == SAL_DROP_NONE) {
		check(memcmp(&bulk, &pkt, sizeof(pkt)) == 0);
		check(sal_msg_from_pkt(frame, &pkt, &m) == 0);
		m.flags = SAL_BUILD_F_RAW_L4;
		check(sal_build(&m, out, sizeof(out)) == pkt.ip_len);
		check(memcmp(out, data, pkt.ip_len) == 0);
	}
	free(frame);

	/* Past the checksums: accept without them, rebuild with valid ones. */
	r = parse_copy(&conf_nocsum, data, len, &pkt, &frame);
	if (r != SAL_DROP_NONE) {
		free(frame);
		return 0;
	}
	check(sal_msg_from_pkt(frame, &pkt, &m) == 0);
	n = sal_build(&m, rebuilt, sizeof(rebuilt));
	check(n == pkt.ip_len);
	free(frame);
	frame = NULL;
	check(parse_copy(&conf_l4, rebuilt, (uint32_t)n, &bulk, &frame) == SAL_DROP_NONE);
	free(frame);
	bulk.drop = pkt.drop;
	check(memcmp(&bulk, &pkt, sizeof(pkt)) == 0);
	for (i = 0; i < n; i++) {
		/* only the IPv4, SAL and transport checksum bytes may differ */
		int ip_c = i == 10 || i == 11;
		int sal_c = i == pkt.sal_off - L2 + 10 || i == pkt.sal_off - L2 + 11;
		int l4_c = pkt.l4_len > 0 && i >= pkt.l4_off - L2;

		if (!ip_c && !sal_c && !l4_c)
			check(rebuilt[i] == data[i]);
	}

	/* Edits, with parameters taken from the input's last bytes. */
	memcpy(seed, data + (size > 12 ? size - 12 : 0), size < 12 ? size : 12);
	fuzz_forward(rebuilt, (uint32_t)n, rd32(seed), ROOM, 0, 0);
	fuzz_forward(rebuilt, (uint32_t)n, rd32(seed), 0, seed[5] % 20, 0);
	fuzz_forward(rebuilt, (uint32_t)n, rd32(seed + 4), seed[6] % 16, seed[7] % 16,
		seed[8] & SAL_FWD_F_ALL);
	fuzz_rewrites(rebuilt, (uint32_t)n, seed);
	return 0;
}
