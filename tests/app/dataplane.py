#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The serval-sr authors
"""Data-path timing and accounting against the real binary, watched live
through the management socket.

usage: dataplane.py <serval-sr> <source-root> <case>

Cases:
  aging    gateway flows with a 300 ms half-open timeout: each disappears
           from flows.list no earlier than its timeout and no later than
           the stated bound (timeout + 100 ms sweep + one 100 us slice,
           app/sal_path.h) plus polling slack; while idle the worker runs
           at most one aging slice per 100 us (counter flow_aging), not
           one per loop pass.

Exit 0 = pass, 1 = fail, 77 = skip (no scapy).
"""

import os
import shutil
import sys
import tempfile
import time

try:
    import scapy.all  # noqa: F401
except ImportError:
    print("SKIP: /usr/bin/python3 has no scapy (apt-get install python3-scapy)")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import control_plane as cp  # noqa: E402  (Router, Mgmt, wait_for)
import integration as it  # noqa: E402
from integration import check, eq  # noqa: E402
from scapy.all import wrpcap  # noqa: E402

SYN_MS = 300
# app/sal_path.h: removed at most 100 ms + one slice after the timeout; the
# poll below adds up to its period, the loop and the socket a little more
SWEEP_MS = 100
SLACK_MS = 60
# flow_aging slices per second at most (one per 100 us), and a floor that
# shows aging still runs
SLICES_MAX_PER_S = 10000
SLICES_MIN_PER_S = 500

AGING_CFG = """
ports:
  - { port: 0, address: 192.0.2.1/24, mac: "02:00:00:00:00:01" }
neighbors:
  - { ip: 192.0.2.20, mac: "02:00:00:00:00:20" }
flows: { max: 65536, timeouts: { syn: %dms } }
services:
  - { prefix: "0000abcd/32", action: forward, mode: gateway,
      targets: [{ address: 192.0.2.20 }] }
management:
  socket: @SOCK@
""" % SYN_MS


def worker_counter(m, name):
    return m.ok("stats").get("counters", {}).get(name, 0)


def case_aging(binary, root, tmp):
    syns = [it.sal_pkt("192.0.2.%d" % (100 + i), 0x100 + i, "0000abcd", ip_id=i + 1)
            for i in range(4)]
    inp = os.path.join(tmp, "in.pcap")
    wrpcap(inp, syns)
    r = cp.Router(binary, None, "aging", tmp, AGING_CFG,
                  ["net_pcap0,rx_pcap=%s,tx_pcap=%s" % (inp, os.path.join(tmp, "out.pcap"))])
    if not r.up:
        r.kill()
        return
    m = r.mgmt()
    # the replay starts with the port, maybe before the socket answered:
    # the flows' own idle time says how old they are
    flows = cp.wait_for(lambda: len(m.ok("flows.list").get("flows", [])) == len(syns), 10)
    check(flows, "aging: %d gateway flows created" % len(syns))
    last_idle, last_t = {}, {}
    gone_idle = {}
    deadline = time.time() + (SYN_MS + SWEEP_MS) / 1000.0 + 5
    while time.time() < deadline and len(gone_idle) < len(syns):
        t = time.time()
        now = {f["flow_id"]: f["idle_ms"] for f in m.ok("flows.list").get("flows", [])}
        for fid, idle in now.items():
            last_idle[fid], last_t[fid] = idle, t
        for fid in last_idle:
            if fid not in now and fid not in gone_idle:
                # idle at the moment it was found gone, at the latest
                gone_idle[fid] = last_idle[fid] + (t - last_t[fid]) * 1000.0
        time.sleep(0.01)
    eq(len(gone_idle), len(syns), "aging: every flow expired")
    for fid, idle in sorted(last_idle.items()):
        check(idle <= SYN_MS + SWEEP_MS + SLACK_MS,
              "aging: flow %s seen %d ms idle, bound %d + %d ms (+%d slack)" %
              (fid, idle, SYN_MS, SWEEP_MS, SLACK_MS))
        if fid in gone_idle:
            check(gone_idle[fid] >= SYN_MS - 5,
                  "aging: flow %s gone after %.0f ms idle, before its %d ms timeout" %
                  (fid, gone_idle[fid], SYN_MS))
    # pacing: over an idle second, one slice per 100 us at most
    a0, t0 = worker_counter(m, "flow_aging"), time.time()
    time.sleep(1.0)
    a1, t1 = worker_counter(m, "flow_aging"), time.time()
    rate = (a1 - a0) / (t1 - t0)
    print("aging: %.0f slices/s while idle; flows gone at %s ms idle" %
          (rate, sorted(int(v) for v in gone_idle.values())))
    check(SLICES_MIN_PER_S <= rate <= SLICES_MAX_PER_S * 1.05,
          "aging: %.0f aging slices/s, want %d..%d" %
          (rate, SLICES_MIN_PER_S, SLICES_MAX_PER_S))
    m.close()
    c = r.stop()
    eq(c.get("sal_flows_created"), len(syns), "aging: flows created")


CASES = {
    "aging": case_aging,
}


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in CASES:
        print(__doc__)
        return 2
    binary, root, case = sys.argv[1:]
    tmp = tempfile.mkdtemp(prefix="ssr-dp-%s-" % case)
    try:
        CASES[case](os.path.abspath(binary), os.path.abspath(root), tmp)
    finally:
        if it.failures:
            print("scratch files kept in", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if it.failures:
        print("%d check(s) failed" % len(it.failures))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
