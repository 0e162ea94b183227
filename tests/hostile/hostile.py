#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The serval-sr authors
"""Malformed and hostile traffic through the real serval-sr binary.

usage: hostile.py <serval-sr> <source-root> <run>
       hostile.py --list          # every case with the counter it must hit

Runs (each replays a pcap through net_pcap and reads the counters the router
prints at exit; every run also checks that no mbuf is still out of its pool
after shutdown, from the `mempool <name>: in use N of M` lines):
  malformed  every case of build_cases() once, each followed by a good connection
             request; every case must land on exactly its counter (and its
             lib/sal reason for malformed SAL), every good request must come
             out resolved, with valid checksums. On a counter mismatch the
             cases are bisected (replayed in halves) to name the culprits.
  malformed-mt  the same with -l 0-1: a worker lcore and the control lcore.
  gateway    a gateway-mode flow (handshake through the router), then the
             attacks on it: RSYN with a wrong nonce, a moved client without
             RSYN, strangers, spoofed instances, unknown flowIDs; an RSYN and
             data in one RX burst, a SYN-ACK and data in one burst; and a SYN
             flood that fills the flow table.
  local      a half-open flow of the router's own endpoint (action local),
             then the attacks on it: wrong nonce, RSYN, wrong ackno, spoofed
             source, wrong peer flowID, and a SYN flood past its 1024 flows.
  registration  in-band REGISTER / UNREGISTER (docs/sal-wire.md): allowed
             and refused hosts, a forged SOURCE, malformed messages, replies.
  soak       one case per distinct drop path, each repeated more times than
             the mbuf pool holds, with a good request after each block: a
             path that leaks one mbuf per packet empties the pool, and the
             good requests after it go missing (rx_nombuf, lost output).

Exit 0 = pass, 1 = fail, 77 = skip (no scapy).
"""

import os
import re
import shutil
import socket
import struct
import subprocess
import sys

try:
    from scapy.all import IP, UDP, Ether, Raw, rdpcap
    from scapy.utils import checksum
except ImportError:
    print("SKIP: /usr/bin/python3 has no scapy (apt-get install python3-scapy)")
    sys.exit(77)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "app"))
from sal import SAL, l4_checksum, sal_checksum_ok, sid, transport_checksum_ok  # noqa: E402
import integration as it  # noqa: E402  (the checks and runner every test script shares)
from integration import check, eq  # noqa: E402

EAL = ["--no-huge", "-m", "512", "--no-pci", "--no-shconf"]
# lcores: "0" runs the worker and the control duties on one lcore; "0-1"
# gives the worker its own lcore (the malformed-mt run)
LCORES = ["-l", "0"]
RMAC = "02:00:00:00:00:01"
HOST = "02:00:00:00:00:99"
R = "192.0.2.1"
WEB = "192.0.2.10"        # the one target of the web service
INST = "192.0.2.11"       # the gateway-mode instance
PEER = "192.0.2.99"       # transit destination
CLIENT = "192.0.2.100"
MOVED = "192.0.2.101"     # the client after a migration
OUTSIDER = "192.0.2.200"  # on the link, outside registration.allow
NB_MAC = {WEB: "02:00:00:00:00:10", INST: "02:00:00:00:00:11", PEER: "02:00:00:00:00:09",
          CLIENT: HOST, MOVED: "02:00:00:00:01:01", OUTSIDER: "02:00:00:00:02:00"}
WEB_SID, GW_SID, DELAY_SID, DROP_SID = "00015b38", "0000ab12", "0000ff01", "dead0001"
ECHO_SID = "0000000e"     # a local rule: the router's own SAL echo endpoint

CONFIG = """
ports:
  - { port: 0, address: 192.0.2.1/24, mac: "02:00:00:00:00:01" }
neighbors:
%s
flows: { max: 64, timeouts: { syn: 1h } }
services:
  - { prefix: "00015b38/32", action: forward, targets: [{ address: 192.0.2.10 }] }
  - { prefix: "0000ab12/32", action: forward, mode: gateway, targets: [{ address: 192.0.2.11 }] }
  - { prefix: "0000ff/24", action: delay, delay: { queue: 4, timeout_ms: 100 } }
  - { prefix: "dead/16", action: drop }
  - { prefix: "0000000e/32", action: local }
registration: { allow: [192.0.2.96/28] }
""" % "\n".join('  - { ip: %s, mac: "%s" }' % kv for kv in sorted(NB_MAC.items()))

# The pool serval-sr makes for one port and one lcore (app/ports.c sizing:
# 16383 mbufs); a soak block must be longer for a one-mbuf leak to show.
SOAK_REPEAT = 17000



# ---- packet construction (raw bytes, so malformed shapes stay as written) ----

_ip_id = [0]


def next_id():
    _ip_id[0] = (_ip_id[0] + 1) & 0xffff or 1
    return _ip_id[0]


def ctrl(flags=0x80, verno=1, ackno=0, nonce=1, length=20):
    """CONTROL, 20 bytes whatever its length byte claims."""
    return struct.pack("!BBBBIIQ", 0x10, length, flags, 0, verno, ackno, nonce)


def svc(text=WEB_SID, length=36):
    """SERVICE, 36 bytes whatever its length byte claims."""
    return bytes([0x20, length, 0, 0]) + sid(text)


def source(addrs, length=None):
    body = b"".join(socket.inet_aton(a) for a in addrs)
    return bytes([0x40, 4 + len(body) if length is None else length, 0, 0]) + body


def address(n, length=None):
    body = struct.pack("!II", 0, 0) + b"".join(struct.pack("!I", 0x0a000000 + i)
                                               for i in range(n))
    return bytes([0x30, 4 + len(body) if length is None else length, 0, 0]) + body


def ext(t, length, size):
    """Extension of type t claiming `length`, `size` bytes long in fact."""
    return (bytes([t << 4, length]) + bytes(size))[:size]


def sal(exts=b"", src_fid=1, dst_fid=0, proto=6, shl=None, bad_csum=False):
    if shl is None:
        assert (12 + len(exts)) % 4 == 0, "SAL header must be whole words"
        shl = (12 + len(exts)) // 4
    h = struct.pack("!IIBBH", src_fid, dst_fid, shl, proto, 0) + exts
    covered = h[:shl * 4]
    ck = checksum(covered) if len(covered) == shl * 4 else 0
    if bad_csum:
        ck ^= 0x5a5a
    return h[:10] + struct.pack("!H", ck) + h[12:]


def tcp(src, dst, flags=0x02, doff=5, payload=b"", bad_csum=False, seq=1):
    seg = struct.pack("!HHIIBBHHH", 0, 0, seq, 0, doff << 4, flags, 65535, 0, 0) + \
        bytes(max(0, doff * 4 - 20)) + payload
    ck = l4_checksum(socket.IPPROTO_TCP, IP(src=src, dst=dst), seg)
    if bad_csum:
        ck ^= 0x1111
    return seg[:16] + struct.pack("!H", ck) + seg[18:]


def udp(src, dst, payload=b"datagram", csum=True, bad_csum=False):
    seg = struct.pack("!HHHH", 0, 0, 8 + len(payload), 0) + payload
    ck = l4_checksum(socket.IPPROTO_UDP, IP(src=src, dst=dst), seg) if csum else 0
    if csum and ck == 0:
        ck = 0xffff
    if bad_csum:
        ck ^= 0x1111
    return seg[:6] + struct.pack("!H", ck) + seg[8:]


def ip_frame(payload, src=CLIENT, dst=R, proto=144, ttl=64, flags=0, frag=0, options=None,
             eth_dst=RMAC, ip_id=None):
    """Ether / IPv4 (scapy fills length and checksum) / payload bytes;
    options: raw IPv4 option bytes (a multiple of 4) put after the header."""
    ip = IP(src=src, dst=dst, proto=proto, ttl=ttl, flags=flags, frag=frag,
            id=next_id() if ip_id is None else ip_id)
    b = bytes(Ether(src=HOST, dst=eth_dst) / ip / Raw(payload))
    if options is None:
        return b
    assert len(options) % 4 == 0 and len(options) <= 40
    b = bytearray(b[:34] + options + b[34:])
    b[14] = 0x40 | (5 + len(options) // 4)
    return fix_ip(bytes(b))


def request(svc_text=WEB_SID, src=CLIENT, dst=R, fid=1, nonce=1, extra=b"", l4="tcp",
            sal_flags=0x80, dst_fid=0, **kw):
    """A connection request: CONTROL(SYN) + SERVICE [+ extra] + TCP/UDP."""
    exts = (ctrl(flags=sal_flags, nonce=nonce, verno=fid) if sal_flags is not None else b"") + \
        svc(svc_text) + extra
    body = sal(exts, src_fid=fid, dst_fid=dst_fid, proto=17 if l4 == "udp" else 6)
    seg = {"tcp": lambda: tcp(src, dst, seq=fid), "udp": lambda: udp(src, dst),
           None: lambda: b""}[l4]()
    return ip_frame(body + seg, src=src, dst=dst, **kw)


def fix_csum(frame):
    """Recompute the IPv4 header checksum over IHL words (whatever they say)."""
    b = bytearray(frame)
    ihl = (b[14] & 0xf) * 4
    struct.pack_into("!H", b, 24, 0)
    struct.pack_into("!H", b, 24, checksum(bytes(b[14:14 + ihl])))
    return bytes(b)


def fix_ip(frame, l3_len=None):
    """Cut the frame to 14 + l3_len bytes; IPv4 length and checksum to match."""
    b = bytearray(frame[:14 + l3_len] if l3_len is not None else frame)
    struct.pack_into("!H", b, 16, len(b) - 14)
    return fix_csum(bytes(b))


def patch(frame, off, data, fix=True):
    """Overwrite bytes at an L3 offset; fix=True recomputes the IPv4 checksum."""
    b = bytearray(frame)
    b[14 + off:14 + off + len(data)] = data
    return fix_csum(bytes(b)) if fix else bytes(b)


def arp(op, sha, spa, tpa):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + bytes.fromhex(sha.replace(":", "")) + \
        socket.inet_aton(spa) + bytes(6) + socket.inet_aton(tpa)


def renumber(frame):
    """The same frame with a fresh IPv4 ID (outputs are matched by ID)."""
    return patch(frame, 4, struct.pack("!H", next_id()))


def ip_id_of(frame):
    return struct.unpack("!H", frame[18:20])[0]


# ---- the cases ----

class Case:
    """frames: what is replayed; expect: counter -> count over those frames;
    out: check(output packet by IP ID, input frame) for frames that must leave."""

    def __init__(self, name, frames, expect, out=None, soak=False, rst=False):
        self.name = name
        self.frames = frames if isinstance(frames, list) else [frames]
        self.expect = expect
        self.out = out
        self.soak = soak
        self.rst = rst


def drop(reason, n=1):
    return {"drop." + reason: n}


def salbad(reason, n=1):
    return {"drop.sal_malformed": n, "sal_malformed." + reason: n}


def resolved(n=1):
    return {"sal_resolved": n}


def rst(e):
    """e, and a RST sent back (a packet the router builds: generated)."""
    return dict(e, sal_rst_sent=1)


def out_resolved(extra=None):
    """The original router's edits: to WEB, SOURCE [client, router] appended."""
    def f(p, frame, what):
        i = Ether(frame)
        eq(p[IP].dst, WEB, what + ": sent to the target")
        eq((p[IP].src, p[IP].ttl), (i[IP].src, i[IP].ttl - 1), what + ": source kept, TTL - 1")
        eq(p[Ether].dst, NB_MAC[WEB], what + ": target MAC")
        check(checksum(bytes(p[IP])[:p[IP].ihl * 4]) == 0, what + ": IPv4 checksum")
        check(sal_checksum_ok(p), what + ": SAL checksum")
        eq(p[SAL].source_addrs()[-1:], [R], what + ": router appended to SOURCE")
        if extra is not None:
            extra(p, i, what)
    return f


def l4_still_bad(p, i, what):
    check(not transport_checksum_ok(p), what + ": a wrong transport checksum stays wrong")


def l4_ok(p, i, what):
    check(transport_checksum_ok(p), what + ": transport checksum")


def options_kept(p, i, what):
    eq(bytes(p[IP])[20:p[IP].ihl * 4], bytes(i[IP])[20:i[IP].ihl * 4], what + ": IP options")


def source_len(n):
    def f(p, i, what):
        eq(len(p[SAL].source_addrs()), n, what + ": SOURCE length")
    return f


def is_rst(p):
    c = p[SAL].control() if SAL in p else None
    return c is not None and int(c.flags) & 0x08 != 0


def check_rst(p, frame, what):
    """The original's RST for a packet of no flow (lib/sal sal_build_rst())."""
    i = Ether(frame)
    eq((p[IP].src, p[IP].dst), (i[IP].dst, i[IP].src), what + ": RST addresses swapped")
    eq((p[SAL].src_flowid, p[SAL].dst_flowid), (i[SAL].dst_flowid, i[SAL].src_flowid),
       what + ": RST flowIDs swapped")
    eq((p[Ether].src, p[Ether].dst), (RMAC, NB_MAC[i[IP].src]), what + ": RST MACs")
    eq((p[SAL].shl, len(bytes(p[SAL].payload))), (8, 0), what + ": CONTROL only, no transport")
    if i[SAL].control() is not None:
        eq(p[SAL].control().nonce, i[SAL].control().nonce, what + ": RST carries the nonce")
    check(checksum(bytes(p[IP])[:20]) == 0 and sal_checksum_ok(p), what + ": RST checksums")


def good_syn(k):
    """The k-th good request between the cases (flowID 50000 + k)."""
    return request(fid=50000 + k, nonce=k, src="192.0.2.%d" % (100 + k % 8))


def build_cases():
    C = []
    syn = request()

    def add(name, frames, expect, out=None, soak=False, rst=False):
        C.append(Case(name, frames, expect, out, soak, rst))

    # ARP spoofing of a static neighbour, first: answered (it asks for us)
    # but not learned; every good request after it must still reach WEB's
    # static MAC (out_resolved checks it)
    evil = "02:66:66:66:66:66"
    add("ARP request from a host claiming the static neighbour 192.0.2.10",
        bytes(Ether(src=evil, dst="ff:ff:ff:ff:ff:ff", type=0x0806)) + arp(1, evil, WEB, R),
        {"arp_replied": 1})
    add("unsolicited ARP reply rebinding the static neighbour 192.0.2.10",
        bytes(Ether(src=evil, dst=RMAC, type=0x0806)) + arp(2, evil, WEB, R), {})
    add("ARP claiming the router's own address", bytes(Ether(src=evil, dst="ff:ff:ff:ff:ff:ff",
                                                             type=0x0806)) + arp(1, evil, R, R),
        drop("arp_conflict"))

    # -- Ethernet and IPv4, caught before SAL (worker classify) --
    add("runt: 10-byte frame", syn[:10], drop("runt"), soak=True)
    add("jumbo: 9000-byte frame (multi-segment mbuf)", fix_ip(request(l4=None) + bytes(8898)),
        drop("runt"))
    add("truncated: Ethernet header only", syn[:14], drop("ip_malformed"))
    add("truncated: inside the IPv4 header", syn[:14 + 10], drop("ip_malformed"))
    add("truncated frame, IPv4 length unchanged (at the SAL base header)", syn[:14 + 32],
        drop("ip_malformed"), soak=True)
    add("truncated frame, IPv4 length unchanged (inside TCP)", syn[:-5], drop("ip_malformed"))
    add("IPv4 version 6 in an IPv4 EtherType", patch(syn, 0, b"\x65"), drop("ip_malformed"))
    add("IHL 4 (below the minimum)", patch(syn, 0, b"\x44"), drop("ip_malformed"))
    add("IHL 15, header past the frame", patch(syn[:14 + 40], 0, b"\x4f", fix=False),
        drop("ip_malformed"))
    add("IPv4 total length below IHL", patch(syn, 2, b"\x00\x10"), drop("ip_malformed"))
    add("bad IPv4 header checksum", patch(syn, 10, b"\xde\xad", fix=False), drop("ip_checksum"),
        soak=True)
    add("SAL directly over Ethernet (EtherType 0x0809)",
        bytes(Ether(src=HOST, dst=RMAC, type=0x0809)) + syn[34:], drop("ethertype"))
    add("802.1Q-tagged SYN", bytes(Ether(src=HOST, dst=RMAC, type=0x8100)) +
        b"\x00\x05\x08\x00" + syn[14:], drop("ethertype"))
    add("unicast frame for another MAC", request(eth_dst="02:00:00:00:00:77"),
        drop("other_host"))
    add("broadcast SYN: Ethernet broadcast to the router address",
        request(eth_dst="ff:ff:ff:ff:ff:ff"), drop("ip_broadcast"), soak=True)
    add("broadcast SYN: limited broadcast 255.255.255.255", request(dst="255.255.255.255"),
        drop("ip_broadcast"))
    add("broadcast SYN: subnet broadcast 192.0.2.255", request(dst="192.0.2.255"),
        drop("ip_broadcast"))
    add("multicast SYN: 224.0.0.5 to the router MAC", request(dst="224.0.0.5"),
        drop("ip_broadcast"))
    add("Ethernet multicast frame", request(eth_dst="01:00:5e:00:00:05"), drop("l2_multicast"))
    add("martian source 0.0.0.0", request(src="0.0.0.0"), drop("ip_martian"), soak=True)
    add("martian source 127.0.0.1", request(src="127.0.0.1"), drop("ip_martian"))
    add("spoofed source: the router's own address", request(src=R), drop("ip_martian"))
    add("martian source: the subnet's directed broadcast 192.0.2.255 (RFC 1812 5.3.7)",
        request(src="192.0.2.255"), drop("ip_martian"))

    # -- TTL --
    add("SYN with TTL 0", request(ttl=0), drop("ttl_expired"), soak=True)
    add("SYN with TTL 1", request(ttl=1), drop("ttl_expired"))
    add("transit SAL with TTL 1", request(dst=PEER, ttl=1), drop("ttl_expired"))

    # -- IPv4 options and fragments --
    add("IPv4 options (IHL 6) before SAL", request(options=b"\x01\x01\x01\x00"),
        resolved(), out_resolved(options_kept))
    add("IPv4 options at the maximum (IHL 15)", request(options=b"\x01" * 39 + b"\x00"),
        resolved(), out_resolved(options_kept))
    add("fragment: MF set", request(flags="MF"), salbad("IP_FRAGMENT"), soak=True)
    add("fragment: offset 185, MF clear", request(frag=185), salbad("IP_FRAGMENT"))
    add("DF set (not a fragment)", request(flags="DF"), resolved(), out_resolved())

    # -- truncation at every SAL header boundary (IPv4 length made consistent) --
    n_sal = 12 + 20 + 36
    for cut, reason in [(20, "SAL_TRUNCATED"), (20 + 6, "SAL_TRUNCATED"),
                        (20 + 12, "SHL_PAST_PACKET"), (20 + 12 + 10, "SHL_PAST_PACKET"),
                        (20 + 32, "SHL_PAST_PACKET"), (20 + 32 + 20, "SHL_PAST_PACKET"),
                        (20 + n_sal - 1, "SHL_PAST_PACKET"), (20 + n_sal + 10, "L4_BAD_HDR"),
                        (20 + n_sal + 19, "L4_BAD_HDR")]:
        add("truncated at IPv4 byte %d" % cut, fix_ip(syn, cut), salbad(reason),
            soak=(cut == 20 + 12))
    add("truncated right after the SAL header (a SYN without TCP)",
        renumber(fix_ip(syn, 20 + n_sal)),
        resolved(), out_resolved())
    add("Ethernet padding after the IPv4 datagram", renumber(syn) + bytes(30), resolved(),
        out_resolved(l4_ok))

    # -- shl --
    for shl in (0, 1, 2):
        add("shl %d" % shl, ip_frame(sal(ctrl() + svc(), shl=shl) + tcp(CLIENT, R)),
            salbad("SHL_TOO_SMALL"), soak=(shl == 0))
    add("shl past the packet (30 words)", ip_frame(sal(ctrl() + svc(), shl=30) + tcp(CLIENT, R)),
        salbad("SHL_PAST_PACKET"))
    add("shl 255 in a short packet", ip_frame(sal(ctrl() + svc(), shl=255)),
        salbad("SHL_PAST_PACKET"))

    # -- checksums --
    add("bad SAL checksum", ip_frame(sal(ctrl() + svc(), bad_csum=True) + tcp(CLIENT, R)),
        salbad("SAL_BAD_CSUM"), soak=True)
    add("bad TCP checksum (a router does not verify it)",
        ip_frame(sal(ctrl() + svc()) + tcp(CLIENT, R, bad_csum=True)), resolved(),
        out_resolved(l4_still_bad))
    add("bad UDP checksum on a datagram",
        ip_frame(sal(svc(), proto=17) + udp(CLIENT, R, bad_csum=True)), resolved(),
        out_resolved(l4_still_bad))
    add("UDP datagram without checksum (0)",
        ip_frame(sal(svc(), proto=17) + udp(CLIENT, R, csum=False)), resolved(),
        out_resolved(lambda p, i, w: eq(bytes(p[SAL].payload)[6:8], b"\0\0",
                                        w + ": UDP checksum stays 0")))

    # -- extension lengths and types --
    add("CONTROL length 0", ip_frame(sal(ext(1, 0, 20) + svc()) + tcp(CLIENT, R)),
        salbad("EXT_BAD_LEN"), soak=True)
    add("CONTROL length 1", ip_frame(sal(ext(1, 1, 20) + svc()) + tcp(CLIENT, R)),
        salbad("EXT_BAD_LEN"))
    add("CONTROL length 21 (odd)", ip_frame(sal(ctrl(length=21) + svc()) + tcp(CLIENT, R)),
        salbad("EXT_BAD_LEN"))
    add("SERVICE length 35", ip_frame(sal(ctrl() + svc(length=35)) + tcp(CLIENT, R)),
        salbad("EXT_BAD_LEN"))
    add("SOURCE with one address (length 8)", ip_frame(sal(ctrl() + svc() + source([CLIENT])) +
                                                       tcp(CLIENT, R)), salbad("EXT_BAD_LEN"))
    add("SOURCE length 13 (not 4 + 4n)",
        ip_frame(sal(ctrl() + svc() + source([CLIENT, PEER], length=13) + bytes(4)) +
                 tcp(CLIENT, R)), salbad("EXT_BAD_LEN"))
    add("ADDRESS length 11", ip_frame(sal(ctrl() + svc() + ext(3, 11, 12)) + tcp(CLIENT, R)),
        salbad("EXT_BAD_LEN"))
    add("SERVICE running past shl", ip_frame(sal(ctrl() + svc(), shl=13) + tcp(CLIENT, R)),
        salbad("EXT_PAST_SHL"))
    add("SOURCE claiming 252 bytes inside a short header",
        ip_frame(sal(ctrl() + svc() + source([CLIENT, PEER], length=252)) + tcp(CLIENT, R)),
        salbad("EXT_PAST_SHL"))
    add("lone extension type byte at the end of shl (no length byte)",
        ip_frame(sal(ctrl() + svc() + bytes(3) + b"\x10") + tcp(CLIENT, R)),
        salbad("EXT_LEFTOVER"))
    add("unknown extension type 5", ip_frame(sal(ctrl() + svc() + ext(5, 4, 4)) + tcp(CLIENT, R)),
        salbad("EXT_UNKNOWN"), soak=True)
    add("unknown extension type 15", ip_frame(sal(ext(15, 4, 4) + ctrl() + svc()) +
                                              tcp(CLIENT, R)), salbad("EXT_UNKNOWN"))
    add("11 extensions (CONTROL, SERVICE, 12 PAD)",
        ip_frame(sal(ctrl() + svc() + bytes(12)) + tcp(CLIENT, R)), salbad("EXT_TOO_MANY"))
    add("duplicate CONTROL", ip_frame(sal(ctrl() + ctrl() + svc()) + tcp(CLIENT, R)),
        salbad("EXT_DUP_CONTROL"))
    add("three SERVICE extensions", ip_frame(sal(ctrl() + svc() + svc() + svc()) +
                                             tcp(CLIENT, R)), salbad("EXT_TOO_MANY_SERVICE"))
    add("duplicate SOURCE", ip_frame(sal(ctrl() + svc() + source([CLIENT, PEER]) +
                                         source([CLIENT, PEER])) + tcp(CLIENT, R)),
        salbad("EXT_DUP_SOURCE"))
    add("TCP data offset 4", ip_frame(sal(ctrl() + svc()) + tcp(CLIENT, R)[:12] + b"\x40" +
                                      tcp(CLIENT, R)[13:]), salbad("L4_BAD_HDR"))
    add("TCP data offset 15 past the packet",
        ip_frame(sal(ctrl() + svc()) + tcp(CLIENT, R)[:12] + b"\xf0" + tcp(CLIENT, R)[13:]),
        salbad("L4_BAD_HDR"))
    add("UDP header of 7 bytes", ip_frame(sal(svc(), proto=17) + bytes(7)), salbad("L4_BAD_HDR"))

    # -- limits: extensions and SOURCE lists at and over the limit --
    add("10 extensions (the limit): accepted; the router's SOURCE would be the 11th",
        ip_frame(sal(ctrl() + svc() + bytes(8)) + tcp(CLIENT, R)), drop("sal_too_big"),
        soak=True)
    add("SOURCE of 19 addresses: resolved, the router makes it 20",
        request(extra=source(["10.1.0.%d" % i for i in range(1, 20)])), resolved(),
        out_resolved(source_len(20)))
    add("SOURCE of 20 addresses (the limit): no room for the router's",
        request(extra=source(["10.1.0.%d" % i for i in range(1, 21)])), drop("sal_too_big"))
    add("SOURCE of 21 addresses", request(extra=source(["10.1.0.%d" % i for i in range(1, 22)])),
        salbad("SOURCE_TOO_LONG"))
    add("SOURCE of 62 addresses (length 252)",
        request(extra=source(["10.1.0.%d" % i for i in range(1, 63)])), salbad("SOURCE_TOO_LONG"))
    add("SOURCE loop: the router already listed first", request(extra=source([R, PEER])),
        drop("sal_loop"), soak=True)
    add("SOURCE loop: the router already listed last",
        request(extra=source([CLIENT, PEER, "198.51.100.1", R])), drop("sal_loop"))
    add("shl 252 with ADDRESS extensions: the router's SOURCE makes it 255",
        request(extra=address(60) + address(60) + address(60) + address(43)), resolved(),
        out_resolved(lambda p, i, w: eq(p[SAL].shl, 255, w + ": shl")))
    add("shl 255 already: no room for SOURCE",
        request(extra=address(60) + address(60) + address(60) + address(46)),
        drop("sal_too_big"))

    # -- requests the router cannot serve --
    add("SYN for an unknown serviceID", request(svc_text="12345678"), drop("sal_no_service"),
        soak=True)
    add("SYN for a drop rule", request(svc_text=DROP_SID), drop("sal_rule_drop"), soak=True)
    # SAL to the router that is no request and matches no flow: the original
    # answers a non-SYN with RST and drops a SYN silently (docs/sal-wire.md,
    # "Non-SYN packets ..."); a RST is never answered. Each has its own
    # src_flowid so its RST can be found.
    add("SYN without SERVICE (a SYN: dropped silently)",
        ip_frame(sal(ctrl(), src_fid=7001) + tcp(CLIENT, R)), drop("sal_not_syn"), soak=True)
    add("ACK without flowIDs (no request, no flow): RST", request(sal_flags=0x20, fid=7002),
        rst(drop("sal_not_syn")), rst=True)
    add("SYN carrying a dst_flowid of no flow (a SYN: dropped silently)",
        request(dst_fid=0x12345678, fid=7003), drop("sal_no_flow"))
    add("SYN-ACK of no flow (a SYN: dropped silently)",
        ip_frame(sal(ctrl(flags=0xa0), src_fid=7004, dst_fid=0x1234) + tcp(CLIENT, R)),
        drop("sal_no_flow"))
    add("data to an unknown flowID: RST",
        ip_frame(sal(src_fid=7005, dst_fid=0xdeadbeef) + tcp(CLIENT, R)), rst(drop("sal_no_flow")),
        rst=True, soak=True)
    add("RSYN to an unknown flow (resolve mode keeps none): RST",
        ip_frame(sal(ctrl(flags=0x40, nonce=99), src_fid=7006, dst_fid=0x10) + tcp(CLIENT, R)),
        rst(drop("sal_no_flow")), rst=True)
    add("FIN to an unknown flow: RST",
        ip_frame(sal(ctrl(flags=0x04), src_fid=7007, dst_fid=0x20)), rst(drop("sal_no_flow")),
        rst=True)
    add("RST to an unknown flow (never answered)",
        ip_frame(sal(ctrl(flags=0x08), src_fid=7008, dst_fid=0x30)), drop("sal_no_flow"))
    add("datagram for a gateway-mode rule", request(svc_text=GW_SID, sal_flags=None, l4="udp"),
        drop("sal_gateway_datagram"), soak=True)
    add("SYN flood to one serviceID (200 clients): all resolved, nothing held",
        [request(fid=1000 + i, nonce=i, src="192.0.2.%d" % (100 + i % 8)) for i in range(200)],
        resolved(200), out_resolved())
    add("SYN flood to a delay rule (queue 4, 100 ms)",
        [request(svc_text=DELAY_SID, fid=3000 + i) for i in range(10)],
        {"sal_delayed": 10, "drop.sal_delay_full": 6, "drop.sal_delay_timeout": 4})

    # -- to the router, not SAL --
    icmp = struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"ping"
    add("ICMP echo with a bad checksum", ip_frame(icmp, proto=1), drop("icmp_malformed"),
        soak=True)
    add("ICMP echo fragment", ip_frame(icmp, proto=1, flags="MF"), drop("local_fragment"))
    add("UDP to the router", ip_frame(udp(CLIENT, R), proto=17), drop("local_proto"))
    add("truncated ARP", bytes(Ether(src=HOST, dst="ff:ff:ff:ff:ff:ff", type=0x0806)) +
        bytes.fromhex("000108000604000102"), drop("arp_malformed"), soak=True)
    return C


# ---- running the router ----

def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, b in enumerate(frames):
            f.write(struct.pack("<IIII", i // 1000000, i % 1000000, len(b), len(b)) + b)


class Run:
    runs = 0

    def __init__(self, binary, tmp, name, frames, idle_ms=400):
        Run.runs += 1
        self.name = name
        d = os.path.join(tmp, name.replace(" ", "_"))
        os.makedirs(d, exist_ok=True)
        cfg, inp, self.outp = (os.path.join(d, f) for f in ("r.yaml", "in.pcap", "out.pcap"))
        with open(cfg, "w") as f:
            f.write(CONFIG)
        write_pcap(inp, frames)
        self.n_in = len(frames)
        prefix = "ssr-hostile-%d-%d" % (os.getpid(), Run.runs)
        args = [binary] + EAL + LCORES + ["--file-prefix=" + prefix,
                                 "--vdev=net_pcap0,rx_pcap=%s,tx_pcap=%s" % (inp, self.outp),
                                 "--", "-c", cfg, "--exit-on-idle", str(idle_ms)]
        try:
            p = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=d)
            self.rc, self.stdout, self.stderr = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            self.rc, self.stdout, self.stderr = None, e.stdout or "", e.stderr or ""
        if not eq(self.rc, 0, "%s: exit status" % name):
            print(" ".join(args))
            print(self.stdout[-4000:])
            print(self.stderr[-4000:])
        else:
            self.check_pools()
        os.unlink(inp)
        # EAL leaves its (here empty) runtime directory behind
        for base in ("/var/run/dpdk", os.path.join(os.environ.get("XDG_RUNTIME_DIR", "/tmp"),
                                                    "dpdk")):
            shutil.rmtree(os.path.join(base, prefix), ignore_errors=True)

    def check_pools(self):
        """After shutdown every mbuf is back in its pool: serval-sr prints
        `mempool <name>: in use N of M` per pool once workers, control and
        ports have freed theirs, and N must be 0 (a leak on any path)."""
        pools = re.findall(r"^mempool (\S+): in use (\d+) of (\d+)$", self.stdout, re.M)
        check(pools, "%s: mbuf pool accounting printed at exit" % self.name)
        for pool, used, size in pools:
            eq(int(used), 0, "%s: mbufs of pool %s (%s) still in use at exit" %
               (self.name, pool, size))

    def counters(self, section="total"):
        res, cur = {}, None
        for line in self.stdout.splitlines():
            if not line.startswith(" "):
                cur = line.rstrip(":")
                continue
            if cur == section or cur.startswith(section + " "):
                m = re.match(r"\s+([A-Za-z_.0-9]+): (\d+)", line)
                if m:
                    res[m.group(1)] = int(m.group(2))
        return res

    def out(self):
        if not os.path.exists(self.outp) or os.path.getsize(self.outp) == 0:
            return []
        return list(rdpcap(self.outp))

    def check_common(self):
        """Every frame received, none refused for lack of mbufs, books balanced."""
        port, c = self.counters("port 0"), self.counters()
        eq(port.get("ipackets"), self.n_in, "%s: frames received" % self.name)
        eq(port.get("rx_nombuf"), 0, "%s: mbuf pool never ran dry" % self.name)
        m = re.search(r"^invariant: .*: (\S+)$", self.stdout, re.M)
        check(m is not None and m.group(1) == "ok", "%s: invariant rx + generated == tx + "
              "consumed + dropped" % self.name)
        eq(sum(v for k, v in c.items() if k.startswith("drop.")), c.get("dropped", 0),
           "%s: drop reasons add up" % self.name)
        return c


# Counters that depend on the traffic as a whole, not on one case.
VOLUME = ("rx", "tx", "dropped", "generated", "to_control", "from_workers", "consumed",
          "forwarded")


def compare(c, expect, what):
    """Exact match on every drop, lib/sal reason and SAL counter expected or seen."""
    bad = []
    keys = set(expect) | {k for k in c if k.startswith(("drop.", "sal_"))}
    for k in sorted(keys):
        if k in VOLUME:
            continue
        if c.get(k, 0) != expect.get(k, 0):
            bad.append(k)
            check(False, "%s: %s = %d, want %d" % (what, k, c.get(k, 0), expect.get(k, 0)))
    return bad


def add_expect(total, e, times=1):
    for k, v in e.items():
        total[k] = total.get(k, 0) + v * times


def run_malformed(binary, root, tmp):
    cases = build_cases()
    frames, goods, outs, expect = [], [], [], {}
    for k, case in enumerate(cases):
        frames += case.frames
        add_expect(expect, case.expect)
        if case.out is not None:
            outs += [(case, f) for f in case.frames]
        g = good_syn(k)
        frames.append(g)
        goods.append(g)
    add_expect(expect, resolved(len(goods)))
    run = Run(binary, tmp, "malformed", frames)
    c = run.check_common()
    bad = compare(c, expect, "malformed")
    sent = run.out()
    rsts = {p[SAL].dst_flowid: p for p in sent if is_rst(p)}
    out = {p[IP].id: p for p in sent if IP in p and not is_rst(p)}
    want_rst = [(case, f) for case in cases if case.rst for f in case.frames]
    for case, f in want_rst:
        p = rsts.get(Ether(f)[SAL].src_flowid)
        if check(p is not None, "malformed: '%s' answered" % case.name):
            check_rst(p, f, "malformed: '%s'" % case.name)
    eq(len(rsts), len(want_rst), "malformed: RSTs sent")
    for g in goods:
        p = out.get(ip_id_of(g))
        if check(p is not None, "malformed: good request IP ID %d left" % ip_id_of(g)):
            out_resolved(l4_ok)(p, g, "malformed: good request %d" % ip_id_of(g))
    for case, f in outs:
        p = out.get(ip_id_of(f))
        if check(p is not None, "malformed: '%s' left" % case.name):
            case.out(p, f, "malformed: '%s'" % case.name)
    eq(len(out), len(goods) + len(outs), "malformed: packets out")
    if bad:
        diagnose(binary, tmp, cases, bad)


def diagnose(binary, tmp, cases, bad):
    """Bisect the cases over the wrong counters until single culprits remain."""
    print("diagnosis: bisecting %d cases over %s" % (len(cases), ", ".join(bad)))

    def counts(group):
        run = Run(binary, tmp, "bisect", [f for c in group for f in c.frames])
        got = run.counters()
        want = {}
        for c in group:
            add_expect(want, c.expect)
        return {k: (got.get(k, 0), want.get(k, 0)) for k in bad}

    def walk(group):
        res = counts(group)
        if all(g == w for g, w in res.values()):
            return
        if len(group) == 1:
            print("  culprit: %-64s %s" % (group[0].name, ", ".join(
                "%s got %d want %d" % (k, g, w) for k, (g, w) in res.items() if g != w)))
            return
        walk(group[:len(group) // 2])
        walk(group[len(group) // 2:])

    walk(cases)


def gw_syn(fid=0x111, nonce=0x4e4e4e4e, src=CLIENT, **kw):
    return request(svc_text=GW_SID, src=src, fid=fid, nonce=nonce, **kw)


def filler(n=32):
    """Good transit packets: the next frame starts a new RX burst (net_pcap
    reads 32 at a time, and a burst's flow lookups run before its requests)."""
    return [ip_frame(udp(CLIENT, PEER), src=CLIENT, dst=PEER, proto=17) for _ in range(n)]


def run_gateway(binary, root, tmp):
    C, I, N, M = 0x111, 0x222, 0x4e4e4e4e, 0x4d4d4d4d
    C2, I2, N2 = 0x333, 0x444, 0x4f4f4f4f
    syn = gw_syn(C, N)
    syn2 = gw_syn(C2, N2)
    # the run's first two flows get the same router flowIDs as the probe's
    probe = Run(binary, tmp, "gateway-probe", [syn] + filler() + [syn2])
    out = [p for p in probe.out() if SAL in p]
    if not check(len(out) == 2, "gateway: the probe SYNs were relayed"):
        return
    R1 = out[0][SAL].src_flowid
    R0 = R1 & ~1
    R2 = out[1][SAL].src_flowid
    check(R1 & 1 == 1, "gateway: instance-side router flowID is odd (%#x)" % R1)
    # the generation sits right above the side bit (lib/flowtable/flowtable.h)
    stale = R0 ^ 0x4 if R0 ^ 0x4 else R0 ^ 0x8

    def to_router(body, src, l4=b""):
        return ip_frame(body + l4, src=src)

    seq = []      # (frame, expected counters, output check or None)

    def step(frame, expect, out_to=None):
        seq.append((frame, expect, out_to))
        for f in filler():
            seq.append((f, {}, None))

    def one_burst(steps):
        """steps [(frame, expect, out_to)] adjacent in one RX burst: pad to
        the next burst boundary first (net_pcap hands over 32 at a time)."""
        while len(seq) % 32 != 0:
            seq.append((filler(1)[0], {}, None))
        seq.extend(steps)
        for f in filler():
            seq.append((f, {}, None))

    step(syn, {"sal_flows_created": 1, "sal_gateway": 1}, INST)
    step(to_router(sal(ctrl(flags=0xa0, verno=7, ackno=2, nonce=M), src_fid=I, dst_fid=R1),
                   INST, tcp(INST, R, flags=0x12)), {"sal_gateway": 1}, CLIENT)
    step(to_router(sal(ctrl(flags=0x20, verno=2, ackno=8, nonce=N) + svc(GW_SID), src_fid=C,
                       dst_fid=R0), CLIENT, tcp(CLIENT, R, flags=0x10)),
         {"sal_gateway": 1}, INST)
    attacks = [
        ("RSYN from a new address with a wrong nonce",
         to_router(sal(ctrl(flags=0x40, verno=3, nonce=N + 1), src_fid=C, dst_fid=R0), MOVED),
         drop("sal_nonce_mismatch")),
        ("data from a new address without RSYN",
         to_router(sal(src_fid=C, dst_fid=R0), MOVED, tcp(MOVED, R, flags=0x10)),
         drop("sal_flow_mismatch")),
        ("a stranger with the client's router flowID",
         to_router(sal(src_fid=0x999, dst_fid=R0), "192.0.2.77", tcp("192.0.2.77", R)),
         drop("sal_flow_mismatch")),
        ("a spoofed instance (wrong source address)",
         to_router(sal(src_fid=I, dst_fid=R1), "192.0.2.78", tcp("192.0.2.78", R)),
         drop("sal_flow_mismatch")),
        ("the instance claiming another instance flowID",
         to_router(sal(ctrl(flags=0xa0, nonce=M), src_fid=I + 1, dst_fid=R1), INST,
                   tcp(INST, R)), drop("sal_flow_mismatch")),
        ("an unknown router flowID (other slot): RST",
         to_router(sal(src_fid=I, dst_fid=R1 ^ 0x100), INST, tcp(INST, R)),
         rst(drop("sal_no_flow"))),
        ("a stale generation of the flow's router flowID: RST",
         to_router(sal(src_fid=C, dst_fid=stale), CLIENT, tcp(CLIENT, R)),
         rst(drop("sal_no_flow"))),
        ("the client's SYN retransmitted: same flow, no new one",
         syn, {"sal_gateway": 1}),
    ]
    for name, frame, expect in attacks:
        # a relayed retransmission goes to the instance, a RST to the sender
        to = INST if "retransmitted" in name else \
            Ether(frame)[IP].src if "sal_rst_sent" in expect else None
        step(frame, expect, to)
    step(to_router(sal(ctrl(flags=0x40, verno=3, nonce=N), src_fid=C, dst_fid=R0), MOVED),
         {"sal_gateway": 1, "sal_migrated": 1}, INST)
    step(to_router(sal(src_fid=I, dst_fid=R1), INST, tcp(INST, R, flags=0x18, payload=b"x")),
         {"sal_gateway": 1}, MOVED)
    # An RSYN and the client's data right behind it in one RX burst (back
    # from MOVED to CLIENT): the burst's flow lookups all ran before the
    # RSYN moved the flow, yet the data must be judged against the new
    # address, not dropped as sal_flow_mismatch.
    one_burst([
        (to_router(sal(ctrl(flags=0x40, verno=4, nonce=N), src_fid=C, dst_fid=R0), CLIENT),
         {"sal_gateway": 1, "sal_migrated": 1}, INST),
        (to_router(sal(src_fid=C, dst_fid=R0), CLIENT, tcp(CLIENT, R, flags=0x18, payload=b"y")),
         {"sal_gateway": 1}, INST)])
    # A second flow: the instance's SYN-ACK and its first data in one burst
    # (the SYN-ACK records the instance flowID the data then carries).
    step(syn2, {"sal_flows_created": 1, "sal_gateway": 1}, INST)
    one_burst([
        (to_router(sal(ctrl(flags=0xa0, verno=9, ackno=C2 + 1, nonce=M), src_fid=I2,
                       dst_fid=R2), INST, tcp(INST, R, flags=0x12)), {"sal_gateway": 1}, CLIENT),
        (to_router(sal(src_fid=I2, dst_fid=R2), INST, tcp(INST, R, flags=0x18, payload=b"z")),
         {"sal_gateway": 1}, CLIENT)])
    # the flood: 62 more flows fit (flows.max 64), the rest are refused
    flood = [gw_syn(0x5000 + i, i, src="192.0.2.%d" % (100 + i % 8)) for i in range(200)]
    for f in flood:
        seq.append((f, {}, None))
    expect = {"sal_flows_created": 62, "sal_gateway": 62, "drop.sal_flow_full": 138}
    for _f, e, _o in seq:
        add_expect(expect, e)
    run = Run(binary, tmp, "gateway", [f for f, _e, _o in seq])
    c = run.check_common()
    out = [p for p in run.out() if SAL in p]
    if check(out, "gateway: packets out") and out[0][SAL].src_flowid != R1:
        check(False, "gateway: the first flow got router flowID %#x, the probe %#x; the "
              "replay depends on it" % (out[0][SAL].src_flowid, R1))
    bad = compare(c, expect, "gateway")
    wants = [o for _f, _e, o in seq if o is not None]
    got = [p[IP].dst for p in out][:len(wants)]
    eq(got, wants, "gateway: relayed packets' destinations in order")
    if bad:
        handshake = [f for f, _e, _o in seq[:3 * 33]]
        for name, frame, e in attacks:
            r = Run(binary, tmp, "alone-" + name[:20], handshake + [frame])
            print("  %-60s %r" % (name, {k: v for k, v in r.counters().items()
                                         if k.startswith("drop.")}))


def run_soak(binary, root, tmp):
    """Every drop path SOAK_REPEAT times: more packets than the pool holds."""
    cases = [c for c in build_cases() if c.soak]
    # 128 distinct SYNs, repeated: the first 64 get flows and their copies are
    # relayed as retransmissions; the other 64 are refused every time
    gw_flood = Case("gateway SYN flood (flows.max 64)",
                    [gw_syn(0x7000 + i, i, src="192.0.2.%d" % (100 + i % 8)) for i in range(128)],
                    {})
    delay_flood = Case("delay flood (queue 4)", [request(svc_text=DELAY_SID, fid=9)], {})
    frames, goods, expect = [], [], {}
    reps = {}
    for k, case in enumerate(cases + [gw_flood, delay_flood]):
        n = max(1, SOAK_REPEAT // len(case.frames))
        reps[case.name] = n
        frames += case.frames * n
        add_expect(expect, case.expect, n)
        g = good_syn(k)
        frames.append(g)
        goods.append(g)
    add_expect(expect, resolved(len(goods)))
    n_gw = reps[gw_flood.name]
    add_expect(expect, {"sal_flows_created": 64, "sal_gateway": 64 * n_gw,
                        "drop.sal_flow_full": 64 * n_gw})
    n_delay = reps[delay_flood.name]
    add_expect(expect, {"sal_delayed": n_delay})
    print("soak: %d cases, %d frames" % (len(cases) + 2, len(frames)))
    run = Run(binary, tmp, "soak", frames, idle_ms=500)
    c = run.check_common()
    # Floods toward the control lcore (ARP, delayed requests) are shed where
    # they meet a full ring or queue; how they split between those counters
    # is timing, their sum is not.
    n_arp = expect.pop("drop.arp_malformed")
    shed = ("drop.arp_malformed", "drop.control_ring_full", "drop.sal_delay_full",
            "drop.sal_delay_timeout")
    eq(sum(c.pop(k, 0) for k in shed), n_arp + n_delay,
       "soak: ARP and delay floods all counted (arp_malformed, control_ring_full, "
       "sal_delay_full, sal_delay_timeout)")
    # RSTs: a token bucket decides which are sent; every one is counted
    eq(c.pop("sal_rst_sent", 0) + c.pop("sal_rst_limited", 0), expect.pop("sal_rst_sent", 0),
       "soak: RSTs sent or rate-limited")
    compare(c, expect, "soak")
    out = {p[IP].id: p for p in run.out() if IP in p and not is_rst(p)}
    missing = [ip_id_of(g) for g in goods if ip_id_of(g) not in out]
    eq(missing, [], "soak: good requests after each block (a leaking path starves them)")


def run_local(binary, root, tmp):
    """The router's endpoint. Its ISN and nonce are random, so a replay can
    take a flow to SYN_RCVD only: the attacks are on the half-open flow."""
    C, N = 0x4c4c, 0x4e4e4e4e
    syn = request(svc_text=ECHO_SID, fid=C, nonce=N)
    probe = Run(binary, tmp, "local-probe", [syn])
    out = [p for p in probe.out() if SAL in p]
    if not check(len(out) == 1, "local: the probe SYN was answered"):
        return
    L = out[0][SAL].src_flowid
    seq = []

    def step(frame, expect, out_to=None):
        seq.append((frame, expect, out_to))
        for f in filler():
            seq.append((f, {}, None))

    def to_flow(exts, src=CLIENT, fid=C, l4=True):
        return ip_frame(sal(exts, src_fid=fid, dst_fid=L) + (tcp(src, R, flags=0x10)
                                                             if l4 else b""), src=src)

    step(syn, {"sal_local": 1}, CLIENT)
    attacks = [
        ("ACK with a wrong nonce", to_flow(ctrl(flags=0x20, verno=C + 1, nonce=N + 1)),
         drop("sal_local_rejected")),
        ("RSYN with the right nonce (migration is not served)",
         to_flow(ctrl(flags=0x40, verno=C + 1, nonce=N), l4=False), drop("sal_local_rejected")),
        ("RSYN with a wrong nonce", to_flow(ctrl(flags=0x40, verno=C + 1, nonce=7), l4=False),
         drop("sal_local_rejected")),
        ("ACK acknowledging nothing we sent", to_flow(ctrl(flags=0x20, verno=C + 1,
                                                           ackno=0x12345, nonce=N)),
         drop("sal_local_rejected")),
        ("the flow's flowIDs from a spoofed address: RST",
         to_flow(b"", src=MOVED), rst(drop("sal_no_flow")), MOVED),
        ("a wrong peer flowID: RST", to_flow(b"", fid=C + 1), rst(drop("sal_no_flow")), CLIENT),
        ("the SYN retransmitted: the SYN+ACK again", syn, {"sal_local": 1}, CLIENT),
    ]
    for a in attacks:
        step(*a[1:])
    # 1023 more flows fit in the worker's table (SSR_LOCAL_FLOWS 1024)
    for i in range(1100):
        seq.append((request(svc_text=ECHO_SID, fid=0x9000 + i, nonce=i), {}, None))
    # with the table full, retransmitted SYNs still find their flows (the
    # SYN index, app/local.c) and get the same SYN+ACK; a refused one is
    # still refused
    again = [0, 511, 1022]
    for i in again:
        seq.append((request(svc_text=ECHO_SID, fid=0x9000 + i, nonce=i), {"sal_local": 1},
                    None))
    seq.append((request(svc_text=ECHO_SID, fid=0x9000 + 1050, nonce=1050),
                drop("sal_flow_full"), None))
    expect = {"sal_local": 1023, "drop.sal_flow_full": 77}
    for _f, e, _o in seq:
        add_expect(expect, e)
    run = Run(binary, tmp, "local", [f for f, _e, _o in seq])
    c = run.check_common()
    sent = [p for p in run.out() if SAL in p]
    if check(sent, "local: packets out"):
        a = sent[0]
        eq(a[SAL].src_flowid, L, "local: the router flowID is the probe's (replay depends on it)")
        eq((a[IP].src, a[IP].dst, a[SAL].dst_flowid), (R, CLIENT, C), "local: SYN+ACK addresses")
        ct = a[SAL].control()
        check(ct is not None and int(ct.flags) & 0xa0 == 0xa0, "local: SYN+ACK flags")
        check(ct is not None and ct.ackno == C + 1, "local: SYN+ACK acknowledges the SYN")
        check(ip_ok(a) and sal_checksum_ok(a) and transport_checksum_ok(a),
              "local: SYN+ACK checksums")
    compare(c, expect, "local")
    wants = [o for _f, _e, o in seq if o is not None]
    eq([p[IP].dst for p in sent][:len(wants)], wants, "local: replies in order")
    eq(len([p for p in sent if not is_rst(p)]), 2 + 1023 + len(again), "local: SYN+ACKs sent")
    for i in again:
        acks = [p[SAL].src_flowid for p in sent if not is_rst(p) and
                p[SAL].dst_flowid == 0x9000 + i]
        eq(len(acks), 2, "local: SYN+ACKs to client flowID %#x" % (0x9000 + i))
        eq(len(set(acks)), 1, "local: the retransmitted SYN %#x found its flow" % (0x9000 + i))


def reg_msg(mtype=0, sid_hex="00004001", bits=32, flags=0, addr="0.0.0.0", length=48, xid=7):
    """An in-band registration message (docs/sal-wire.md): 8-byte header, body."""
    return struct.pack("!BBHIBBBB4s", mtype, 0, length, xid, flags, 0, bits, 0,
                       socket.inet_aton(addr)) + sid(sid_hex)


def reg_frame(msg, src=CLIENT, extra=b"", l4="udp"):
    """msg from the host's control serviceID (55555) to the router's (88888)."""
    body = sal(svc("%08x" % 88888) + svc("%08x" % 55555) + extra, proto=17 if l4 == "udp"
               else 6)
    seg = udp(src, R, payload=msg) if l4 == "udp" else tcp(src, R, payload=msg)
    return ip_frame(body + seg, src=src)


def run_registration(binary, root, tmp):
    """In-band registration (REGISTER / UNREGISTER over SAL): the allow list,
    malformed messages, and the replies."""
    OK, ERROR, NOENTRY, MALFORMED = 0, 1, 2, 3
    seq = []

    def step(frame, expect, reply_to=None, rv=None):
        seq.append((frame, expect, reply_to, rv))
        for f in filler():
            seq.append((f, {}, None, None))

    step(reg_frame(reg_msg(0, "00004001", 32)), {"sal_registrations": 1}, CLIENT, OK)
    step(reg_frame(reg_msg(0, "00004001", 32)), {"sal_registrations": 1}, CLIENT, OK)
    step(reg_frame(reg_msg(1, "00004002", 32)), {"sal_registrations": 1}, CLIENT, NOENTRY)
    step(reg_frame(reg_msg(0, "00004003", 32), src=OUTSIDER), drop("sal_reg_denied"))
    # the allow list is about who sends: a SOURCE naming an allowed host
    # must not let an outsider in (the IP source is kept by SAL routers)
    step(reg_frame(reg_msg(0, "00004004", 32), src=OUTSIDER, extra=source([MOVED, R])),
         drop("sal_reg_denied"))
    step(reg_frame(b"\x00\x00\x00"), drop("sal_reg_malformed"))
    step(reg_frame(reg_msg(0, length=40)), drop("sal_reg_malformed"), CLIENT, MALFORMED)
    step(reg_frame(reg_msg(200)), drop("sal_reg_malformed"), CLIENT, MALFORMED)
    step(reg_frame(reg_msg(9)), {}, CLIENT, ERROR)
    step(reg_frame(reg_msg(0), l4="tcp"), drop("sal_reg_malformed"))
    step(reg_frame(reg_msg(0)[:20]), drop("sal_reg_malformed"), CLIENT, MALFORMED)
    step(reg_frame(reg_msg(1, "00004001", 32)), {"sal_registrations": 1}, CLIENT, OK)
    expect = {}
    for _f, e, _t, _r in seq:
        add_expect(expect, e)
    run = Run(binary, tmp, "registration", [f for f, _e, _t, _r in seq])
    c = run.check_common()
    compare(c, expect, "registration")
    replies = [p for p in run.out() if SAL in p and UDP in p]
    wants = [(t, rv) for _f, _e, t, rv in seq if t is not None]
    got = [(p[IP].dst, bytes(p[UDP].payload)[1]) for p in replies]
    eq(got, wants, "registration: replies (destination, return value) in order")
    for p in replies:
        eq(p[SAL].service_ids()[:1], [sid("%08x" % 55555)],
           "registration: reply to the host's control serviceID")
        check(ip_ok(p) and sal_checksum_ok(p) and transport_checksum_ok(p),
              "registration: reply checksums")


def ip_ok(p):
    return checksum(bytes(p[IP])[:p[IP].ihl * 4]) == 0


def run_malformed_mt(binary, root, tmp):
    """The malformed run with the worker on its own lcore, the control lcore
    apart (skipped on a single-core machine)."""
    if len(os.sched_getaffinity(0)) < 2:
        print("SKIP: needs 2 CPUs for -l 0-1")
        sys.exit(77)
    LCORES[:] = ["-l", "0-1"]
    run_malformed(binary, root, tmp)


RUNS = {"malformed": run_malformed, "malformed-mt": run_malformed_mt, "gateway": run_gateway,
        "local": run_local, "registration": run_registration, "soak": run_soak}


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--list":
        for case in build_cases():
            print("%-72s %s" % (case.name, ", ".join("%s=%d" % kv for kv in
                                                     sorted(case.expect.items()))))
        return 0
    if len(sys.argv) != 4 or sys.argv[3] not in RUNS:
        print(__doc__)
        return 2
    binary, root, which = sys.argv[1:]
    return it.run_case("ssr-hostile-%s-" % which, RUNS[which], binary, root)


if __name__ == "__main__":
    sys.exit(main())
