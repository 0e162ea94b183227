#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The serval-sr authors
"""Regenerate the checked-in seed corpora of the fuzz targets (stdlib only).

    tests/fuzz/make_corpus.py [target ...]   # default: every target

sal_parse: IPv4 packets (IP header first): every distinct packet of the
  upstream captures except most bulk data segments, the hand-checked vectors
  of tests/sal/sal_vectors.c, and a few serviceID strings (the target also
  feeds its input to the serviceID text parser).
config: service maps: the shipped ones (config/default.yaml,
  config/examples/), the one-defect files of tests/data/config/, and
  structure-aware variants of a small valid map: every key set to its edge
  values and to each wrong kind of node, YAML features (anchors, flow style,
  several documents, tags, CRLF, BOM), and size extremes.
mgmt: management request lines: the requests of tests/mgmt/test_mgmt_parse.c,
  the examples of docs/management.md (when it exists), one per operation
  and the protocol-level failures (not JSON, not an object, bad ids).
worker: Ethernet frames for fuzz_worker's fixed router (see
  fuzz_worker.c): requests for each of its rules, gateway flows, ARP,
  ICMP, transit traffic, and the malformed shapes of tests/hostile/.
"""

import hashlib
import os
import re
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


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


def sal_parse_seeds():
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
    return seeds


# ---- config: service maps ----

BASE_MAP = """ports:
  - port: 0
    address: 192.0.2.1/24
    mac: "02:00:00:00:00:01"
neighbors:
  - { ip: 192.0.2.10, mac: "02:00:00:00:00:10" }
gateway: 192.0.2.254
services:
  - prefix: "00015b38/32"
    action: forward
    targets:
      - { address: 192.0.2.10, weight: 3, priority: 1 }
      - { address: 192.0.2.11 }
    health: { interval_ms: 1000, timeout_ms: 500, fall: 3, rise: 2, on_down: reset }
  - { prefix: "0000ff/24", action: delay, delay: { queue: 8, timeout_ms: 100 } }
  - { prefix: "dead/16", action: drop }
"""

# (key path as it appears in the text, value) -> one variant each; the value
# replaces the placeholder in a small map that is valid otherwise.
EDGE_TEMPLATE = """ports:
  - { port: %(port)s, address: %(address)s, mac: %(mac)s, rx_desc: %(rx)s, tx_desc: %(tx)s }
neighbors:
  - { ip: %(nip)s, mac: "02:00:00:00:00:10" }
gateway: %(gw)s
sal: { ip_protocol: %(proto)s }
arp: { queue: %(aq)s, retry: %(retry)s, lifetime: %(life)s }
flows: { max: %(fmax)s, timeouts: { syn: %(syn)s, established: %(est)s, closing: %(clo)s } }
services:
  - prefix: %(prefix)s
    action: %(action)s
    targets: [{ address: %(taddr)s, weight: %(weight)s, priority: %(prio)s }]
    health: { interval_ms: %(hint)s, timeout_ms: %(hto)s, fall: %(hfall)s, rise: %(hrise)s,
              on_down: %(hdown)s }
  - { prefix: "ff/8", action: delay, delay: { queue: %(dq)s, timeout_ms: %(dt)s } }
management: { socket: %(sock)s, allow_uids: [%(uid)s], allow_gids: [] }
registration: { allow: [%(reg)s] }
"""

EDGE_DEFAULTS = {
    "port": "0", "address": "192.0.2.1/24", "mac": '"02:00:00:00:00:01"', "rx": "512",
    "tx": "512", "nip": "192.0.2.10", "gw": "192.0.2.254", "proto": "144", "aq": "16",
    "retry": "1s", "life": "5m", "fmax": "65536", "syn": "5s", "est": "300s", "clo": "10s",
    "prefix": '"00015b38/32"', "action": "forward", "taddr": "192.0.2.10", "weight": "1",
    "prio": "0", "dq": "64", "dt": "2000", "sock": "/run/serval-sr/serval-sr.sock",
    "uid": "0", "reg": "192.0.2.0/24", "hint": "1000", "hto": "500", "hfall": "3",
    "hrise": "2", "hdown": "keep",
}

WRONG_KINDS = ["", "~", "[]", "{}", "[1, 2]", "{ a: 1 }", '"5"', "'x'", "-1", "1.5", "0x10",
               "99999999999999999999", "!!str 5", "&a 7", "true", ".inf"]

EDGE_VALUES = {
    "port": ["31", "32", "+0", "00"],
    "address": ["192.0.2.1/32", "192.0.2.1/0", "192.0.2.0/24", "192.0.2.255/24",
                "10.0.0.1/8", "0.1.2.3/24", "127.0.0.1/24", "224.0.0.1/24", "192.0.2.1/33",
                "192.0.2.1/", "192.0.2.1", "192.0.02.1/24", "1.2.3.4.5/24", "192.0.2.1/-1"],
    "mac": ['"01:00:00:00:00:01"', '"00:00:00:00:00:00"', '"02:00:00:00:00"',
            '"02:00:00:00:00:0g"', '"02-00-00-00-00-01"', "02:00:00:00:00:01",
            '"02:00:00:00:00:01:02"'],
    "rx": ["64", "63", "4096", "4097"],
    "tx": ["64", "63", "4096", "4097"],
    "nip": ["192.0.2.1", "198.51.100.1", "192.0.2.255", "255.255.255.255"],
    "gw": ["192.0.2.1", "198.51.100.1", "0.0.0.0"],
    "proto": ["1", "6", "17", "0", "253", "254", "255"],
    "aq": ["0", "1024", "1025"],
    "retry": ["10ms", "9ms", "60s", "61s", "1", "s", "1x", "18446744073709551615ms",
              "4294967296ms"],
    "life": ["1s", "999ms", "24h", "25h", "1m", "0h"],
    "fmax": ["1", "0", "16777216", "16777217"],
    "syn": ["100ms", "99ms", "1h", "3601s"],
    "est": ["1s", "24h", "86401s"],
    "clo": ["100ms", "1h", "61m"],
    "prefix": ['"0/0"', '"0/1"', '"ff/7"', '"00015b38"', '"%s/256"' % ("ab" * 32),
               '"%s/256"' % ("ab" * 33), '"00015b38/257"', '"zz/8"', '"/8"', '"0x15/8"',
               '"00015B38/32"', "00015b38/32", '"1/4"', '"8/4"'],
    "action": ["local", "delay", "drop", "jump", "Forward"],
    "taddr": ["192.0.2.1", "198.51.100.7", "224.0.0.1", "192.0.2.0"],
    "weight": ["0", "65535", "65536"],
    "prio": ["65535", "65536"],
    "dq": ["1", "0", "4096", "4097"],
    "dt": ["1", "0", "600000", "600001"],
    "sock": ['"relative.sock"', '"/%s"' % ("s" * 107), '"/%s"' % ("s" * 106),
             '"/run/a\\0b"', '"/run/\\u00e9"'],
    "uid": ["4294967294", "4294967295", "-1"],
    "reg": ["0.0.0.0/0", "192.0.2.1/24", "192.0.2.0/33", ""],
    "hint": ["10", "9", "3600000", "3600001"],
    "hto": ["1", "0", "1000", "1001"],
    "hfall": ["1", "0", "100", "101"],
    "hrise": ["1", "0", "100", "101"],
    "hdown": ["reset", "drop"],
}

CONFIG_SNIPPETS = [
    ("empty", ""),
    ("null", "~\n"),
    ("comment-only", "# nothing\n"),
    ("scalar", "ports\n"),
    ("seq-root", "- port: 0\n"),
    ("two-docs", "ports: [{ port: 0, address: 192.0.2.1/24 }]\n---\nports: []\n"),
    ("doc-end", "---\nports: [{ port: 0, address: 192.0.2.1/24 }]\n...\n"),
    ("crlf", BASE_MAP.replace("\n", "\r\n")),
    ("bom", "\ufeff" + BASE_MAP),
    ("tabs", "ports:\n\t- port: 0\n"),
    ("flow", "{ports: [{port: 0, address: 192.0.2.1/24}], services: [{prefix: '0/0', "
             "action: drop}]}\n"),
    ("anchors", "ports: [{ port: 0, address: 192.0.2.1/24 }]\nservices:\n"
                "  - { prefix: \"01/8\", action: forward,\n"
                "      targets: &pool [{ address: 192.0.2.10 }] }\n"
                "  - { prefix: \"02/8\", action: forward, targets: *pool }\n"),
    ("alias-key", "ports: [{ &k port: 0, address: 192.0.2.1/24 }]\nx: { *k : 1 }\n"),
    ("undefined-alias", "ports: *nope\n"),
    ("merge-key", "base: &b { port: 0 }\nports: [{ <<: *b, address: 192.0.2.1/24 }]\n"),
    ("tags", "ports: !!seq [!!map { port: !!int 0, address: !!str 192.0.2.1/24 }]\n"),
    ("local-tag", "ports: !custom [{ port: 0, address: 192.0.2.1/24 }]\n"),
    ("complex-key", "? [ports]\n: [{ port: 0, address: 192.0.2.1/24 }]\n"),
    ("dup-top", "ports: [{ port: 0, address: 192.0.2.1/24 }]\nports: []\n"),
    ("block-scalar", "ports:\n  - port: 0\n    address: |\n      192.0.2.1/24\n"),
    ("folded", "ports:\n  - port: 0\n    address: >-\n      192.0.2.1/24\n"),
    ("unterminated", "ports: [{ port: 0, address: \"192.0.2.1/24 }]\n"),
    ("bad-indent", "ports:\n  - port: 0\n   address: 192.0.2.1/24\n"),
    ("directive", "%YAML 1.1\n%TAG ! tag:x,2026:\n---\n"
                  "ports: [{ port: 0, address: 192.0.2.1/24 }]\n"),
    ("deep", "ports: " + "[" * 200 + "]" * 200 + "\n"),
    ("deep-map", "ports: " + "{a: " * 100 + "1" + "}" * 100 + "\n"),
    ("many-ports", "ports:\n" + "".join("  - { port: %d, address: 10.%d.0.1/16 }\n" % (i, i)
                                       for i in range(33))),
    ("many-errors", "ports:\n" + "".join("  - { port: %d, address: x }\n" % i
                                         for i in range(70))),
    ("many-targets", "ports: [{ port: 0, address: 10.0.0.1/16 }]\nservices:\n"
                     "  - prefix: \"01/8\"\n    action: forward\n    targets:\n" +
                     "".join("      - { address: 10.0.%d.%d }\n" % (i // 200, 2 + i % 200)
                             for i in range(65))),
    ("long-key", "ports: [{ port: 0, address: 192.0.2.1/24 }]\n" + "k" * 300 + ": 1\n"),
    ("long-path", "ports: [{ port: 0, address: 192.0.2.1/24 }]\nflows: { timeouts: { " +
                  "x" * 200 + ": 1 } }\n"),
    ("nul-escape", "ports: [{ port: 0, address: \"192.0.2.1/24\\0junk\" }]\n"),
    ("nul-key", "\"ports\\x00x\": [{ port: 0, address: 192.0.2.1/24 }]\n"),
    ("nul-socket", "ports: [{ port: 0, address: 192.0.2.1/24 }]\n"
                   "management: { socket: \"/run/a\\u0000/../x\" }\n"),
    ("two-ports-overlap", "ports: [{ port: 0, address: 10.0.0.1/8 }, "
                          "{ port: 1, address: 10.1.0.1/16 }]\n"),
]


def config_seeds():
    items = []
    paths = [os.path.join(ROOT, "config", "default.yaml")]
    for d in (os.path.join(ROOT, "config", "examples"), os.path.join(ROOT, "tests", "data",
                                                                     "config")):
        paths += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith(".yaml")]
    for p in paths:
        with open(p, "rb") as f:
            items.append(("file-" + os.path.basename(p)[:-5], f.read()))
    items.append(("base", BASE_MAP.encode()))
    items.append(("edge-defaults", (EDGE_TEMPLATE % EDGE_DEFAULTS).encode()))
    for key in sorted(EDGE_VALUES):
        for i, v in enumerate(EDGE_VALUES[key] + WRONG_KINDS):
            vals = dict(EDGE_DEFAULTS)
            vals[key] = v
            items.append(("edge-%s-%02d" % (key, i), (EDGE_TEMPLATE % vals).encode()))
    for name, text in CONFIG_SNIPPETS:
        items.append(("yaml-" + name, text.encode()))
    return named("config", items)


# ---- mgmt: management request lines ----

MGMT_LINES = [
    '{"id":1,"op":"version"}',
    '{"id":"a","op":"stats"}',
    '{"id":2,"op":"rule.add","prefix":"00015b38/32","action":"forward","mode":"gateway",'
    '"targets":[{"address":"192.0.2.10","weight":3,"priority":1},{"address":"192.0.2.11"}]}',
    '{"id":2,"op":"rule.add","prefix":"ab/8","action":"forward","targets":[{"address":'
    '"192.0.2.10"}],"health":{"interval_ms":10,"timeout_ms":10,"fall":100,"rise":1,'
    '"on_down":"reset"}}',
    '{"id":2,"op":"rule.add","prefix":"ab/8","action":"drop","health":{}}',
    '{"id":3,"op":"rule.replace","prefix":"0000ff/24","action":"delay",'
    '"delay":{"queue":8,"timeout_ms":100}}',
    '{"id":4,"op":"rule.delete","prefix":"dead/16"}',
    '{"id":5,"op":"target.add","prefix":"4001/16","address":"192.0.2.12","weight":0}',
    '{"id":6,"op":"target.remove","prefix":"4001/16","address":"192.0.2.12"}',
    '{"id":7,"op":"target.set","prefix":"4001/16","address":"192.0.2.12","priority":9}',
    '{"id":8,"op":"target.drain","prefix":"4001/16","address":"192.0.2.12"}',
    '{"id":9,"op":"rules.list","prefix":"0/0"}',
    '{"id":10,"op":"resolve","service_id":"00015b38","client":"192.0.2.100",'
    '"client_flow_id":4294967295}',
    '{"id":11,"op":"flows.list","limit":100000,"prefix":"ab/8","target":"192.0.2.10"}',
    '{"id":12,"op":"flows.show","flow_id":1}',
    '{"id":13,"op":"flows.delete","flow_id":4294967296}',
    '{"id":14,"op":"reload","path":"/etc/serval-sr.yaml"}',
    '{"id":15,"op":"subscribe","events":["delay_miss","rule","lease","health"]}',
    '{"id":16,"op":"unsubscribe","events":[]}',
    '{"id":17,"op":"register","prefix":"4001/32","address":"192.0.2.20","lease_s":86400}',
    '{"id":18,"op":"refresh","prefix":"4001/32","address":"192.0.2.20"}',
    '{"id":19,"op":"unregister","prefix":"4001/32","address":"192.0.2.20"}',
    '{"id":20,"op":"batch","ops":[{"op":"rule.add","prefix":"01/8","action":"drop"},'
    '{"op":"target.drain","prefix":"4001/16","address":"192.0.2.12"},'
    '{"op":"batch","ops":[]}]}',
    '{"id":-9223372036854775808,"op":"version"}',
    '{"id":"%s","op":"version"}' % ("x" * 129),
    '{"id":1.5,"op":"version"}',
    '{"id":null,"op":"version"}',
    '{"id":1,"id":2,"op":"version"}',
    '{"id":1,"op":"nope"}',
    '{"id":1,"op":7}',
    '{"id":1}',
    '{"op":"version"}',
    '{"id":1,"op":"version","extra":true}',
    '{"id":1,"op":"reload","path":"/a\\u0000b"}',
    '{"id":1,"op":"rule.add","prefix":"\\u00e9/8","action":"drop"}',
    '[1,2,3]',
    '"string"',
    '42',
    'null',
    '',
    '{',
    '{"id":1,"op":"version"} trailing',
    '\ufeff{"id":1,"op":"version"}',
    '{"id":1,"op":"rule.add","prefix":"01/8","action":"forward","targets":[' +
    ",".join('{"address":"10.0.%d.%d"}' % (i // 200, 1 + i % 200) for i in range(65)) + ']}',
]


# Inputs of findings, kept as seeds so every run starts by checking them:
# an error message holding a cut UTF-8 sequence (a %.64s cut, or jansson's
# own error text) must still give an error reply.
MGMT_REGRESS = [
    ("regress-utf8-cut-op", '{"id":1,"op":"a%s"}' % ("\u00e9" * 40)),
    ("regress-utf8-jansson-error", '{"id":1,"op":"rule.add","prefix":"\\u0\u04199/8",'
                                   '"action":"drop"}'),
]


def c_strings(path):
    """Requests in a C test file: adjacent string literals starting with {\\" joined."""
    with open(path) as f:
        text = f.read()
    lit = r'"((?:[^"\\\n]|\\.)*)"'
    for m in re.finditer(r'(?:%s\s*)+' % lit, text):
        parts = re.findall(lit, m.group(0))
        s = "".join(parts)
        if not s.startswith('{\\"'):
            continue
        yield s.encode().decode("unicode_escape").encode("latin-1")


def mgmt_seeds():
    items = [(None, line.encode()) for line in MGMT_LINES]
    test = os.path.join(ROOT, "tests", "mgmt", "test_mgmt_parse.c")
    if os.path.exists(test):
        items += [(None, b) for b in c_strings(test)]
    doc = os.path.join(ROOT, "docs", "management.md")
    if os.path.exists(doc):
        with open(doc, "rb") as f:
            for line in f.read().splitlines():
                line = line.strip()
                if line.startswith(b"{") and b'"op"' in line:
                    items.append((None, line))
    items += [(name, line.encode()) for name, line in MGMT_REGRESS]
    # a pipelined pair, as a client may write them in one go
    items.append(("pipelined", (MGMT_LINES[0] + "\n" + MGMT_LINES[2] + "\n").encode()))
    return named("mgmt", items)


# ---- worker: Ethernet frames for fuzz_worker's router ----

R_MAC = bytes.fromhex("020000000001")
H_MAC = bytes.fromhex("020000000099")
R_IP, CLIENT_IP, INST_IP, PEER_IP = (bytes([192, 0, 2, x]) for x in (1, 100, 11, 10))


def l4_csum(src, dst, proto, seg):
    return csum(src + dst + struct.pack("!BBH", 0, proto, len(seg)) + seg)


def frame(l3_payload, proto=144, src=CLIENT_IP, dst=R_IP, ttl=64, frag=0, opts=b"",
          eth_dst=R_MAC, ethertype=0x0800):
    ihl = 5 + len(opts) // 4
    ip = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 4 * ihl + len(l3_payload), 1, frag, ttl,
                     proto, 0, src, dst) + opts
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return eth_dst + H_MAC + struct.pack("!H", ethertype) + ip + l3_payload


def sal_bytes(exts, src_fid=1, dst_fid=0, proto=6):
    h = struct.pack("!IIBBH", src_fid, dst_fid, (12 + len(exts)) // 4, proto, 0) + exts
    return h[:10] + struct.pack("!H", csum(h)) + h[12:]


def tcp_seg(src, dst, flags=0x02, payload=b""):
    seg = struct.pack("!HHIIBBHHH", 0, 0, 1, 0, 0x50, flags, 65535, 0, 0) + payload
    return seg[:16] + struct.pack("!H", l4_csum(src, dst, 6, seg)) + seg[18:]


def control(flags, nonce=1, verno=1, ackno=0):
    return struct.pack("!BBBBIIQ", 0x10, 20, flags, 0, verno, ackno, nonce)


def service(hexid):
    return bytes([0x20, 36, 0, 0]) + bytes.fromhex(hexid.ljust(64, "0"))


def sal_frame(exts, src=CLIENT_IP, dst=R_IP, src_fid=1, dst_fid=0, l4=True, **kw):
    body = sal_bytes(exts, src_fid, dst_fid)
    return frame(body + (tcp_seg(src, dst) if l4 else b""), src=src, dst=dst, **kw)


def worker_seeds():
    items = []
    for name, sid_hex in (("web", "00015b38"), ("gateway", "0000ab12"), ("delay", "0000ff01"),
                          ("local", "0000000e"), ("drop", "dead0001"), ("none", "12345678")):
        items.append(("syn-" + name, sal_frame(control(0x80) + service(sid_hex))))
    src2 = bytes([0x40, 12, 0, 0]) + CLIENT_IP + bytes([198, 51, 100, 1])
    items += [
        ("syn-source", sal_frame(control(0x80) + service("00015b38") + src2)),
        ("syn-source-loop", sal_frame(control(0x80) + service("00015b38") +
                                      bytes([0x40, 12, 0, 0]) + CLIENT_IP + R_IP)),
        ("datagram", frame(sal_bytes(service("00015b38") + service("55555"), proto=17) +
                           struct.pack("!HHHH", 0, 0, 8, 0))),
        ("ack-no-flow", sal_frame(control(0x20), dst_fid=0x12345678)),
        ("data-no-flow", sal_frame(b"", dst_fid=0x2)),
        ("rsyn-no-flow", sal_frame(control(0x40), dst_fid=0x3, l4=False)),
        ("fin", sal_frame(control(0x04), dst_fid=0x100, l4=False)),
        ("rst", sal_frame(control(0x08), dst_fid=0x100, l4=False)),
        ("synack-from-instance", sal_frame(control(0xa0), src=INST_IP, src_fid=0x222,
                                           dst_fid=0x3)),
        ("syn-ttl1", sal_frame(control(0x80) + service("00015b38"), ttl=1)),
        ("syn-fragment", sal_frame(control(0x80) + service("00015b38"), frag=0x2000)),
        ("syn-options", sal_frame(control(0x80) + service("00015b38"), opts=b"\x01\x01\x01\x00")),
        ("syn-broadcast", sal_frame(control(0x80) + service("00015b38"), eth_dst=b"\xff" * 6)),
        ("transit-sal", sal_frame(control(0x80) + service("00015b38"), dst=PEER_IP)),
        ("transit-gateway", frame(tcp_seg(CLIENT_IP, bytes([198, 51, 100, 9])), proto=6,
                                  dst=bytes([198, 51, 100, 9]))),
        ("transit-unknown-neighbour", frame(b"\0" * 8, proto=17, dst=bytes([192, 0, 2, 77]))),
        ("icmp-echo", frame(bytes([8, 0]) + struct.pack("!H", csum(bytes([8, 0, 0, 0, 0, 1, 0, 1])
                                                                    + b"ping")) +
                            bytes([0, 1, 0, 1]) + b"ping", proto=1)),
        ("arp-request", b"\xff" * 6 + H_MAC + b"\x08\x06" +
         bytes.fromhex("0001080006040001") + H_MAC + CLIENT_IP + bytes(6) + R_IP),
        ("arp-reply", R_MAC + H_MAC + b"\x08\x06" + bytes.fromhex("0001080006040002") +
         H_MAC + CLIENT_IP + R_MAC + R_IP),
        ("runt", R_MAC + H_MAC),
    ]
    # in-band registration (docs/sal-wire.md): REGISTER and UNREGISTER of
    # serviceID 00004001/32 to this host, from host 55555 to router 88888
    for name, mtype in (("register", 0), ("unregister", 1)):
        body = struct.pack("!BBHIBBBB4s", mtype, 0, 48, 7, 0, 0, 32, 0, CLIENT_IP) + \
            bytes.fromhex("00004001".ljust(64, "0"))
        udp = struct.pack("!HHHH", 0, 0, 8 + len(body), 0) + body
        udp = udp[:6] + struct.pack("!H", l4_csum(CLIENT_IP, R_IP, 17, udp)) + udp[8:]
        sal = sal_bytes(service("%08x" % 88888) + service("%08x" % 55555), proto=17)
        items.append((name, frame(sal + udp)))
    # the upstream packets, addressed to this router
    for b, name in sal_parse_seeds().items():
        if not name.startswith(("upstream", "crafted", "vector")) or len(b) < 20 or \
                b[0] >> 4 != 4:
            continue
        ihl = (b[0] & 0xf) * 4
        ip = bytearray(b[:ihl])
        ip[16:20] = R_IP
        ip[10:12] = b"\0\0"
        ip[10:12] = struct.pack("!H", csum(bytes(ip)))
        items.append((name, R_MAC + H_MAC + b"\x08\x00" + bytes(ip) + b[ihl:]))
    return named("worker", items)


def write(target, seeds):
    """seeds: {bytes: name}; replaces the directory's content."""
    out = os.path.join(CORPUS, target)
    os.makedirs(out, exist_ok=True)
    for old in os.listdir(out):
        os.unlink(os.path.join(out, old))
    for b, name in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(b)
    print("%d seeds in %s" % (len(seeds), out), file=sys.stderr)


def named(prefix, items):
    """{bytes: name} from (label or None, bytes); unnamed ones by content hash."""
    seeds = {}
    for label, b in items:
        if label is None:
            label = hashlib.sha1(b).hexdigest()[:8]
        seeds.setdefault(b, "%s-%s" % (prefix, label))
    return seeds


TARGETS = {
    "sal_parse": sal_parse_seeds,
    "config": config_seeds,
    "mgmt": mgmt_seeds,
    "worker": worker_seeds,
}


def main():
    wanted = sys.argv[1:] or list(TARGETS)
    for t in wanted:
        if t not in TARGETS:
            sys.exit("unknown target %r (have: %s)" % (t, ", ".join(TARGETS)))
        write(t, TARGETS[t]())


if __name__ == "__main__":
    main()
