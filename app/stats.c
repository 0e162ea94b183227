/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <ctype.h>
#include <inttypes.h>
#include <string.h>

#include "stats.h"

#define SSR_NAME(name, desc) #name,
#define SSR_DESC(name, desc) desc,

static const char *const cnt_names[] = { SSR_COUNTERS(SSR_NAME) };
static const char *const cnt_descs[] = { SSR_COUNTERS(SSR_DESC) };
static const char *const drop_names[] = { SSR_DROP_REASONS(SSR_NAME) };
static const char *const drop_descs[] = { SSR_DROP_REASONS(SSR_DESC) };

/* Lower-case copies of the X-macro names, made once on first use. */
static char cnt_lower[SSR_CNT_MAX][32];
static char drop_lower[SSR_DROP_MAX][32];

static const char *
lower(char *out, const char *in)
{
	size_t i;

	if (out[0] == '\0') {
		for (i = 0; in[i] != '\0' && i < 31; i++)
			out[i] = tolower((unsigned char)in[i]);
		out[i] = '\0';
	}
	return out;
}

const char *
ssr_counter_name(enum ssr_counter c)
{
	return (unsigned int)c < SSR_CNT_MAX ? lower(cnt_lower[c], cnt_names[c]) : "?";
}

const char *
ssr_counter_desc(enum ssr_counter c)
{
	return (unsigned int)c < SSR_CNT_MAX ? cnt_descs[c] : "?";
}

const char *
ssr_drop_name(enum ssr_drop_reason r)
{
	return (unsigned int)r < SSR_DROP_MAX ? lower(drop_lower[r], drop_names[r]) : "?";
}

const char *
ssr_drop_desc(enum ssr_drop_reason r)
{
	return (unsigned int)r < SSR_DROP_MAX ? drop_descs[r] : "?";
}

void
ssr_stats_add(struct ssr_stats *sum, const struct ssr_stats *src)
{
	unsigned int i;

	/* relaxed: monotonic counters, each read once; no ordering needed */
	for (i = 0; i < SSR_CNT_MAX; i++)
		sum->cnt[i] += __atomic_load_n(&src->cnt[i], __ATOMIC_RELAXED);
	for (i = 0; i < SSR_DROP_MAX; i++)
		sum->drop[i] += __atomic_load_n(&src->drop[i], __ATOMIC_RELAXED);
	for (i = 0; i < SAL_DROP_MAX; i++)
		sum->sal_reason[i] += __atomic_load_n(&src->sal_reason[i],
				__ATOMIC_RELAXED);
}

uint64_t
ssr_stats_dropped(const struct ssr_stats *s)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < SSR_DROP_MAX; i++)
		n += s->drop[i];
	return n;
}

void
ssr_stats_print(FILE *f, const char *title, const struct ssr_stats *s)
{
	unsigned int i;

	fprintf(f, "%s:\n", title);
	for (i = 0; i < SSR_CNT_MAX; i++)
		if (s->cnt[i] != 0 || i == SSR_CNT_RX || i == SSR_CNT_TX)
			fprintf(f, "  %s: %" PRIu64 "\n", ssr_counter_name(i), s->cnt[i]);
	fprintf(f, "  dropped: %" PRIu64 "\n", ssr_stats_dropped(s));
	for (i = 0; i < SSR_DROP_MAX; i++)
		if (s->drop[i] != 0)
			fprintf(f, "  drop.%s: %" PRIu64 "  # %s\n", ssr_drop_name(i),
					s->drop[i], ssr_drop_desc(i));
	for (i = 0; i < SAL_DROP_MAX; i++)
		if (s->sal_reason[i] != 0)
			fprintf(f, "  sal_malformed.%s: %" PRIu64 "  # %s\n",
					sal_drop_reason_name(i), s->sal_reason[i],
					sal_drop_reason_str(i));
}

int
ssr_stats_balanced(const struct ssr_stats *s)
{
	return s->cnt[SSR_CNT_RX] + s->cnt[SSR_CNT_GENERATED] ==
		s->cnt[SSR_CNT_TX] + s->cnt[SSR_CNT_CONSUMED] + ssr_stats_dropped(s) &&
		s->cnt[SSR_CNT_TO_CONTROL] == s->cnt[SSR_CNT_FROM_WORKERS] &&
		s->cnt[SSR_CNT_HANDOFF_OUT] == s->cnt[SSR_CNT_HANDOFF_IN];
}
