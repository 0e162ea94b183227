#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The serval-sr authors
"""The scapy SAL layer (tests/sal.py) against the original stack's captures.

Every packet of tests/data/upstream/*.pcap must dissect as SAL, verify its
SAL and transport checksums, and rebuild byte for byte when shl, lengths and
all checksums are left for the layer to compute. The integration tests trust
this layer as their oracle, so it is tested first.
"""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(here))
try:
    from scapy.all import IP, TCP, UDP, Ether, Raw, rdpcap
    from sal import (SAL, SALControl, SALService, SALSource, sal_checksum_ok,
                     sid, sid_num, transport_checksum_ok)
except ImportError as e:
    print("SKIP: scapy missing under /usr/bin/python3 (%s)" % e)
    sys.exit(77)

upstream = os.path.join(os.path.dirname(here), "data", "upstream")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def recompute_all(pkt):
    r = pkt.copy()
    r[IP].chksum = None
    r[IP].len = None
    r[SAL].check = None
    r[SAL].shl = None
    r[SAL].protocol = None if r[SAL].payload else r[SAL].protocol
    for ext in r[SAL].ext:
        ext.length = None
    if TCP in r:
        r[TCP].chksum = None
    return bytes(r)


total = 0
for name in ("handshake-direct", "router-in", "router-out"):
    for i, p in enumerate(rdpcap(os.path.join(upstream, name + ".pcap"))):
        total += 1
        raw = bytes(p)
        q = Ether(raw)
        where = "%s[%d]" % (name, i)
        check(SAL in q, where + ": not dissected as SAL")
        if SAL not in q:
            continue
        check(sal_checksum_ok(q), where + ": SAL checksum")
        check(transport_checksum_ok(q), where + ": transport checksum")
        check(recompute_all(q) == raw, where + ": rebuild differs")

# The facts the README of the captures states, checked through the layer.
syn_in = Ether(bytes(rdpcap(os.path.join(upstream, "router-in.pcap"))[0]))
syn_out = Ether(bytes(rdpcap(os.path.join(upstream, "router-out.pcap"))[0]))
check(syn_in[SAL].control().flags == "SYN", "router-in[0] is a SYN")
check(syn_in[SAL].service_ids() == [sid_num(16385)], "router-in[0] serviceID 16385")
check(syn_in[SAL].shl == 17 and syn_out[SAL].shl == 20, "shl 17 -> 20")
check(syn_out[SAL].source_addrs() == ["198.18.1.1", "198.18.1.254"], "SOURCE list")
check(syn_out[IP].dst == "198.18.2.2" and syn_out[IP].ttl == 63, "resolved dst, TTL")
check(syn_out[IP].id == syn_in[IP].id and syn_out[IP].src == syn_in[IP].src, "IP id/src kept")
check(isinstance(syn_out[SAL].ext[-1], SALSource), "SOURCE appended last")

# Building from scratch: shl, protocol and every checksum are filled in.
syn = (Ether() / IP(src="192.0.2.100", dst="192.0.2.1") /
       SAL(src_flowid=7, ext=[SALControl(flags="SYN", verno=1, nonce=42),
                              SALService(service_id=sid("00015b38"))]) /
       TCP(sport=0, dport=0, flags="S"))
s = Ether(bytes(syn))
check(s[IP].proto == 144 and s[SAL].shl == 17 and s[SAL].protocol == 6, "built SYN header")
check(sal_checksum_ok(s) and transport_checksum_ok(s), "built SYN checksums")
check(s[SAL].service_ids()[0][:4] == bytes.fromhex("00015b38"), "serviceID text")

dgram = (Ether() / IP(src="192.0.2.100", dst="192.0.2.1") /
         SAL(ext=[SALService(service_id=sid_num(88888)),
                  SALService(service_id=sid_num(55555))]) /
         UDP(sport=0, dport=0) / Raw(b"hello"))
d = Ether(bytes(dgram))
check(d[SAL].shl == 21 and d[SAL].protocol == 17 and d[Raw].load == b"hello", "datagram")
check(sal_checksum_ok(d) and transport_checksum_ok(d), "datagram checksums")

fin = Ether() / IP(src="192.0.2.100", dst="192.0.2.1") / SAL(
    src_flowid=7, dst_flowid=9, protocol=6, ext=[SALControl(flags="FIN", verno=2)])
f = Ether(bytes(fin))
check(f[SAL].shl == 8 and not f[SAL].payload, "FIN without transport header")

for bad in ("xyz", "0" * 65):
    try:
        sid(bad)
        failures.append("sid(%r) accepted" % bad)
    except ValueError:
        pass

if failures:
    print("FAIL (%d of %d upstream packets checked):" % (len(failures), total))
    for f in failures:
        print("  " + f)
    sys.exit(1)
print("ok: %d upstream packets dissected, verified and rebuilt byte for byte" % total)
