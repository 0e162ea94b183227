#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The serval-sr authors
"""Regenerate the seed corpus of fuzz_sal_parse (stdlib only).

Seeds are IPv4 packets (IP header first): every distinct packet of the
upstream captures except most bulk data segments, the hand-checked vectors
of tests/sal/sal_vectors.c, and a few serviceID strings (the target also
feeds its input to the serviceID text parser).

    tests/fuzz/make_corpus.py        # from the repository root
"""

import hashlib
import os
import re
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus", "sal_parse")


def pcap_frames(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    end = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    off = 24
    while off + 16 <= len(data):
        caplen = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        yield data[off + 16:off + 16 + caplen]
        off += 16 + caplen


def vectors(path):
    with open(path) as f:
        text = f.read()
    for name, body in re.findall(r"const uint8_t (vec_\w+)\[\d+\] = \{(.*?)\};", text, re.S):
        body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
        yield name, bytes(int(x, 16) for x in re.findall(r"0x[0-9a-fA-F]{2}", body))


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def sal_packet(exts, proto=6, l4=b""):
    """IPv4 (10.0.0.1 -> 10.0.0.2) + SAL with the given extension bytes."""
    sal = struct.pack("!IIBBH", 1, 0, (12 + len(exts)) // 4, proto, 0) + exts
    sal = sal[:10] + struct.pack("!H", csum(sal)) + sal[12:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(sal) + len(l4), 1, 0, 64, 144, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + sal + l4


def crafted():
    """Shapes the captures lack: edits' rarer branches start from these."""
    ctrl = bytes([0x10, 20, 0x80, 0]) + bytes(16)
    src20 = bytes([0x40, 84, 0, 0]) + b"".join(bytes([10, 0, 1, i]) for i in range(20))
    src2 = bytes([0x40, 12, 0, 0, 10, 0, 0, 1, 10, 0, 0, 9])
    yield "crafted-source20", sal_packet(ctrl + src20)
    yield "crafted-source-then-control", sal_packet(b"\0" + src2 + b"\0\0\0" + ctrl)
    yield "crafted-address", sal_packet(bytes([0x30, 16, 0, 0]) + bytes(12), proto=17,
                                        l4=bytes(8))


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {}
    for cap in ("handshake-direct", "router-in", "router-out"):
        data_sizes = {}
        for i, frame in enumerate(pcap_frames(os.path.join(
                ROOT, "tests", "data", "upstream", cap + ".pcap"))):
            ip = frame[14:]
            shl = ip[20 + 8]
            if shl == 3:  # plain data segment: keep one per size
                if data_sizes.get(len(ip)):
                    continue
                data_sizes[len(ip)] = True
            seeds.setdefault(ip, "upstream-%s-%02d" % (cap, i))
    for name, b in vectors(os.path.join(ROOT, "tests", "sal", "sal_vectors.c")):
        seeds.setdefault(b, "vector-" + name[4:])
    for name, b in crafted():
        seeds.setdefault(b, name)
    for text in ("00004001", "00004001/32", "0/0", "ABCdef/12"):
        seeds.setdefault(text.encode(), "text-" + hashlib.sha1(text.encode()).hexdigest()[:8])
    for old in os.listdir(OUT):
        os.unlink(os.path.join(OUT, old))
    for b, name in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(b)
    print("%d seeds in %s" % (len(seeds), OUT), file=sys.stderr)


if __name__ == "__main__":
    main()
