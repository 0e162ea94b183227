#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The serval-sr authors
"""Plot bench_pipeline --json output: ratio to the io-forward baseline
against table size (rules for the SYN cases, flows for gateway_data), one
line per case and worker count.

    for n in 4096 65536 262144 1000000; do
        bench_pipeline --no-huge -m 2048 --no-pci --no-shconf --no-telemetry \\
            --file-prefix=ssr-pipe-$$ -l 0-1 -- --json --rules $n --flows $n \\
            --workers 1 >> pipeline.json
    done
    plot_pipeline.py pipeline.json pipeline.png

Rows of the diagnostics (--no-rule-counters) are drawn dashed. Needs
matplotlib (Debian: python3-matplotlib).
"""

import json
import sys


def load(paths):
    rows = []
    for path in paths:
        with open(path, encoding='utf-8') as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line.startswith('{'):
                    continue
                try:
                    rows.append(json.loads(line))
                except ValueError as e:
                    sys.exit(f'{path}:{n}: not JSON: {e}')
    return rows


def main():
    if len(sys.argv) < 3:
        sys.exit('usage: plot_pipeline.py RESULTS.json [MORE.json ...] OUT.png')
    rows = load(sys.argv[1:-1])
    if not rows:
        sys.exit('no bench_pipeline JSON rows in the input')
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit('matplotlib is missing (apt-get install python3-matplotlib)')

    lines = {}
    for r in rows:
        size = r['flows'] if r['name'].startswith('gateway') else r['rules']
        lines.setdefault((r['name'], r['workers']), {})[size] = r['ratio']
    fig, ax = plt.subplots(figsize=(10, 5))
    for (name, workers), pts in sorted(lines.items()):
        xs = sorted(pts)
        ax.plot(xs, [pts[x] for x in xs], marker='o',
                linestyle='--' if '.' in name else '-',
                label=f'{name}, {workers} worker{"s" if workers > 1 else ""}')
    # one line per target; variants (".no_rule_counters") share their case's
    targets = {}
    for r in rows:
        if 'target' in r:
            targets.setdefault(r['target'], set()).add(r['name'].split('.')[0])
    for t, names in sorted(targets.items()):
        ax.axhline(t, color='grey', linewidth=0.8, linestyle=':')
        ax.annotate(f'{", ".join(sorted(names))} target {t}', (1, t),
                    xycoords=('axes fraction', 'data'), ha='right', va='bottom',
                    fontsize=8, color='grey')
    ax.set_xscale('log')
    ax.set_xlabel('rules installed (gateway_data: flows)')
    ax.set_ylabel('rate / io-forward rate (same harness)')
    ax.set_title('serval-sr worker path vs io forwarding (bench_pipeline)')
    ax.set_ylim(bottom=0)
    ax.grid(True, which='both', linewidth=0.3)
    ax.legend(fontsize=7, loc='upper left', bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    fig.savefig(sys.argv[-1], dpi=100)
    return 0


if __name__ == '__main__':
    sys.exit(main())
