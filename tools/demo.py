#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The serval-sr authors
"""The built-in demo: SAL traffic through serval-sr on a net_pcap port.

Crafts connection requests (SAL SYNs) for the services of config/default.yaml
plus ARP and ICMP, replays them through the real binary over a net_pcap vdev,
and prints, packet by packet, where each request went: which target a
serviceID resolved to, what the router answered itself, what it dropped.
"""
import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from scapy.all import ARP, ICMP, IP, TCP, Ether, rdpcap, wrpcap  # noqa: E402
from sal import SAL, SALControl, SALService, sid  # noqa: E402

ROUTER_IP = "192.0.2.1"
CLIENT_MAC = "02:00:00:00:01:00"


def syn(client, flowid, service, nonce):
    return (Ether(src=CLIENT_MAC, dst="02:00:00:00:00:01") /
            IP(src=client, dst=ROUTER_IP, ttl=64) /
            SAL(src_flowid=flowid,
                ext=[SALControl(flags="SYN", verno=1000 + flowid, nonce=nonce),
                     SALService(service_id=sid(service))]) /
            TCP(sport=0, dport=0, flags="S", seq=flowid))


def traffic():
    pkts = []
    notes = []

    def add(p, note):
        pkts.append(p)
        notes.append(note)

    # Clients announce themselves as hosts do before talking to their
    # router; serval-sr learns them from the requests it answers.
    for i in range(6):
        client = "192.0.2.%d" % (100 + i)
        add(Ether(src=CLIENT_MAC, dst="ff:ff:ff:ff:ff:ff") /
            ARP(op=1, hwsrc=CLIENT_MAC, psrc=client, pdst=ROUTER_IP),
            "ARP who-has 192.0.2.1 tell %s" % client)
    add(Ether(src=CLIENT_MAC, dst="02:00:00:00:00:01") /
        IP(src="192.0.2.100", dst=ROUTER_IP) / ICMP(id=1, seq=1),
        "ICMP echo to the router")
    for i in range(12):
        client = "192.0.2.%d" % (100 + i % 6)
        add(syn(client, 10 + i, "00015b38", 0x1000 + i),
            "SYN %s flow %d -> 00015b38" % (client, 10 + i))
    add(syn("192.0.2.100", 10, "00015b38", 0x1000),
        "SYN retransmit 192.0.2.100 flow 10 -> 00015b38")
    add(syn("192.0.2.101", 40, "0000000e", 0xe0),
        "SYN 192.0.2.101 flow 40 -> 0000000e (local echo)")
    add(syn("192.0.2.102", 41, "0000ff42", 0xf0),
        "SYN 192.0.2.102 flow 41 -> 0000ff42 (delay)")
    add(syn("192.0.2.103", 42, "deadbeef", 0xd0),
        "SYN 192.0.2.103 flow 42 -> deadbeef (drop rule)")
    add(syn("192.0.2.104", 43, "12345678", 0xa0),
        "SYN 192.0.2.104 flow 43 -> 12345678 (no rule)")
    return pkts, notes


def describe(p):
    if ARP in p:
        if p[ARP].op == 2:
            return "ARP reply: %s is-at %s" % (p[ARP].psrc, p[ARP].hwsrc)
        return "ARP request: who-has %s tell %s" % (p[ARP].pdst, p[ARP].psrc)
    if ICMP in p:
        return "ICMP echo reply to %s" % p[IP].dst
    if SAL in p:
        s = p[SAL]
        ctl = s.control()
        flags = str(ctl.flags) if ctl is not None else "-"
        src = s.source_addrs()
        return "SAL %-7s flow %d -> %-12s SOURCE %s" % (
            flags, s.src_flowid, p[IP].dst, src if src else "-")
    return p.summary()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--config", required=True)
    args = ap.parse_args()

    pkts, notes = traffic()
    with tempfile.TemporaryDirectory(prefix="serval-demo.") as tmp:
        rx = os.path.join(tmp, "in.pcap")
        tx = os.path.join(tmp, "out.pcap")
        wrpcap(rx, pkts)
        cmd = [args.binary, "--no-huge", "-m", "512", "--no-pci", "-l", "0",
               "--file-prefix=serval-demo-%d" % os.getpid(), "--log-level=user.*:notice",
               "--vdev=net_pcap0,rx_pcap=%s,tx_pcap=%s" % (rx, tx),
               "--", "-c", args.config, "--exit-on-idle", "1500"]
        print("$ " + " ".join(cmd))
        run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, timeout=120)
        out = rdpcap(tx) if os.path.exists(tx) else []

    print("\n%d packets in, %d packets out\n" % (len(pkts), len(out)))
    print("in:")
    for i, n in enumerate(notes):
        print("  %2d  %s" % (i, n))
    print("\nout (what serval-sr sent, in order):")
    for i, p in enumerate(out):
        print("  %2d  %s" % (i, describe(p)))

    print("\nconnection requests by outcome:")
    for i, p in enumerate(pkts):
        if SAL not in p:
            continue
        key = (p[IP].src, p[SAL].src_flowid)
        outcome = "dropped (see the counters)"
        if "(delay)" in notes[i]:
            outcome = "held by the delay rule, dropped at its timeout (no rule appeared)"
        for q in out:
            if SAL not in q:
                continue
            if (q[IP].src, q[SAL].src_flowid) == key and q[IP].dst != p[IP].dst:
                outcome = "forwarded to %s" % q[IP].dst
                break
            if q[IP].dst == key[0] and q[SAL].dst_flowid == key[1]:
                outcome = "answered by the router itself (%s)" % q[SAL].control().flags
                break
        print("  %-50s %s" % (notes[i], outcome))

    routed = {}
    for p in out:
        if SAL in p and p[SAL].control() is not None and "SYN" in str(p[SAL].control().flags) \
                and p[IP].dst != ROUTER_IP and "ACK" not in str(p[SAL].control().flags):
            routed.setdefault(p[IP].dst, 0)
            routed[p[IP].dst] += 1
    print("\nSYNs for 00015b38/32 by target (rule weights 3:1): " +
          ", ".join("%s: %d" % kv for kv in sorted(routed.items())))
    counters = [l for l in run.stdout.splitlines()
                if not l.startswith(("EAL:", "TELEMETRY:"))]
    print("\nserval-sr's counters at exit:\n" + "\n".join(counters))
    if run.returncode != 0:
        print("serval-sr exited with %d" % run.returncode)
        return 1
    return 0 if out else 1


if __name__ == "__main__":
    sys.exit(main())
