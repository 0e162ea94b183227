#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The serval-sr authors
"""A minimal SAL host for the network-namespace tests.

Runs inside a namespace whose kernel owns a real address and routes through
serval-sr. SAL travels in a raw IPv4 socket of protocol 144: the kernel does
ARP, routing and the IP header, and (because the raw socket exists) does not
answer SAL with ICMP protocol-unreachable. The SAL and TCP headers are built
and checked with the scapy layer in tests/sal.py.

    sal_host.py server --addr A [--seconds N]
        Accepts connection requests like the original stack: SYN+ACK straight
        back to SOURCE[0] (or the IP source), echoing SOURCE with its own
        address appended; echoes data; answers FIN with FIN+ACK; accepts
        RSYN (nonce checked) and follows the client to its new address.
    sal_host.py client --addr A --router R --service HEX [--migrate-to B]
        One full conversation: SYN to the router, ACK (with SERVICE) to the
        instance, data, optional migration (RSYN from B), data, FIN.
        Prints one JSON line per step; exit 0 when every step got its answer.
"""
import argparse
import json
import os
import select
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from scapy.all import IP, TCP, Raw  # noqa: E402
from sal import (SAL, SALControl, SALService, SALSource, sal_checksum_ok, sid,  # noqa: E402
                 transport_checksum_ok)

PROTO = 144


class RawSal:
    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_RAW, PROTO)
        # we write whole IP headers: the source address of a migrating host
        # is ours to choose
        self.s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)

    def send(self, pkt):
        self.s.sendto(bytes(pkt), (pkt[IP].dst, 0))

    def recv(self, timeout):
        r, _, _ = select.select([self.s], [], [], timeout)
        if not r:
            return None
        data = self.s.recv(65535)
        p = IP(data)
        return p if SAL in p else None


def emit(**kw):
    print(json.dumps(kw), flush=True)


def ok(p):
    return sal_checksum_ok(p) and transport_checksum_ok(p)


def server(args):
    raw = RawSal()
    my_flow, my_nonce, seq = 0x5001, 0x5eed5eed5eed5eed, 9000
    flows = {}  # client flowID -> dict(peer, src_flowid)
    end = time.time() + args.seconds
    while time.time() < end:
        p = raw.recv(0.5)
        if p is None:
            continue
        s = p[SAL]
        ctl = s.control()
        flags = str(ctl.flags) if ctl is not None else ""
        if not ok(p):
            emit(server="bad checksum", src=p[IP].src)
            continue
        if "SYN" in flags and "ACK" not in flags and "RSYN" not in flags:
            src = s.source_addrs()
            peer = src[0] if src else p[IP].src
            my_flow += 1
            flows[s.src_flowid] = {"peer": peer, "mine": my_flow, "nonce": ctl.nonce,
                                   "verno": ctl.verno}
            ext = [SALControl(flags="SYN+ACK", verno=seq, ackno=ctl.verno + 1, nonce=my_nonce)]
            if src:
                ext.append(SALSource(addrs=src + [args.addr]))
            raw.send(IP(src=args.addr, dst=peer) /
                     SAL(src_flowid=my_flow, dst_flowid=s.src_flowid, ext=ext) /
                     TCP(sport=0, dport=0, flags="SA", seq=seq, ack=p[TCP].seq + 1))
            emit(server="syn", peer=peer, via=p[IP].src, source=src,
                 service=s.service_ids()[0].hex())
            continue
        f = next((v for v in flows.values() if v["mine"] == s.dst_flowid), None)
        if f is None:
            emit(server="no flow", dst_flowid=s.dst_flowid)
            continue
        client_flow = s.src_flowid
        if "RSYN" in flags:
            if ctl.nonce != f["nonce"]:
                emit(server="rsyn bad nonce")
                continue
            f["peer"] = p[IP].src
            raw.send(IP(src=args.addr, dst=f["peer"]) /
                     SAL(src_flowid=f["mine"], dst_flowid=client_flow,
                         ext=[SALControl(flags="RSYN+ACK", verno=seq + 1,
                                         ackno=ctl.verno + 1, nonce=my_nonce)]))
            emit(server="rsyn", peer=f["peer"])
        elif "FIN" in flags:
            raw.send(IP(src=args.addr, dst=f["peer"]) /
                     SAL(src_flowid=f["mine"], dst_flowid=client_flow, protocol=6,
                         ext=[SALControl(flags="FIN+ACK", verno=seq + 2,
                                         ackno=ctl.verno + 1, nonce=my_nonce)]))
            emit(server="fin")
        elif Raw in p:
            data = bytes(p[Raw].load)
            raw.send(IP(src=args.addr, dst=f["peer"]) /
                     SAL(src_flowid=f["mine"], dst_flowid=client_flow) /
                     TCP(sport=0, dport=0, flags="PA", seq=seq + 1) / Raw(data.upper()))
            emit(server="data", peer=f["peer"], via=p[IP].src, data=data.decode())
        else:
            emit(server="ack", via=p[IP].src)


def client(args):
    raw = RawSal()
    me, flow, nonce, verno = args.addr, 0x77, 0x0123456789abcdef, 100
    steps_ok = True

    def step(name, pkt, want):
        nonlocal steps_ok
        for attempt in range(3):
            raw.send(pkt)
            deadline = time.time() + 2
            while time.time() < deadline:
                p = raw.recv(deadline - time.time())
                if p is not None and p[SAL].dst_flowid == flow and want(p):
                    emit(step=name, ok=ok(p), src=p[IP].src, dst=p[IP].dst,
                         src_flowid=p[SAL].src_flowid,
                         flags=str(p[SAL].control().flags) if p[SAL].control() else "",
                         source=p[SAL].source_addrs(),
                         data=bytes(p[Raw].load).decode() if Raw in p else "")
                    return p
        emit(step=name, ok=False, error="no answer")
        steps_ok = False
        return None

    def has(flag):
        return lambda p: p[SAL].control() is not None and flag in str(p[SAL].control().flags)

    service = SALService(service_id=sid(args.service))
    synack = step("syn", IP(src=me, dst=args.router) /
                  SAL(src_flowid=flow, ext=[SALControl(flags="SYN", verno=verno, nonce=nonce),
                                            service]) /
                  TCP(sport=0, dport=0, flags="S", seq=1), has("SYN"))
    if synack is None:
        return 1
    peer, peer_flow = synack[IP].src, synack[SAL].src_flowid
    # the third ACK carries SERVICE again and goes to whoever answered
    raw.send(IP(src=me, dst=peer) /
             SAL(src_flowid=flow, dst_flowid=peer_flow,
                 ext=[SALControl(flags="ACK", verno=verno + 1,
                                 ackno=synack[SAL].control().verno + 1, nonce=nonce),
                      service]) /
             TCP(sport=0, dport=0, flags="A", seq=2, ack=synack[TCP].seq + 1))

    def data(name, src, text):
        return step(name, IP(src=src, dst=peer) /
                    SAL(src_flowid=flow, dst_flowid=peer_flow) /
                    TCP(sport=0, dport=0, flags="PA", seq=2) / Raw(text.encode()),
                    lambda p: Raw in p)

    data("data", me, "hello")
    if args.migrate_to:
        me = args.migrate_to
        step("rsyn", IP(src=me, dst=peer) /
             SAL(src_flowid=flow, dst_flowid=peer_flow,
                 ext=[SALControl(flags="RSYN", verno=verno + 2, nonce=nonce)]), has("RSYN"))
        data("data-after-migration", me, "moved")
    step("fin", IP(src=me, dst=peer) /
         SAL(src_flowid=flow, dst_flowid=peer_flow, protocol=6,
             ext=[SALControl(flags="FIN", verno=verno + 3, nonce=nonce)]), has("FIN"))
    return 0 if steps_ok else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["server", "client"])
    ap.add_argument("--addr", required=True)
    ap.add_argument("--router")
    ap.add_argument("--service")
    ap.add_argument("--migrate-to")
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    return server(args) or 0 if args.role == "server" else client(args)


if __name__ == "__main__":
    sys.exit(main())
