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
  health   over a veth (net_af_packet): a scapy host answers the health
           probes to one target correctly and to the other with a SYN-ACK
           whose SAL ackno does not acknowledge the probe (a stray or forged
           answer): the first is up, the second goes down and stays down,
           and each wrong answer is counted (drop.sal_probe_bad_ack).
  local-big  over a veth with a 2000-byte MTU: a flow of the router's echo
           endpoint gets a 1700-byte TCP segment (more than it echoes): no
           echo, no acknowledgement, one drop.sal_local_too_big; the next
           small segment is echoed as if the long one never came.
  unresolved  transit packets to a host that never answers ARP (net_pcap
           replay): 4 held (arp.queue), 6 dropped as neigh_queue_full, 3 ARP
           requests, then the held 4 dropped as neigh_unresolved; traffic
           to a known neighbour behind them still leaves; no mbuf kept.
  tx-stop  net_pcap on two veth pairs (RX on one, TX on the other): the TX
           link goes down mid-run, so the port refuses to send: every
           packet forwarded meanwhile is a counted drop (tx_full), and
           forwarding resumes when the link comes back.

Exit 0 = pass, 1 = fail, 77 = skip (no scapy, or no root for the veth).
"""

import os
import sys
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
# app/sal_path.h: removed at most one sweep (a tenth of the shortest timeout,
# at least 100 ms: 100 ms here) + one slice after the timeout; the
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


HEALTH_CFG = """
ports:
  - { port: 0, address: 192.0.2.1/24, mac: "02:00:00:00:00:01" }
neighbors:
  - { ip: 192.0.2.20, mac: "02:00:00:00:00:20" }
  - { ip: 192.0.2.21, mac: "02:00:00:00:00:21" }
services:
  - prefix: "0000beef/32"
    action: forward
    targets: [{ address: 192.0.2.20 }, { address: 192.0.2.21 }]
    health: { interval_ms: 250, timeout_ms: 240, fall: 2, rise: 2 }
management:
  socket: @SOCK@
"""
GOOD, FORGED = "192.0.2.20", "192.0.2.21"
T_MACS = {GOOD: "02:00:00:00:00:20", FORGED: "02:00:00:00:00:21"}


class WrongAckResponder(cp.Responder):
    """Answers every probe; to FORGED with an ackno one past the right one
    (the flowID and the address are right: only the SAL ackno gives it
    away)."""

    def _on(self, p):
        from scapy.all import IP, TCP, Ether
        from sal import SAL, SALControl
        if SAL not in p or p[SAL].control() is None:
            return
        ctl = p[SAL].control()
        if int(ctl.flags) != 0x80 or p[SAL].dst_flowid != 0 or p[IP].dst not in self.macs:
            return
        with self.lock:
            self.probes.append((time.time(), p[IP].dst, p[SAL].src_flowid, p))
        ack = ctl.verno + (2 if p[IP].dst == FORGED else 1)
        reply = (Ether(src=self.macs[p[IP].dst], dst=cp.ROUTER_MAC) /
                 IP(src=p[IP].dst, dst=p[IP].src) /
                 SAL(src_flowid=0x5eed, dst_flowid=p[SAL].src_flowid,
                     ext=[SALControl(flags="SYN+ACK", verno=77, ackno=ack & 0xffffffff,
                                     nonce=0x1111)]) /
                 TCP(sport=0, dport=0, flags="SA", seq=1, ack=p[TCP].seq + 1))
        self.sendp(reply, iface=self.iface, verbose=False)


def case_health(binary, root, tmp):
    sock = os.path.join(tmp, "sock", "ssr.sock")
    live = it.Live(binary, "dp-health", tmp, HEALTH_CFG.replace("@SOCK@", sock))
    resp = None
    try:
        resp = WrongAckResponder(live.veth.peer, T_MACS)
        m = cp.Mgmt(sock)

        def states():
            tg = m.ok("rules.list", prefix="0000beef/32")["rules"][0]["targets"]
            return dict((t["address"], t.get("health")) for t in tg)

        want = {GOOD: "up", FORGED: "down"}
        cp.wait_for(lambda: states() == want, 10)
        eq(states(), want, "health: the correct answer keeps its target up, the wrong "
           "ackno does not")
        # it stays down through more wrong answers (rise 2 would have lifted it)
        time.sleep(1.5)
        eq(states(), want, "health: still so after more probes")
        st = m.ok("stats")
        bad = st.get("drops", {}).get("sal_probe_bad_ack", 0)
        with resp.lock:
            n_forged = len([x for x in resp.probes if x[1] == FORGED])
        # an answer slower than timeout_ms (a loaded sanitizer run) counts
        # as late instead: most, not all, must be judged by their ackno
        check(bad >= 2 and bad <= n_forged,
              "health: wrong answers counted (%d, probes to %s %d)" % (bad, FORGED, n_forged))
        eq(st.get("control", {}).get("counters", {}).get("health_bad_ack"), bad,
           "health: the control counters agree with the drop reason")
        m.close()
        resp.stop()
        resp = None
        c = live.stop()
        check(c.get("health_answers", 0) >= 3, "health: good answers counted (%r)" % c)
    finally:
        if resp is not None:
            resp.stop()
        live.close()


def case_local_big(binary, root, tmp):
    from scapy.all import IP, TCP, Ether, Raw
    from sal import SAL, SALControl, SALService, sid
    import subprocess
    live = it.Live(binary, "dp-local-big", tmp, it.LOCAL_CFG)
    try:
        for ifc in (live.veth.router, live.veth.peer):
            subprocess.run(["ip", "link", "set", ifc, "mtu", "2000"], check=True)
        C, N, c, x = 0x41, 0x6161, 2000, 7000
        ip = Ether(src=it.HOST, dst=it.ROUTER_MAC) / IP(src="192.0.2.100", dst="192.0.2.1")
        svc = SALService(service_id=sid("0000000e"))
        sa = live.exchange(ip / SAL(src_flowid=C, ext=[SALControl(flags="SYN", verno=c,
                                                                  nonce=N), svc]) /
                           TCP(sport=0, dport=0, flags="S", seq=x), "SYN")
        if sa is None:
            return
        L, s_isn, y = sa[SAL].src_flowid, sa[SAL].control().verno, sa[TCP].seq
        live.quiet(ip / SAL(src_flowid=C, dst_flowid=L,
                            ext=[SALControl(flags="ACK", verno=c + 1, ackno=s_isn + 1,
                                            nonce=N), svc]) /
                   TCP(flags="A", seq=x + 1, ack=y + 1), "handshake ACK")
        big = bytes(range(256)) * 6 + bytes(164)      # 1700 bytes
        live.quiet(ip / SAL(src_flowid=C, dst_flowid=L) /
                   TCP(flags="PA", seq=x + 1, ack=y + 1) / Raw(big), "1700-byte segment")
        msg = b"small after big"
        echo = live.exchange(ip / SAL(src_flowid=C, dst_flowid=L) /
                             TCP(flags="PA", seq=x + 1, ack=y + 1) / Raw(msg), "small segment")
        if echo is not None:
            eq(bytes(echo[TCP].payload), msg, "local-big: the small segment echoed")
            eq(echo[TCP].ack, x + 1 + len(msg), "local-big: the long one was not acknowledged")
        c = live.stop()
        eq(c.get("drop.sal_local_too_big"), 1, "local-big: the long segment is a counted drop")
    finally:
        live.close()


UNRESOLVED_CFG = """
ports:
  - { port: 0, address: 192.0.2.1/24, mac: "02:00:00:00:00:01" }
neighbors:
  - { ip: 192.0.2.99, mac: "02:00:00:00:00:09" }
arp: { queue: 4, retry: 20ms }
"""


def transit(dst, i, src="192.0.2.100"):
    from scapy.all import IP, UDP, Ether, Raw
    return (Ether(src=it.HOST, dst=it.ROUTER_MAC) / IP(src=src, dst=dst, id=i) /
            UDP(sport=1000, dport=2000) / Raw(b"transit %d" % i))


def case_unresolved(binary, root, tmp):
    from scapy.all import ARP, IP
    pkts = [transit("192.0.2.50", i) for i in range(10)] + \
        [transit("192.0.2.99", 100 + i) for i in range(5)]
    run = it.Run(binary, "unresolved", tmp).start(UNRESOLVED_CFG, [(pkts, "out0.pcap")],
                                                   idle_ms=600).wait()
    c = run.check_invariant()
    for k, v in (("neigh_queued", 4), ("drop.neigh_queue_full", 6),
                 ("drop.neigh_unresolved", 4), ("forwarded", 15)):
        eq(c.get(k), v, "unresolved: %s" % k)
    out = run.out()
    reqs = [p for p in out if ARP in p and p[ARP].op == 1 and p[ARP].pdst == "192.0.2.50"]
    eq(len(reqs), 3, "unresolved: ARP requests for the silent host (SSR_ARP_MAX_TRIES)")
    eq(sorted(p[IP].id for p in out if IP in p), list(range(100, 105)),
       "unresolved: the known neighbour's packets left, the others did not")
    check_pools(run.stdout, "unresolved")


def check_pools(stdout, what):
    import re
    pools = re.findall(r"^mempool (\S+): in use (\d+) of (\d+)$", stdout, re.M)
    check(pools, "%s: mbuf pool accounting printed at exit" % what)
    for pool, used, _size in pools:
        eq(int(used), 0, "%s: mbufs of pool %s still in use at exit" % (what, pool))


TXSTOP_CFG = """
ports:
  - { port: 0, address: 192.0.2.1/24, mac: "02:00:00:00:00:01" }
neighbors:
  - { ip: 192.0.2.99, mac: "02:00:00:00:00:09" }
"""


def case_tx_stop(binary, root, tmp):
    import signal
    import subprocess
    from scapy.all import AsyncSniffer, IP, sendp
    if os.geteuid() != 0:
        print("SKIP: needs root for veth pairs")
        sys.exit(77)
    tag = "%d" % (os.getpid() % 100000)
    made = []
    proc = None
    try:
        for a, b in (("ssrxa", "ssrxb"), ("ssrxc", "ssrxd")):
            made.append(it.Veth(a + tag, b + tag))
        (rx, rx_peer), (tx, tx_peer) = ((v.router, v.peer) for v in made)
        cfg = os.path.join(tmp, "router.yaml")
        with open(cfg, "w") as f:
            f.write(TXSTOP_CFG)
        prefix = "ssr-dp-txstop-%d" % os.getpid()
        args = [binary] + it.EAL + ["--file-prefix=" + prefix, "-l", "0",
                                    "--vdev=net_pcap0,rx_iface=%s,tx_iface=%s" % (rx, tx),
                                    "--", "-c", cfg]
        out = open(os.path.join(tmp, "stdout.txt"), "w+")
        err = open(os.path.join(tmp, "stderr.txt"), "w+")
        proc = subprocess.Popen(args, stdout=out, stderr=err, cwd=tmp)
        got = []
        sniffer = AsyncSniffer(iface=tx_peer, store=False, prn=got.append,
                               lfilter=lambda p: IP in p and p[IP].dst == "192.0.2.99")
        sniffer.start()

        sent = [0]   # frames sent toward the router

        def burst(first, n, want, what):
            before = len(got)
            sendp([transit("192.0.2.99", first + i) for i in range(n)], iface=rx_peer,
                  verbose=False)
            sent[0] += n
            cp.wait_for(lambda: len(got) - before >= want, 5)
            time.sleep(0.3)
            eq(len(got) - before, want, "tx-stop: %s: packets out" % what)

        def until_through(what):
            """Send one packet at a time until one leaves (the router is
            up; the TX link carries again, which the kernel's link watch
            takes up to a second to allow)."""
            before = len(got)

            def one():
                sendp(transit("192.0.2.99", 1), iface=rx_peer, verbose=False)
                sent[0] += 1
                return len(got) > before
            check(cp.wait_for(one, 30, step=0.2), "tx-stop: %s" % what)
            time.sleep(0.3)

        until_through("the router forwards")
        burst(1000, 20, 20, "link up")
        subprocess.run(["ip", "link", "set", tx, "down"], check=True)
        burst(2000, 30, 0, "TX link down")
        subprocess.run(["ip", "link", "set", tx, "up"], check=True)
        until_through("forwarding resumes when the TX link is back")
        burst(3000, 20, 20, "TX link back up")
        sniffer.stop()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        it.remove_runtime_dir(args)
        out.seek(0)
        stdout = out.read()
        eq(proc.returncode, 0, "tx-stop: exit status")
        run = it.Run(binary, "tx-stop", tmp)
        run.stdout = stdout
        c = run.check_invariant()
        # every packet forwarded left or was refused by the port (a few
        # sent before the router listened never reached it)
        check(sent[0] - 5 <= c.get("forwarded", 0) <= sent[0],
              "tx-stop: forwarded %d of %d sent" % (c.get("forwarded", 0), sent[0]))
        eq(c.get("tx"), len(got), "tx-stop: tx counts what left")
        eq(c.get("drop.tx_full"), c.get("forwarded", 0) - len(got),
           "tx-stop: packets refused by the stopped port counted")
        check(c.get("drop.tx_full", 0) >= 30, "tx-stop: the 30 sent while down among them")
        check_pools(stdout, "tx-stop")
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        for v in made:
            v.close()


CASES = {
    "aging": case_aging,
    "unresolved": case_unresolved,
    "tx-stop": case_tx_stop,
    "health": case_health,
    "local-big": case_local_big,
}


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in CASES:
        print(__doc__)
        return 2
    binary, root, case = sys.argv[1:]
    return it.run_case("ssr-dp-%s-" % case, CASES[case], binary, root)


if __name__ == "__main__":
    sys.exit(main())
