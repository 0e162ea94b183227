#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The serval-sr authors
"""Drive the real serval-sr binary over net_pcap vdevs and check what it sends.

usage: integration.py <serval-sr> <source-root> <case>

Each case crafts input pcaps with scapy, writes a config, runs the router
with --exit-on-idle (or stops it with a signal), then checks the output pcaps
field by field and the counters it prints (including the invariant
rx + generated == tx + consumed + dropped). Exit 0 = pass, 1 = fail, 77 = skip.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import math

try:
    from scapy.all import ARP, ICMP, IP, TCP, UDP, Ether, Raw, rdpcap, wrpcap
    from scapy.utils import checksum
except ImportError:
    print("SKIP: /usr/bin/python3 has no scapy (apt-get install python3-scapy)")
    sys.exit(77)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from sal import SAL, SALControl, SALService, SALSource, sal_checksum_ok, sid  # noqa: E402
from sal import transport_checksum_ok  # noqa: E402

# net_pcap makes up its MAC: 02:70:63:61:70 ('pcap') then the device number.
PCAP_MAC = ["02:70:63:61:70:%02x" % i for i in range(4)]
HOST = "02:00:00:00:00:99"
EAL = ["--no-huge", "-m", "512", "--no-pci", "--no-shconf", "--log-level=user.serval.*:info"]
DPDK_RUN = "/var/run/dpdk"


def prefix_of(args):
    """The --file-prefix of a command line."""
    return [a for a in args if a.startswith("--file-prefix=")][0].split("=", 1)[1]


def remove_runtime_dir(args):
    """DPDK leaves its (here empty) runtime directory behind: remove ours."""
    shutil.rmtree(os.path.join(DPDK_RUN, prefix_of(args)), ignore_errors=True)

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def eq(got, want, what):
    return check(got == want, "%s: got %r, want %r" % (what, got, want))


class Run:
    """One router run in a scratch directory."""

    def __init__(self, binary, name, workdir):
        self.binary = binary
        self.name = name
        self.dir = workdir
        self.stdout = ""
        self.stderr = ""
        self.rc = None

    def path(self, f):
        return os.path.join(self.dir, f)

    def start(self, config_text, ports, lcores="0", idle_ms=500, extra=()):
        """ports: list of (rx packets, tx file name) per net_pcap port."""
        cfg = self.path("router.yaml")
        with open(cfg, "w") as f:
            f.write(config_text)
        args = [self.binary] + EAL + ["--file-prefix=ssr-it-%s-%d" % (self.name, os.getpid())]
        args += ["-l", lcores] if not lcores.startswith("--") else [lcores]
        for i, (pkts, _out) in enumerate(ports):
            inp = self.path("in%d.pcap" % i)
            wrpcap(inp, pkts)
            args.append("--vdev=net_pcap%d,rx_pcap=%s,tx_pcap=%s" %
                        (i, inp, self.path("out%d.pcap" % i)))
        args += ["--", "-c", cfg]
        if idle_ms:
            args += ["--exit-on-idle", str(idle_ms)]
        args += list(extra)
        self.args = args
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, cwd=self.dir)
        return self

    def wait(self, timeout=60):
        try:
            self.stdout, self.stderr = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.stdout, self.stderr = self.proc.communicate()
            check(False, "%s: router did not stop within %d s" % (self.name, timeout))
        self.rc = self.proc.returncode
        remove_runtime_dir(self.args)
        if not eq(self.rc, 0, "%s: exit status" % self.name):
            print(" ".join(self.args))
            print(self.stdout)
            print(self.stderr)
        return self

    def out(self, i=0):
        p = self.path("out%d.pcap" % i)
        return list(rdpcap(p)) if os.path.exists(p) and os.path.getsize(p) > 0 else []

    def counters(self, section="total"):
        """The counters printed for one section, as a dict."""
        res, cur = {}, None
        for line in self.stdout.splitlines():
            if not line.startswith(" "):
                cur = line.rstrip(":")
                continue
            if cur == section or cur.startswith(section + " "):
                m = re.match(r"\s+([a-z_.0-9]+): (\d+)", line)
                if m:
                    res[m.group(1)] = int(m.group(2))
        return res

    def check_invariant(self):
        c = self.counters()
        m = re.search(r"^invariant: .*: (\S+)$", self.stdout, re.M)
        check(m is not None and m.group(1) == "ok",
              "%s: router reports the invariant violated" % self.name)
        lhs = c.get("rx", 0) + c.get("generated", 0)
        rhs = c.get("tx", 0) + c.get("consumed", 0) + c.get("dropped", 0)
        eq(lhs, rhs, "%s: rx + generated vs tx + consumed + dropped" % self.name)
        eq(sum(v for k, v in c.items() if k.startswith("drop.")), c.get("dropped", 0),
           "%s: drop reasons add up" % self.name)
        return c


def ip_ok(p):
    """IPv4 header checksum valid."""
    raw = bytes(p[IP])[:p[IP].ihl * 4]
    return checksum(raw) == 0


BASE_CFG = """
ports:
  - { port: 0, address: 192.0.2.1/24 }
neighbors:
  - { ip: 192.0.2.10, mac: "02:00:00:00:00:10" }
  - { ip: 192.0.2.254, mac: "02:00:00:00:00:fe" }
gateway: 192.0.2.254
arp: { queue: 4, retry: 10s }
"""


def case_basic(binary, root, tmp):
    """One port, one lcore: ARP, ICMP echo, transit forwarding, drops."""
    R = PCAP_MAC[0]
    e = Ether(src=HOST, dst=R)
    pkts = [
        # 0: ARP request for the router -> reply
        Ether(src=HOST, dst="ff:ff:ff:ff:ff:ff") /
        ARP(op=1, hwsrc=HOST, psrc="192.0.2.99", pdst="192.0.2.1"),
        # 1: echo request -> reply
        e / IP(src="192.0.2.99", dst="192.0.2.1", id=4321) /
        ICMP(type=8, id=7, seq=3) / Raw(b"ping-payload-0123456789"),
        # 2: transit to a static neighbour -> forwarded, TTL 9 -> 8
        e / IP(src="192.0.2.99", dst="192.0.2.10", ttl=9, id=777, tos=0x10) /
        UDP(sport=1111, dport=2222) / Raw(b"transit"),
        # 3: transit beyond the subnet -> via the gateway
        e / IP(src="192.0.2.99", dst="198.51.100.7", ttl=64) / TCP(sport=5, dport=6, flags="S"),
        # 4: TTL 1 -> dropped (ttl_expired)
        e / IP(src="192.0.2.99", dst="192.0.2.10", ttl=1) / UDP(sport=1, dport=2),
        # 5: bad IP checksum -> dropped
        e / IP(src="192.0.2.99", dst="192.0.2.10", chksum=0x1234) / UDP(sport=1, dport=2),
        # 6: frame for another MAC -> dropped
        Ether(src=HOST, dst="02:00:00:00:00:77") / IP(src="192.0.2.99", dst="192.0.2.10") / UDP(),
        # 7: Ethernet multicast -> dropped
        Ether(src=HOST, dst="01:00:5e:00:00:01") / IP(src="192.0.2.99", dst="224.0.0.1") / UDP(),
        # 8: IP to the subnet broadcast -> dropped, never forwarded
        e / IP(src="192.0.2.99", dst="192.0.2.255") / UDP(),
        # 9: IPv6 EtherType -> dropped
        Ether(src=HOST, dst=R, type=0x86DD) / Raw(b"\x60" + b"\x00" * 39),
        # 10: truncated IPv4 header -> dropped
        Ether(src=HOST, dst=R, type=0x0800) / Raw(b"\x45\x00\x00"),
        # 11: martian source (multicast) -> dropped
        e / IP(src="224.1.1.1", dst="192.0.2.10") / UDP(),
        # 12: ARP request for another host -> consumed, nothing sent
        Ether(src=HOST, dst="ff:ff:ff:ff:ff:ff") /
        ARP(op=1, hwsrc=HOST, psrc="192.0.2.99", pdst="192.0.2.10"),
        # 13: UDP to the router -> dropped (local protocol not served)
        e / IP(src="192.0.2.99", dst="192.0.2.1") / UDP(sport=9, dport=9),
        # 14: ARP reply from a new neighbour to us -> learned (consumed)
        Ether(src="02:00:00:00:00:32", dst=R) /
        ARP(op=2, hwsrc="02:00:00:00:00:32", psrc="192.0.2.50", hwdst=R, pdst="192.0.2.1"),
        # 15: transit to the learned neighbour -> forwarded with its MAC
        e / IP(src="192.0.2.99", dst="192.0.2.50", ttl=2) / UDP(sport=3, dport=4),
        # 16: transit to an unknown neighbour -> ARP request, held, dropped at shutdown
        e / IP(src="192.0.2.99", dst="192.0.2.77") / UDP(sport=3, dport=4),
        # 17: fragmented echo to the router -> dropped
        e / IP(src="192.0.2.99", dst="192.0.2.1", flags="MF") / ICMP(),
        # 18: ARP claiming the router's own address -> dropped (conflict)
        Ether(src="02:00:00:00:00:66", dst="ff:ff:ff:ff:ff:ff") /
        ARP(op=1, hwsrc="02:00:00:00:00:66", psrc="192.0.2.1", pdst="192.0.2.1"),
        # 19: Ethernet padding: a 60-byte frame whose IP datagram is shorter
        e / IP(src="192.0.2.99", dst="192.0.2.10", ttl=5, id=19) / UDP(sport=7, dport=8) /
        Raw(b"p") / Raw(b"\x00" * 10),
    ]
    # 19: make the frame longer than the datagram (trailing Ethernet padding)
    p19 = pkts[19]
    p19[IP].len = 20 + 8 + 1
    pkts[19] = Ether(bytes(p19))
    r = Run(binary, "basic", tmp).start(BASE_CFG, [(pkts, "out0")]).wait()
    out = r.out()
    c = r.check_invariant()

    arp_replies = [p for p in out if ARP in p and p[ARP].op == 2]
    arp_reqs = [p for p in out if ARP in p and p[ARP].op == 1]
    icmp = [p for p in out if ICMP in p]
    udp_tcp = [p for p in out if IP in p and ICMP not in p]
    if eq(len(arp_replies), 1, "ARP replies"):
        a = arp_replies[0]
        eq(a[Ether].dst, HOST, "ARP reply Ether dst")
        eq(a[Ether].src, R, "ARP reply Ether src")
        eq((a[ARP].hwtype, a[ARP].ptype, a[ARP].hwlen, a[ARP].plen), (1, 0x800, 6, 4),
           "ARP reply header")
        eq(a[ARP].hwsrc, R, "ARP reply sender MAC")
        eq(a[ARP].psrc, "192.0.2.1", "ARP reply sender IP")
        eq(a[ARP].hwdst, HOST, "ARP reply target MAC")
        eq(a[ARP].pdst, "192.0.2.99", "ARP reply target IP")
    if eq(len(arp_reqs), 1, "ARP requests (for 192.0.2.77 only)"):
        q = arp_reqs[0]
        eq(q[Ether].dst, "ff:ff:ff:ff:ff:ff", "ARP request Ether dst")
        eq((q[ARP].hwsrc, q[ARP].psrc, q[ARP].pdst), (R, "192.0.2.1", "192.0.2.77"),
           "ARP request fields")
        eq(q[ARP].hwdst, "00:00:00:00:00:00", "ARP request target MAC")
    if eq(len(icmp), 1, "ICMP packets out"):
        p = icmp[0]
        eq((p[Ether].src, p[Ether].dst), (R, HOST), "echo reply MACs")
        eq((p[IP].src, p[IP].dst), ("192.0.2.1", "192.0.2.99"), "echo reply addresses")
        eq((p[ICMP].type, p[ICMP].code, p[ICMP].id, p[ICMP].seq), (0, 0, 7, 3),
           "echo reply type/code/id/seq")
        eq(bytes(p[ICMP].payload), b"ping-payload-0123456789", "echo reply payload")
        eq(p[IP].ttl, 64, "echo reply TTL")
        check(ip_ok(p), "echo reply IP checksum")
        check(checksum(bytes(p[ICMP])) == 0, "echo reply ICMP checksum")
    eq(len(udp_tcp), 4, "transit packets out (static, gateway, learned, padded)")
    for o, mac in ((pkts[2], "02:00:00:00:00:10"), (pkts[3], "02:00:00:00:00:fe"),
                   (pkts[15], "02:00:00:00:00:32")):
        dst = o[IP].dst
        got = [p for p in udp_tcp if p[IP].dst == dst and p[IP].id == o[IP].id]
        if not eq(len(got), 1, "transit to %s forwarded" % dst):
            continue
        p = got[0]
        eq((p[Ether].src, p[Ether].dst), (R, mac), "transit to %s MACs" % dst)
        eq(p[IP].ttl, o[IP].ttl - 1, "transit to %s TTL" % dst)
        check(ip_ok(p), "transit to %s IP checksum" % dst)
        q, oo = IP(bytes(p[IP])), IP(bytes(o[IP]))
        q.ttl = oo.ttl
        q.chksum = oo.chksum
        eq(bytes(q), bytes(oo), "transit to %s: all but TTL/checksum unchanged" % dst)
    padded = [p for p in udp_tcp if p[IP].ttl == 4]
    if eq(len(padded), 1, "padded frame forwarded"):
        eq(len(bytes(padded[0])), 14 + 29, "padding trimmed before forwarding")

    want = {"rx": len(pkts), "arp_replied": 1, "icmp_echo_replied": 1,
            "drop.ttl_expired": 1, "drop.ip_checksum": 1, "drop.other_host": 1,
            "drop.l2_multicast": 1, "drop.ip_broadcast": 1, "drop.ethertype": 1,
            "drop.ip_malformed": 1, "drop.ip_martian": 1, "drop.local_proto": 1,
            "drop.local_fragment": 1, "drop.arp_conflict": 1, "drop.shutdown": 1,
            "consumed": 2, "generated": 1, "tx": 7, "neigh_queued": 1}
    for k, v in want.items():
        eq(c.get(k, 0), v, "counter %s" % k)


TWO_PORT_CFG = """
ports:
  - { port: 0, address: 198.18.1.254/24 }
  - { port: 1, address: 198.18.2.254/24 }
neighbors:
  - { ip: 198.18.1.1, mac: "02:00:00:00:01:01" }
  - { ip: 198.18.2.2, mac: "02:00:00:00:02:02" }
"""


def two_port(binary, tmp, name, lcores, n=40):
    a = [Ether(src="02:00:00:00:01:01", dst=PCAP_MAC[0]) /
         IP(src="198.18.1.1", dst="198.18.2.2", ttl=64, id=i) / UDP(sport=i, dport=9) /
         Raw(b"a%03d" % i) for i in range(n)]
    b = [Ether(src="02:00:00:00:02:02", dst=PCAP_MAC[1]) /
         IP(src="198.18.2.2", dst="198.18.1.1", ttl=30, id=1000 + i) / UDP(sport=9, dport=i) /
         Raw(b"b%03d" % i) for i in range(n)]
    # port 0 also answers pings on port 1's address (weak host)
    a.append(Ether(src="02:00:00:00:01:01", dst=PCAP_MAC[0]) /
             IP(src="198.18.1.1", dst="198.18.2.254") / ICMP(id=1, seq=1))
    r = Run(binary, name, tmp).start(TWO_PORT_CFG, [(a, "out0"), (b, "out1")],
                                     lcores=lcores).wait()
    c = r.check_invariant()
    out0, out1 = r.out(0), r.out(1)
    fwd1 = [p for p in out1 if UDP in p]
    fwd0 = [p for p in out0 if UDP in p]
    eq(len(fwd1), n, "%s: port 0 -> port 1 forwarded" % name)
    eq(len(fwd0), n, "%s: port 1 -> port 0 forwarded" % name)
    eq(sorted(p[IP].id for p in fwd1), list(range(n)), "%s: port 1 IDs" % name)
    for p in fwd1:
        eq((p[Ether].src, p[Ether].dst, p[IP].ttl), (PCAP_MAC[1], "02:00:00:00:02:02", 63),
           "%s: port 1 frame" % name)
        check(ip_ok(p), "%s: port 1 IP checksum" % name)
        break
    for p in fwd0:
        eq((p[Ether].src, p[Ether].dst, p[IP].ttl), (PCAP_MAC[0], "02:00:00:00:01:01", 29),
           "%s: port 0 frame" % name)
        check(ip_ok(p), "%s: port 0 IP checksum" % name)
        break
    pings = [p for p in out0 if ICMP in p]
    if eq(len(pings), 1, "%s: echo reply on port 0" % name):
        eq(pings[0][IP].src, "198.18.2.254", "%s: echo reply source" % name)
    eq(c.get("rx"), 2 * n + 1, "%s: rx" % name)
    eq(c.get("tx"), 2 * n + 1, "%s: tx" % name)
    eq(c.get("dropped"), 0, "%s: nothing dropped" % name)
    return r


def case_two_port(binary, root, tmp):
    """Two ports, a control lcore and one worker."""
    if os.cpu_count() < 2:
        print("SKIP: needs 2 CPUs for -l 0-1")
        sys.exit(77)
    two_port(binary, tmp, "two-port", "0-1")


def case_handoff(binary, root, tmp):
    """Two single-queue ports, two workers: each worker polls one port and
    hands what it routes to the other port to that port's owner."""
    if os.cpu_count() < 2:
        print("SKIP: needs 2 CPUs")
        sys.exit(77)
    r = two_port(binary, tmp, "handoff", "--lcores=0@0,1@1,2@1")
    c = r.counters()
    check(c.get("handoff_out", 0) >= 80, "handoff: packets crossed workers (%r)" %
          c.get("handoff_out"))
    eq(c.get("handoff_in"), c.get("handoff_out"), "handoff: every hand-off arrived")


def case_signal(binary, root, tmp):
    """No --exit-on-idle: SIGTERM stops it cleanly, TX file complete."""
    pkts = [Ether(src=HOST, dst=PCAP_MAC[0]) /
            IP(src="192.0.2.99", dst="192.0.2.10", id=i) / UDP() for i in range(20)]
    r = Run(binary, "signal", tmp).start(BASE_CFG, [(pkts, "out0")], idle_ms=0)
    deadline = time.time() + 30
    # wait until it runs, then stop it
    while time.time() < deadline:
        if os.path.exists(r.path("out0.pcap")) and r.proc.poll() is None:
            time.sleep(1.0)
            break
        time.sleep(0.1)
    r.proc.send_signal(signal.SIGTERM)
    r.wait()
    c = r.check_invariant()
    eq(c.get("rx"), 20, "signal: rx")
    out = r.out()
    eq(len(out), 20, "signal: every packet in the TX file")
    eq(sorted(p[IP].id for p in out), list(range(20)), "signal: packet IDs")


def proc_status(pid):
    """/proc/<pid>/status as a dict of its fields."""
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def case_privdrop(binary, root, tmp):
    """--user: root until the ports run, then an unprivileged user for good."""
    if os.geteuid() != 0:
        print("SKIP: needs root to have privileges to drop")
        sys.exit(77)
    for spec, why in (("no-such-user-ssr", "no user"), ("nobody:no-such-group-ssr", "no group"),
                      (":65534", "not USER"), ("nobody:", "not USER")):
        p = subprocess.run([binary, "--", "-c", os.path.join(root, "config/default.yaml"),
                            "--user", spec], capture_output=True, text=True, timeout=30)
        eq(p.returncode, 2, "privdrop: --user %s exit status" % spec)
        check(why in p.stderr, "privdrop: --user %s says why: %r" % (spec, p.stderr[-200:]))
    pkts = [Ether(src=HOST, dst=PCAP_MAC[0]) /
            IP(src="192.0.2.99", dst="192.0.2.10", id=i) / UDP() for i in range(20)]
    r = Run(binary, "privdrop", tmp).start(BASE_CFG, [(pkts, "out0")], idle_ms=0,
                                           extra=("--user", "65534:65534"))
    st = {}
    deadline = time.time() + 30
    while time.time() < deadline and r.proc.poll() is None:
        st = proc_status(r.proc.pid)
        if st.get("Uid", "").split() == ["65534"] * 4:
            break
        time.sleep(0.1)
    time.sleep(0.5)
    if r.proc.poll() is None:
        st = proc_status(r.proc.pid)
    eq(st.get("Uid", "").split(), ["65534"] * 4, "privdrop: every uid (real, effective, saved, fs)")
    eq(st.get("Gid", "").split(), ["65534"] * 4, "privdrop: every gid")
    eq(st.get("Groups", "").split(), ["65534"], "privdrop: supplementary groups")
    eq(int(st.get("CapEff", "1"), 16), 0, "privdrop: no effective capability")
    eq(int(st.get("CapPrm", "1"), 16), 0, "privdrop: no permitted capability")
    eq(st.get("NoNewPrivs"), "1", "privdrop: no_new_privs")
    r.proc.send_signal(signal.SIGTERM)
    r.wait()
    check("running as uid 65534 gid 65534" in r.stderr + r.stdout, "privdrop: logged")
    c = r.check_invariant()
    eq(c.get("forwarded"), 20, "privdrop: forwarding went on after the drop")
    eq(sorted(p[IP].id for p in r.out()), list(range(20)), "privdrop: every packet out")


def case_big_map(binary, root, tmp):
    """A service map larger than one grace period's default work queue
    (65536 retirements, 32768 rules) loads in one commit and reloads."""
    n = 40000
    lines = [BASE_CFG.replace("address: 192.0.2.1/24 }",
                              'address: 192.0.2.1/24, mac: "%s" }' % ROUTER_MAC), "services:"]
    for i in range(n):
        lines.append('  - { prefix: "%08x/32", action: forward, targets: [{ address: 192.0.2.10 }] }'
                     % (0x50000000 + i))
    cfg = "\n".join(lines) + "\n"
    pkts = [sal_pkt("192.0.2.%d" % (100 + i), 500 + i, "%08x" % (0x50000000 + i * 997), ip_id=i)
            for i in range(40)]
    r = Run(binary, "big-map", tmp).start(cfg, [(pkts, "out0")], idle_ms=0)
    deadline = time.time() + 90
    while time.time() < deadline and r.proc.poll() is None:
        if os.path.exists(r.path("out0.pcap")) and os.path.getsize(r.path("out0.pcap")) > 24 * 40:
            break
        time.sleep(0.2)
    # a reload replacing every rule at once (twice the map in one commit)
    with open(r.path("router.yaml"), "w") as f:
        f.write(cfg.replace("192.0.2.10 }", "192.0.2.254 }"))
    if r.proc.poll() is None:
        r.proc.send_signal(signal.SIGHUP)
        time.sleep(3.0)
    r.proc.send_signal(signal.SIGTERM)
    r.wait(timeout=120)
    c = r.check_invariant()
    eq(c.get("sal_resolved"), 40, "big-map: every request resolved by a %d-rule map" % n)
    eq(sorted(p[IP].id for p in r.out()), list(range(40)), "big-map: every request out")
    check(re.search(r"reload: %d (service )?rule\(s\) from .* in force" % n,
                    r.stdout + r.stderr) is not None,
          "big-map: the reload replacing every rule was taken")


def case_check(binary, root, tmp):
    """--check: valid files exit 0, bad ones print every error and exit 1."""
    for f in ["config/default.yaml", "config/examples/one-arm.yaml",
              "config/examples/two-port.yaml", "config/examples/gateway.yaml"]:
        p = subprocess.run([binary, "--", "-c", os.path.join(root, f), "--check"],
                           capture_output=True, text=True, timeout=30)
        eq(p.returncode, 0, "--check %s exit status" % f)
        check("OK" in p.stdout, "--check %s says OK" % f)
    bad = os.path.join(root, "tests/data/config/bad-many.yaml")
    p = subprocess.run([binary, "--", "-c", bad, "--check"], capture_output=True, text=True,
                       timeout=30)
    eq(p.returncode, 1, "--check bad-many.yaml exit status")
    lines = p.stderr.strip().splitlines()
    eq(len(lines), 6, "--check bad-many.yaml prints every error")
    check(lines and lines[0] == bad + ":5:11: ports[0].port: 40 is outside 0..31",
          "--check first message: %r" % (lines[:1],))
    p = subprocess.run([binary, "--", "--check"], capture_output=True, text=True, timeout=30)
    eq(p.returncode, 2, "missing -c exit status")
    p = subprocess.run([binary, "--", "-c", os.path.join(tmp, "missing.yaml"), "--check"],
                       capture_output=True, text=True, timeout=30)
    eq(p.returncode, 1, "missing file exit status")
    check("cannot read" in p.stderr, "missing file message")


INTEROP_CFG = """
ports:
  - { port: 0, address: 198.18.1.254/24, mac: "32:1b:a8:1a:31:4d" }
  - { port: 1, address: 198.18.2.254/24, mac: "16:db:5e:11:df:18" }
neighbors:
  - { ip: 198.18.1.1, mac: "66:84:42:cf:e6:14" }
  - { ip: 198.18.2.2, mac: "3e:46:ef:f5:fd:4c" }
services:
  - prefix: "00004001/256"
    action: forward
    targets: [{ address: 198.18.2.2 }]
"""


def case_interop(binary, root, tmp):
    """Stand in for the original Serval router of tests/data/upstream: replay
    what the client and the server sent, and compare what serval-sr sends
    with what the original router sent, byte for byte (the config gives the
    ports the original router's MACs)."""
    up = os.path.join(root, "tests/data/upstream")
    rin = list(rdpcap(os.path.join(up, "router-in.pcap")))
    rout = list(rdpcap(os.path.join(up, "router-out.pcap")))
    router0, router1 = "32:1b:a8:1a:31:4d", "16:db:5e:11:df:18"
    from_client = [p for p in rin if p[Ether].src != router0]
    to_client = [p for p in rin if p[Ether].src == router0]
    from_server = [p for p in rout if p[Ether].src != router1]
    to_server = [p for p in rout if p[Ether].src == router1]
    r = Run(binary, "interop", tmp).start(INTEROP_CFG, [(from_client, "out0"),
                                                        (from_server, "out1")]).wait()
    c = r.check_invariant()
    out0, out1 = r.out(0), r.out(1)
    eq(len(out1), len(to_server), "interop: packets toward the server")
    eq(len(out0), len(to_client), "interop: packets toward the client")
    if out1 and to_server:
        got, want = out1[0], to_server[0]
        # the resolved SYN: IP, SAL and TCP bytes equal to the original's
        eq(bytes(got[IP]), bytes(want[IP]), "interop: resolved SYN (IP, SAL, TCP bytes)")
        eq((got[Ether].src, got[Ether].dst), (want[Ether].src, want[Ether].dst),
           "interop: resolved SYN MACs")
    for i, (got, want) in enumerate(zip(out1[1:], to_server[1:])):
        eq(bytes(got), bytes(want), "interop: packet %d toward the server" % (i + 1))
    for i, (got, want) in enumerate(zip(out0, to_client)):
        eq(bytes(got), bytes(want), "interop: packet %d toward the client" % i)
    eq(c.get("sal_resolved"), 1, "interop: one SYN resolved")
    eq(c.get("forwarded"), len(from_client) + len(from_server) - 1,
       "interop: the rest forwarded by IP")
    eq(c.get("dropped"), 0, "interop: nothing dropped")


# ---- SAL data path ----

M64 = (1 << 64) - 1


def flow_hash(a, b):
    """svctable_flow_hash(), as documented in lib/svctable/svctable.h."""
    x = ((a << 32) | b) ^ 0x5356435441424c45
    x = ((x ^ (x >> 31)) * 0x9e3779b97f4a7c15) & M64
    x = ((x ^ (x >> 29)) * 0xbf58476d1ce4e5b9) & M64
    return x ^ (x >> 32)


def ip_int(a):
    return int.from_bytes(bytes(int(x) for x in a.split(".")), "big")


def lut_bits_rule(root):
    """The lut size rule of lib/svctable/svctable.h: a fixed SVCTABLE_LUT_BITS
    when the header defines it, else the earlier clamp(ceil(log2 n) + 13)."""
    with open(os.path.join(root, "lib/svctable/svctable.h")) as f:
        m = re.search(r"#define SVCTABLE_LUT_BITS (\d+)", f.read())
    if m:
        return lambda n: int(m.group(1))
    return lambda n: min(16, max(14, math.ceil(math.log2(n)) + 13))


class PickOracle:
    """svctable_pick() rebuilt from the documented lut fill (weighted
    rendezvous per entry), independent of the library's code."""

    def __init__(self, targets, bits_rule):
        """targets: list of (address, weight, priority); ids are the addresses
        as host-order integers (app/services.c)."""
        groups = sorted({p for _a, w, p in targets if w > 0}, reverse=True)
        top = groups[0]
        self.active = sorted([(ip_int(a), w, a) for a, w, p in targets if p == top and w > 0])
        n = len(self.active)
        self.bits = 0 if n == 1 else bits_rule(n)
        self.lut = []
        for j in range(1 << self.bits):
            best, best_score = None, None
            for tid, w, a in self.active:
                h = flow_hash(tid, j)
                u = ((h >> 11) + 0.5) / 2.0 ** 53
                score = -math.log(u) / w
                if best is None or score < best_score:
                    best, best_score = a, score
            self.lut.append(best)

    def pick(self, client, flowid):
        h = flow_hash(ip_int(client), flowid)
        return self.lut[(h >> 1) >> (63 - self.bits)]


ROUTER_MAC = "02:00:00:00:00:01"
SAL_CFG = """
ports:
  - { port: 0, address: 192.0.2.1/24, mac: "02:00:00:00:00:01" }
neighbors:
  - { ip: 192.0.2.10, mac: "02:00:00:00:00:10" }
  - { ip: 192.0.2.11, mac: "02:00:00:00:00:11" }
  - { ip: 192.0.2.12, mac: "02:00:00:00:00:12" }
  - { ip: 192.0.2.100, mac: "02:00:00:00:00:99" }   # a client: RSTs go back to it
services:
  - prefix: "00015b38/32"
    action: forward
    targets:
      - { address: 192.0.2.10, weight: 3 }
      - { address: 192.0.2.11, weight: 1 }
  - prefix: "0000ab/24"
    action: forward
    targets:
      - { address: 192.0.2.12, priority: 5 }
      - { address: 192.0.2.10, priority: 1 }
  - { prefix: "dead/16", action: drop }
  - { prefix: "0000000e/32", action: local }
  - prefix: "0000ab12/32"
    action: forward
    mode: gateway
    targets: [{ address: 192.0.2.11 }]
"""


def sal_pkt(client, flowid, service=None, flags="SYN", dst="192.0.2.1", nonce=1, ttl=64,
            source=None, dst_flowid=0, transport="tcp", ip_id=1, services=None):
    ext = []
    if flags is not None:
        ext.append(SALControl(flags=flags, verno=100 + flowid, nonce=nonce))
    for sv in (services or ([service] if service else [])):
        ext.append(SALService(service_id=sid(sv)))
    if source is not None:
        ext.append(SALSource(addrs=source))
    l4 = TCP(sport=0, dport=0, flags="S", seq=flowid) if transport == "tcp" else \
        UDP(sport=0, dport=0) / Raw(b"datagram")
    if transport is None:
        l4 = Raw(b"")
    return (Ether(src=HOST, dst=ROUTER_MAC) /
            IP(src=client, dst=dst, ttl=ttl, id=ip_id) /
            SAL(src_flowid=flowid, dst_flowid=dst_flowid, ext=ext) / l4)


def check_resolved(p, o, target, mac, source, what):
    """p: what left; o: what came in; the original router's edits only."""
    eq(p[IP].dst, target, what + ": IP destination")
    eq((p[IP].src, p[IP].id, p[IP].ttl), (o[IP].src, o[IP].id, o[IP].ttl - 1),
       what + ": IP source, ID kept, TTL - 1")
    eq((p[Ether].src, p[Ether].dst), (ROUTER_MAC, mac), what + ": MACs")
    check(ip_ok(p), what + ": IP checksum")
    check(sal_checksum_ok(p), what + ": SAL checksum")
    check(transport_checksum_ok(p), what + ": transport checksum")
    eq(p[SAL].source_addrs(), source, what + ": SOURCE")
    eq((p[SAL].src_flowid, p[SAL].dst_flowid), (o[SAL].src_flowid, o[SAL].dst_flowid),
       what + ": flowIDs kept")
    eq(p[SAL].service_ids(), o[SAL].service_ids(), what + ": SERVICE kept")
    pw, ow = bytes(Ether(bytes(p))[SAL].payload), bytes(Ether(bytes(o))[SAL].payload)
    ck = (16, 18) if TCP in o else (6, 8)
    eq(pw[:ck[0]] + pw[ck[1]:], ow[:ck[0]] + ow[ck[1]:], what + ": transport bytes but checksum")


def case_sal(binary, root, tmp):
    """Connection requests to the router: resolve (consistent weighted
    choice, checked against an independent oracle), priorities, SOURCE,
    drop and no-match rules, malformed SAL, the unsupported actions."""
    macs = {"192.0.2.10": "02:00:00:00:00:10", "192.0.2.11": "02:00:00:00:00:11",
            "192.0.2.12": "02:00:00:00:00:12"}
    web = PickOracle([("192.0.2.10", 3, 0), ("192.0.2.11", 1, 0)], lut_bits_rule(root))
    pkts, expect = [], []       # expect: (index in pkts, target, SOURCE) per resolved one
    for i in range(48):
        client = "192.0.2.%d" % (100 + i % 7)
        pkts.append(sal_pkt(client, 1000 + i, "00015b38", nonce=i, ip_id=i))
        expect.append((len(pkts) - 1, web.pick(client, 1000 + i), [client, "192.0.2.1"]))
    # a retransmission: the same target
    pkts.append(sal_pkt("192.0.2.100", 1000, "00015b38", nonce=0, ip_id=500))
    expect.append((len(pkts) - 1, web.pick("192.0.2.100", 1000), ["192.0.2.100", "192.0.2.1"]))
    # priority 5 beats priority 1
    pkts.append(sal_pkt("192.0.2.120", 7, "0000ab01", ip_id=501))
    expect.append((len(pkts) - 1, "192.0.2.12", ["192.0.2.120", "192.0.2.1"]))
    # a request that crossed another router: SOURCE[0] is the client, we append
    pkts.append(sal_pkt("192.0.2.77", 8, "00015b38", source=["10.9.9.9", "198.51.100.1"],
                        ip_id=502))
    expect.append((len(pkts) - 1, web.pick("10.9.9.9", 8),
                   ["10.9.9.9", "198.51.100.1", "192.0.2.1"]))
    # a connectionless datagram (two SERVICE extensions, UDP)
    pkts.append(sal_pkt("192.0.2.121", 9, flags=None, services=["00015b38", "55555"],
                        transport="udp", ip_id=503))
    expect.append((len(pkts) - 1, web.pick("192.0.2.121", 9), ["192.0.2.121", "192.0.2.1"]))
    n_ok = len(pkts)
    drops = [
        (sal_pkt("192.0.2.100", 20, "deadbeef"), "drop.sal_rule_drop"),
        (sal_pkt("192.0.2.100", 21, "12345678"), "drop.sal_no_service"),
        (sal_pkt("192.0.2.100", 22, flags=None, services=["0000000e", "55555"],
                 transport="udp"), "drop.sal_local_unsupported"),
        (sal_pkt("192.0.2.100", 23, flags=None, services=["0000ab12", "55555"],
                 transport="udp"), "drop.sal_gateway_datagram"),
        (sal_pkt("192.0.2.100", 24, "00015b38", source=["192.0.2.100", "192.0.2.1"]),
         "drop.sal_loop"),
        (sal_pkt("192.0.2.100", 25, "00015b38", ttl=1), "drop.ttl_expired"),
        (sal_pkt("192.0.2.100", 26, None, flags="FIN", transport=None), "drop.sal_not_syn"),
        (sal_pkt("192.0.2.100", 27, None, flags="ACK", dst_flowid=99), "drop.sal_no_flow"),
    ]
    bad = sal_pkt("192.0.2.100", 28, "00015b38")
    bad[SAL].check = 0x1234
    drops.append((Ether(bytes(bad)), "drop.sal_malformed"))
    pkts += [d for d, _ in drops]
    # transit SAL to another host: plain IP forwarding
    pkts.append(sal_pkt("192.0.2.100", 30, "00015b38", dst="192.0.2.10", ip_id=600))

    r = Run(binary, "sal", tmp).start(SAL_CFG, [(pkts, "out0")]).wait()
    c = r.check_invariant()
    out = [p for p in r.out() if SAL in p]
    by_id = {p[IP].id: p for p in out}
    for idx, target, source in expect:
        o = pkts[idx]
        p = by_id.get(o[IP].id)
        if not check(p is not None, "sal: request %d (IP ID %d) left" % (idx, o[IP].id)):
            continue
        check_resolved(p, o, target, macs[target], source, "sal: request %d" % idx)
    shares = {}
    for idx, target, _s in expect[:48]:
        shares[target] = shares.get(target, 0) + 1
    check(len(shares) == 2, "sal: both targets of 00015b38 used (%r)" % shares)
    t = by_id.get(600)
    if check(t is not None, "sal: transit SAL forwarded"):
        eq((t[IP].dst, t[IP].ttl, t[SAL].source_addrs()), ("192.0.2.10", 63, []),
           "sal: transit SAL untouched but TTL")
    eq(c.get("sal_resolved"), n_ok, "sal: resolved")
    for _d, name in drops:
        eq(c.get(name), 1, "sal: counter " + name)
    eq(c.get("dropped"), len(drops), "sal: dropped")
    rsts = [p for p in out if p[SAL].control() is not None and
            int(p[SAL].control().flags) & 0x08]
    eq(len(out), n_ok + 1 + 2, "sal: SAL packets out (resolved, transit, 2 RSTs)")
    eq(c.get("sal_rst_sent"), 2, "sal: RSTs for the packets of no flow")
    nf = [p for p in rsts if p[SAL].src_flowid == 99]
    if eq(len(nf), 1, "sal: RST for the packet to flowID 99"):
        p = nf[0]
        eq((p[IP].src, p[IP].dst, p[SAL].dst_flowid), ("192.0.2.1", "192.0.2.100", 27),
           "sal: RST addresses and flowIDs swapped")
        eq(int(p[SAL].control().flags), 0x08, "sal: RST only (the packet carried ACK)")
        eq(p[SAL].control().nonce, 1, "sal: RST carries the packet's nonce")
        eq(len(p[SAL].payload), 0, "sal: RST without transport header")
        check(ip_ok(p) and sal_checksum_ok(p), "sal: RST checksums")
    fin = [p for p in rsts if p[SAL].dst_flowid == 26]
    if eq(len(fin), 1, "sal: RST for the stray FIN"):
        ctl = fin[0][SAL].control()
        eq((int(ctl.flags), ctl.ackno), (0x08 | 0x20, 126 + 1), "sal: RST+ACK past the FIN")


DELAY_CFG = """
ports:
  - { port: 0, address: 192.0.2.1/24, mac: "02:00:00:00:00:01" }
neighbors:
  - { ip: 192.0.2.10, mac: "02:00:00:00:00:10" }
services:
  - prefix: "0000ff/24"
    action: delay
    delay: { queue: %d, timeout_ms: %d }
"""

RELEASED_CFG = """
ports:
  - { port: 0, address: 192.0.2.1/24, mac: "02:00:00:00:00:01" }
neighbors:
  - { ip: 192.0.2.10, mac: "02:00:00:00:00:10" }
services:
  - prefix: "0000ff/24"
    action: forward
    targets: [{ address: 192.0.2.10 }]
"""


def case_delay(binary, root, tmp):
    """Delay rule: a bounded queue (overflow counted), a timeout (counted)."""
    pkts = [sal_pkt("192.0.2.100", 40 + i, "0000ff42", ip_id=i) for i in range(5)]
    r = Run(binary, "delay", tmp).start(DELAY_CFG % (2, 200), [(pkts, "out0")],
                                        idle_ms=1000).wait()
    c = r.check_invariant()
    eq(c.get("sal_delayed"), 5, "delay: requests handed to the delay queue")
    eq(c.get("drop.sal_delay_full"), 3, "delay: overflow beyond 2 counted")
    eq(c.get("drop.sal_delay_timeout"), 2, "delay: held ones time out after 200 ms")
    eq(len(r.out()), 0, "delay: nothing sent")


def case_reload(binary, root, tmp):
    """SIGHUP: a config with errors changes nothing; a good one replaces the
    rules at once, and held requests are released through the new rule."""
    pkts = [sal_pkt("192.0.2.100", 50 + i, "0000ff42", ip_id=i) for i in range(3)]
    r = Run(binary, "reload", tmp).start(DELAY_CFG % (8, 60000), [(pkts, "out0")], idle_ms=0)
    cfg = r.path("router.yaml")
    time.sleep(1.5)
    with open(cfg, "w") as f:
        f.write(RELEASED_CFG.replace("action: forward", "action: forwad"))
    r.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    with open(cfg, "w") as f:
        f.write(RELEASED_CFG)
    r.proc.send_signal(signal.SIGHUP)
    time.sleep(1.0)
    r.proc.send_signal(signal.SIGTERM)
    r.wait()
    c = r.check_invariant()
    log = r.stderr + r.stdout
    check(re.search(r"reload: .*router\.yaml has 1 error; the running rules are unchanged",
                    log) is not None and "'forwad' is not one of" in log,
          "reload: the bad file is reported, with its error")
    eq(c.get("sal_delay_released"), 3, "reload: held requests released")
    eq(c.get("sal_resolved"), 3, "reload: released requests resolved")
    out = r.out()
    eq(sorted(p[IP].id for p in out if SAL in p), [0, 1, 2], "reload: all three left")
    for p in out:
        check_resolved(p, pkts[p[IP].id], "192.0.2.10", "02:00:00:00:00:10",
                       ["192.0.2.100", "192.0.2.1"], "reload: released %d" % p[IP].id)


GATEWAY_CFG = """
ports:
  - { port: 0, address: 192.0.2.1/24, mac: "02:00:00:00:00:01" }
neighbors:
  - { ip: 192.0.2.100, mac: "02:00:00:00:00:99" }
  - { ip: 192.0.2.101, mac: "02:00:00:00:00:99" }
  - { ip: 192.0.2.20, mac: "02:00:00:00:00:20" }
services:
  - prefix: "0000abcd/32"
    action: forward
    mode: gateway
    targets: [{ address: 192.0.2.20 }]
"""


class Veth:
    """A veth pair: the router's end runs net_af_packet, scapy uses the other."""

    def __init__(self, router=None, peer=None):
        tag = "%d" % (os.getpid() % 100000)
        self.router, self.peer = router or "ssrr" + tag, peer or "ssrp" + tag
        try:
            p = subprocess.run(["ip", "link", "add", self.router, "type", "veth", "peer",
                                "name", self.peer], capture_output=True, text=True)
        except FileNotFoundError:
            print("SKIP: no 'ip' command (apt-get install iproute2)")
            sys.exit(77)
        if p.returncode != 0:
            print("SKIP: cannot create a veth pair (%s)" % p.stderr.strip())
            sys.exit(77)
        for ifc in (self.router, self.peer):
            # keep the kernel quiet on the test link (no IPv6 autoconf chatter)
            try:
                with open("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % ifc, "w") as f:
                    f.write("1")
            except OSError:
                pass
            subprocess.run(["ip", "link", "set", ifc, "up"], check=True)

    def close(self):
        subprocess.run(["ip", "link", "del", self.router], capture_output=True)


class Live:
    """serval-sr on one end of a veth pair (net_af_packet), scapy on the
    other: send a frame, collect what the router sends back."""

    def __init__(self, binary, name, tmp, config_text):
        from scapy.all import AsyncSniffer, sendp
        if os.geteuid() != 0:
            print("SKIP: needs root for a veth pair")
            sys.exit(77)
        self.sendp = sendp
        self.veth = Veth()
        self.r = Run(binary, name, tmp)
        self.name = name
        cfg = self.r.path("router.yaml")
        with open(cfg, "w") as f:
            f.write(config_text)
        args = [binary] + EAL + ["--file-prefix=ssr-it-%s-%d" % (name, os.getpid()), "-l", "0",
                                 "--vdev=net_af_packet0,iface=%s" % self.veth.router,
                                 "--", "-c", cfg]
        self.r.args = args
        self.r.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True)
        self.out, self.err = [], []
        self.readers = [threading.Thread(target=self._read, args=(self.r.proc.stdout, self.out)),
                        threading.Thread(target=self._read, args=(self.r.proc.stderr, self.err))]
        for t in self.readers:
            t.start()
        # wait for the router to run: it takes the link down and up on start
        deadline = time.time() + 60
        while time.time() < deadline and self.r.proc.poll() is None and \
                not any("running" in line for line in self.out + self.err):
            time.sleep(0.1)
        time.sleep(0.3)
        self.results = []
        self.sniffer = AsyncSniffer(iface=self.veth.peer, store=False, prn=self.results.append,
                                    lfilter=lambda p: Ether in p and p[Ether].src == ROUTER_MAC)
        self.sniffer.start()
        # then until it answers a ping (the sniffer and the link are up)
        ping = Ether(src=HOST, dst=ROUTER_MAC) / IP(src="192.0.2.100", dst="192.0.2.1") / \
            ICMP(id=99)
        deadline = time.time() + 20
        while time.time() < deadline and self.r.proc.poll() is None and \
                not any(ICMP in p for p in self.results):
            sendp(ping, iface=self.veth.peer, verbose=False)
            time.sleep(0.3)
        check(any(ICMP in p for p in self.results), "%s: the router answers a ping" % name)
        self.seen = len(self.results)

    @staticmethod
    def _read(stream, lines):
        for line in stream:
            lines.append(line)

    def collect(self, want, timeout=5.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = [p for p in self.results[self.seen:] if SAL in p]
            if len(got) >= want:
                break
            time.sleep(0.05)
        got = [p for p in self.results[self.seen:] if SAL in p]
        self.seen = len(self.results)
        return got

    def exchange(self, pkt, what, want=1, timeout=5.0):
        """Send pkt; return the first `want` SAL packets out (None if fewer)."""
        self.sendp(pkt, iface=self.veth.peer, verbose=False)
        got = self.collect(want, timeout)
        if not check(len(got) >= want, "%s: %s: %d packet(s) out, want %d" %
                     (self.name, what, len(got), want)):
            return None
        return got[0] if want == 1 else got[:want]

    def quiet(self, pkt, what):
        self.sendp(pkt, iface=self.veth.peer, verbose=False)
        time.sleep(0.5)
        got = self.collect(0, 0)
        eq(len(got), 0, "%s: %s: nothing out" % (self.name, what))

    def stop(self):
        self.sniffer.stop()
        self.r.proc.send_signal(signal.SIGTERM)
        try:
            self.r.rc = self.r.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.r.proc.kill()
            self.r.rc = self.r.proc.wait()
        for t in self.readers:
            t.join()
        remove_runtime_dir(self.r.args)
        self.r.stdout, self.r.stderr = "".join(self.out), "".join(self.err)
        if not eq(self.r.rc, 0, "%s: exit status" % self.name):
            print(self.r.stdout)
            print(self.r.stderr)
        return self.r.check_invariant()

    def close(self):
        if self.r.proc.poll() is None:
            self.r.proc.kill()
            self.r.proc.wait()
        for t in self.readers:
            t.join()
        remove_runtime_dir(self.r.args)
        self.veth.close()


def case_gateway(binary, root, tmp):
    """Gateway mode over a live link (veth + net_af_packet, scapy on the
    other end): handshake, data both ways, a retransmitted SYN, client
    migration with the right and a wrong nonce, unknown flowIDs."""
    live = Live(binary, "gateway", tmp, GATEWAY_CFG)
    try:
        _gateway(live)
    finally:
        live.close()


def _gateway(live):
    inst_mac = "02:00:00:00:00:20"
    exchange, quiet = live.exchange, live.quiet
    C, I, N, M = 0x111, 0x222, 0x4e4e4e4e, 0x4d4d4d4d
    client = Ether(src=HOST, dst=ROUTER_MAC) / IP(src="192.0.2.100", dst="192.0.2.1")
    inst = Ether(src=inst_mac, dst=ROUTER_MAC) / IP(src="192.0.2.20", dst="192.0.2.1")
    syn = client / SAL(src_flowid=C, ext=[SALControl(flags="SYN", verno=1, nonce=N),
                                          SALService(service_id=sid("0000abcd"))]) / \
        TCP(sport=0, dport=0, flags="S")
    out = exchange(syn, "SYN")
    if out is None:
        live.stop()
        print(live.r.stderr)
        return
    R1 = out[SAL].src_flowid
    R0 = R1 & ~1
    check(R1 & 1 == 1 and R0 != 0, "gateway: instance-side router flowID is odd (%#x)" % R1)
    eq((out[IP].src, out[IP].dst, out[IP].ttl), ("192.0.2.1", "192.0.2.20", 63),
       "gateway: SYN addresses and TTL")
    eq((out[Ether].dst, out[SAL].dst_flowid), (inst_mac, 0), "gateway: SYN MAC, dst_flowid")
    eq(out[SAL].source_addrs(), [], "gateway: no SOURCE (the router stays on the path)")
    eq(out[SAL].service_ids(), syn[SAL].service_ids(), "gateway: SERVICE kept")
    eq(out[SAL].control().nonce, N, "gateway: nonce kept")
    check(ip_ok(out) and sal_checksum_ok(out) and transport_checksum_ok(out),
          "gateway: SYN checksums")

    again = exchange(syn, "retransmitted SYN")
    if again is not None:
        eq(again[SAL].src_flowid, R1, "gateway: a retransmitted SYN keeps its flow")

    synack = inst / SAL(src_flowid=I, dst_flowid=R1,
                        ext=[SALControl(flags="SYN+ACK", verno=7, ackno=2, nonce=M)]) / \
        TCP(sport=0, dport=0, flags="SA")
    out = exchange(synack, "SYN-ACK")
    if out is not None:
        eq((out[IP].src, out[IP].dst), ("192.0.2.1", "192.0.2.100"), "gateway: SYN-ACK addresses")
        eq((out[SAL].src_flowid, out[SAL].dst_flowid), (R0, C), "gateway: SYN-ACK flowIDs")
        eq(out[Ether].dst, HOST, "gateway: SYN-ACK MAC")
        check(ip_ok(out) and sal_checksum_ok(out) and transport_checksum_ok(out),
              "gateway: SYN-ACK checksums")

    ack = client / SAL(src_flowid=C, dst_flowid=R0,
                       ext=[SALControl(flags="ACK", verno=2, ackno=8, nonce=N),
                            SALService(service_id=sid("0000abcd"))]) / TCP(flags="A")
    out = exchange(ack, "client ACK")
    if out is not None:
        eq((out[IP].src, out[IP].dst), ("192.0.2.1", "192.0.2.20"), "gateway: ACK addresses")
        eq((out[SAL].src_flowid, out[SAL].dst_flowid), (R1, I), "gateway: ACK flowIDs")

    data = client / SAL(src_flowid=C, dst_flowid=R0) / TCP(flags="PA") / Raw(b"hello")
    out = exchange(data, "client data")
    if out is not None:
        eq(bytes(out[TCP].payload), b"hello", "gateway: client data payload")
        check(transport_checksum_ok(out) and sal_checksum_ok(out), "gateway: data checksums")
        eq((out[SAL].src_flowid, out[SAL].dst_flowid, out[IP].dst), (R1, I, "192.0.2.20"),
           "gateway: client data flowIDs")
    back = inst / SAL(src_flowid=I, dst_flowid=R1) / TCP(flags="PA") / Raw(b"world")
    out = exchange(back, "instance data")
    if out is not None:
        eq((out[SAL].src_flowid, out[SAL].dst_flowid, out[IP].dst), (R0, C, "192.0.2.100"),
           "gateway: instance data flowIDs")

    moved = Ether(src=HOST, dst=ROUTER_MAC) / IP(src="192.0.2.101", dst="192.0.2.1")
    quiet(moved / SAL(src_flowid=C, dst_flowid=R0,
                      ext=[SALControl(flags="RSYN", verno=3, nonce=N + 1)]),
          "RSYN with a wrong nonce")
    quiet(moved / SAL(src_flowid=C, dst_flowid=R0) / TCP(flags="A"),
          "data from a new address without RSYN")
    out = exchange(moved / SAL(src_flowid=C, dst_flowid=R0,
                               ext=[SALControl(flags="RSYN", verno=3, nonce=N)]), "RSYN")
    if out is not None:
        eq((out[IP].src, out[IP].dst, out[SAL].dst_flowid), ("192.0.2.1", "192.0.2.20", I),
           "gateway: RSYN relayed to the instance")
    out = exchange(back, "instance data after migration")
    if out is not None:
        eq(out[IP].dst, "192.0.2.101", "gateway: the flow follows the client")
    rst = exchange(inst / SAL(src_flowid=I, dst_flowid=R1 ^ 0x100) / TCP(), "unknown flowID")
    if rst is not None:
        eq((rst[IP].dst, int(rst[SAL].control().flags) & 0x08), ("192.0.2.20", 0x08),
           "gateway: RST for an unknown flowID")
    quiet(Ether(src=HOST, dst=ROUTER_MAC) / IP(src="192.0.2.77", dst="192.0.2.1") /
          SAL(src_flowid=5, dst_flowid=R0) / TCP(), "a stranger on the flow")

    c = live.stop()
    eq(c.get("sal_flows_created"), 1, "gateway: one flow")
    eq(c.get("sal_migrated"), 1, "gateway: one migration")
    eq(c.get("drop.sal_nonce_mismatch"), 1, "gateway: wrong nonce counted")
    eq(c.get("drop.sal_flow_mismatch"), 2, "gateway: mismatches counted")
    eq(c.get("drop.sal_no_flow"), 1, "gateway: unknown flowID counted")
    eq(c.get("sal_gateway"), 8, "gateway: packets relayed")


LOCAL_CFG = """
ports:
  - { port: 0, address: 192.0.2.1/24, mac: "02:00:00:00:00:01" }
neighbors:
  - { ip: 192.0.2.100, mac: "02:00:00:00:00:99" }
services:
  - { prefix: "0000000e/32", action: local }
"""


def case_local(binary, root, tmp):
    """A flow the router terminates (action local, the SAL echo service),
    over a live link: SAL handshake with TCP's, data echoed, a duplicate
    ACK for out-of-order data, SAL close both ways, SYN+ACK retransmission."""
    live = Live(binary, "local", tmp, LOCAL_CFG)
    try:
        _local(live)
    finally:
        live.close()


def _local(live):
    C, N, c, x = 0x31, 0x5151, 1000, 5000
    ip = Ether(src=HOST, dst=ROUTER_MAC) / IP(src="192.0.2.100", dst="192.0.2.1")
    svc = SALService(service_id=sid("0000000e"))
    syn = ip / SAL(src_flowid=C, ext=[SALControl(flags="SYN", verno=c, nonce=N), svc]) / \
        TCP(sport=0, dport=0, flags="S", seq=x)
    sa = live.exchange(syn, "SYN")
    if sa is None:
        live.stop()
        print(live.r.stderr)
        return
    ctl = sa[SAL].control()
    L, s_isn, y = sa[SAL].src_flowid, ctl.verno, sa[TCP].seq
    check(L != 0, "local: our flowID is not 0")
    eq((sa[IP].src, sa[IP].dst, sa[IP].ttl), ("192.0.2.1", "192.0.2.100", 64),
       "local: SYN+ACK addresses")
    eq(sa[SAL].dst_flowid, C, "local: SYN+ACK to the client's flowID")
    eq(int(ctl.flags), 0x80 | 0x20, "local: SAL SYN+ACK")
    eq(ctl.ackno, c + 1, "local: SAL ackno")
    eq((str(sa[TCP].flags), sa[TCP].ack), ("SA", x + 1), "local: TCP SYN+ACK")
    check(ip_ok(sa) and sal_checksum_ok(sa) and transport_checksum_ok(sa),
          "local: SYN+ACK checksums")
    M = ctl.nonce
    again = live.exchange(syn, "retransmitted SYN")
    if again is not None:
        eq((again[SAL].src_flowid, again[SAL].control().verno, again[TCP].seq), (L, s_isn, y),
           "local: the SYN+ACK again, same flow")

    ack = ip / SAL(src_flowid=C, dst_flowid=L,
                   ext=[SALControl(flags="ACK", verno=c + 1, ackno=s_isn + 1, nonce=N), svc]) / \
        TCP(flags="A", seq=x + 1, ack=y + 1)
    live.quiet(ack, "handshake ACK")
    msg = b"hello serval echo"
    echo = live.exchange(ip / SAL(src_flowid=C, dst_flowid=L) /
                         TCP(flags="PA", seq=x + 1, ack=y + 1) / Raw(msg), "data")
    if echo is not None:
        eq(bytes(echo[TCP].payload), msg, "local: data echoed")
        eq((echo[TCP].seq, echo[TCP].ack), (y + 1, x + 1 + len(msg)), "local: echo numbers")
        eq((echo[SAL].src_flowid, echo[SAL].dst_flowid, echo[SAL].shl), (L, C, 3),
           "local: echo SAL header")
        check(sal_checksum_ok(echo) and transport_checksum_ok(echo), "local: echo checksums")
    dup = live.exchange(ip / SAL(src_flowid=C, dst_flowid=L) /
                        TCP(flags="PA", seq=x + 99, ack=y + 1) / Raw(b"zz"), "out-of-order data")
    if dup is not None:
        eq((dup[TCP].ack, len(dup[TCP].payload)), (x + 1 + len(msg), 0),
           "local: duplicate ACK for out-of-order data")
    rst = live.exchange(ip / SAL(src_flowid=C + 1, dst_flowid=L) / TCP(flags="A"),
                        "wrong peer flowID")
    if rst is not None:
        eq((int(rst[SAL].control().flags) & 0x08, rst[SAL].src_flowid), (0x08, L),
           "local: RST for a packet of no flow")
    live.quiet(ip / SAL(src_flowid=C, dst_flowid=L,
                        ext=[SALControl(flags="ACK", verno=c + 1, ackno=s_isn + 1,
                                        nonce=N + 1)]), "wrong nonce")
    fin = ip / SAL(src_flowid=C, dst_flowid=L,
                   ext=[SALControl(flags="FIN", verno=c + 1, ackno=s_isn + 1, nonce=N)])
    got = live.exchange(fin, "SAL FIN", want=2)
    if got is not None:
        a, f = got
        eq((str(a[SAL].control().flags), a[SAL].control().ackno), ("ACK", c + 2),
           "local: the FIN acknowledged")
        eq((str(f[SAL].control().flags), f[SAL].control().verno), ("FIN", s_isn + 1),
           "local: our FIN follows")
        eq(f[SAL].control().nonce, M, "local: our nonce in the FIN")
        eq(len(f[SAL].payload), 0, "local: control-only FIN")
    live.quiet(ip / SAL(src_flowid=C, dst_flowid=L,
                        ext=[SALControl(flags="ACK", verno=c + 2, ackno=s_isn + 2, nonce=N)]),
               "last ACK")
    rst = live.exchange(ip / SAL(src_flowid=C, dst_flowid=L) / TCP(flags="PA", seq=x + 1) /
                        Raw(b"late"), "data after close")
    if rst is not None:
        eq(int(rst[SAL].control().flags) & 0x08, 0x08, "local: RST for data after close")
    # no ACK for this one's SYN+ACK: it is sent again after the RTO
    live.sendp(ip / SAL(src_flowid=C + 7, ext=[SALControl(flags="SYN", verno=1, nonce=7), svc]) /
               TCP(flags="S", seq=1), iface=live.veth.peer, verbose=False)
    got = live.collect(2, timeout=4.0)
    if eq(len(got), 2, "local: SYN+ACK retransmitted after the RTO"):
        eq(bytes(got[0][SAL]), bytes(got[1][SAL]), "local: the same SYN+ACK")
    c = live.stop()
    eq(c.get("drop.sal_no_flow"), 2, "local: wrong peer flowID, data after close: no flow")
    eq(c.get("drop.sal_local_rejected"), 1, "local: wrong nonce refused by the endpoint")
    check(c.get("sal_local", 0) >= 8, "local: packets handled by the endpoint")


CASES = {
    "gateway": case_gateway,
    "local": case_local,
    "sal": case_sal,
    "delay": case_delay,
    "reload": case_reload,
    "interop": case_interop,
    "basic": case_basic,
    "two-port": case_two_port,
    "handoff": case_handoff,
    "signal": case_signal,
    "check": case_check,
    "privdrop": case_privdrop,
    "big-map": case_big_map,
}


def scratch_done(tmp):
    """A failed run keeps its scratch directory for a post-mortem."""
    if failures:
        print("scratch files kept in", tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def verdict():
    """The exit status of a test script: 1 when any check failed."""
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("PASS")
    return 0


def run_case(prefix, fn, *args):
    """fn(*args, scratch directory) with the scratch handling and verdict
    every test script here shares; paths in args are made absolute."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    try:
        fn(*[os.path.abspath(a) for a in args], tmp)
    finally:
        scratch_done(tmp)
    return verdict()


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in CASES:
        print(__doc__)
        print("cases:", ", ".join(CASES))
        return 2
    binary, root, case = sys.argv[1:]
    return run_case("ssr-it-%s-" % case, CASES[case], binary, root)


if __name__ == "__main__":
    sys.exit(main())
