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
import time

try:
    from scapy.all import ARP, ICMP, IP, TCP, UDP, Ether, Raw, rdpcap, wrpcap
    from scapy.utils import checksum
except ImportError:
    print("SKIP: /usr/bin/python3 has no scapy (apt-get install python3-scapy)")
    sys.exit(77)

# net_pcap makes up its MAC: 02:70:63:61:70 ('pcap') then the device number.
PCAP_MAC = ["02:70:63:61:70:%02x" % i for i in range(4)]
HOST = "02:00:00:00:00:99"
EAL = ["--no-huge", "-m", "512", "--no-pci", "--log-level=user.serval.*:info"]

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

    def start(self, config_text, ports, lcores="0", idle_ms=300, extra=()):
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


CASES = {
    "basic": case_basic,
    "two-port": case_two_port,
    "handoff": case_handoff,
    "signal": case_signal,
    "check": case_check,
}


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in CASES:
        print(__doc__)
        print("cases:", ", ".join(CASES))
        return 2
    binary, root, case = sys.argv[1:]
    tmp = tempfile.mkdtemp(prefix="ssr-it-%s-" % case)
    try:
        CASES[case](os.path.abspath(binary), os.path.abspath(root), tmp)
    finally:
        if failures:
            print("scratch files kept in", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
