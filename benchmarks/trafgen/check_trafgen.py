#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The serval-sr authors
"""Check ssr-trafgen's pcaps from the outside.

1. The same seed gives byte-identical files (several profiles, size specs
   and both transports); another seed gives different bytes.
2. scapy with tests/sal.py decodes every frame as IPv4 + SAL with valid
   IPv4, SAL and TCP/UDP checksums, and the counts per kind match the tool's
   JSON summary (SYNs carry CONTROL with SYN and a SERVICE extension, data
   has shl 3).

usage: check_trafgen.py SSR_TRAFGEN CONFIG.yaml TESTS_DIR
Exits 77 (skipped) when scapy is missing.
"""

import json
import os
import subprocess
import sys
import tempfile


def run(tool, config, out, *args):
    cmd = [tool, "-c", config, "-o", out, "--json", "-q"] + list(args)
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, check=False)
    if res.returncode != 0:
        sys.exit("FAIL: %s: exit %d: %s" % (" ".join(cmd), res.returncode, res.stderr))
    return json.loads(res.stdout)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    tool, config, tests_dir = sys.argv[1:]
    sys.path.insert(0, tests_dir)
    try:
        import sal  # noqa: F401  (binds SAL to IP protocol 144)
        from scapy.all import IP, TCP, UDP, rdpcap
    except ImportError as e:
        print("SKIP: scapy not available: %s" % e)
        sys.exit(77)

    cases = [
        ("mix", ["-s", "64-1518"]),
        ("syn-mix", ["-s", "imix", "-t", "udp"]),
        ("transit", ["-s", "64", "-t", "udp", "--clients", "5000"]),
        ("handshake", ["-s", "128,256:2"]),
        ("rsyn", []),
    ]
    with tempfile.TemporaryDirectory(prefix="check_trafgen_") as tmp:
        for profile, extra in cases:
            a, b, c = (os.path.join(tmp, "%s-%s.pcap" % (profile, x)) for x in "abc")
            args = ["-p", profile, "-n", "2000", "--seed", "11"] + extra
            run(tool, config, a, *args)
            run(tool, config, b, *args)
            run(tool, config, c, *(["-p", profile, "-n", "2000", "--seed", "12"] + extra))
            with open(a, "rb") as fa, open(b, "rb") as fb, open(c, "rb") as fc:
                da, db, dc = fa.read(), fb.read(), fc.read()
            if da != db:
                sys.exit("FAIL: %s: same seed, different bytes" % profile)
            if da == dc:
                sys.exit("FAIL: %s: seeds 11 and 12 gave the same bytes" % profile)
        print("ok: same seed -> identical pcaps, other seed -> different (%d profiles)"
              % len(cases))

        path = os.path.join(tmp, "scapy.pcap")
        summary = run(tool, config, path, "-p", "mix", "-n", "1500", "-s", "64-1518",
                      "--seed", "3")
        frames = rdpcap(path)
        if len(frames) != summary["packets"]:
            sys.exit("FAIL: %d frames in the file, summary says %d"
                     % (len(frames), summary["packets"]))
        seen = {"syn": 0, "data": 0, "ack": 0, "rsyn": 0}
        for i, p in enumerate(frames):
            if IP not in p or sal.SAL not in p:
                sys.exit("FAIL: frame %d is not IPv4 + SAL: %r" % (i, p))
            ip = p[IP]
            ck = ip.chksum
            del ip.chksum
            if IP(bytes(ip)).chksum != ck:
                sys.exit("FAIL: frame %d: bad IPv4 checksum" % i)
            p = type(p)(bytes(p))
            if not sal.sal_checksum_ok(p):
                sys.exit("FAIL: frame %d: bad SAL checksum" % i)
            if not sal.transport_checksum_ok(p):
                sys.exit("FAIL: frame %d: bad transport checksum" % i)
            s = p[sal.SAL]
            if TCP not in p and UDP not in p:
                sys.exit("FAIL: frame %d: no transport header" % i)
            ctl = s.control()
            if ctl is None:
                if s.shl != 3 or s.dst_flowid == 0:
                    sys.exit("FAIL: frame %d: data with shl %d, dst_flowid %#x"
                             % (i, s.shl, s.dst_flowid))
                seen["data"] += 1
            elif "SYN" in ctl.flags:
                if len(s.service_ids()) != 1 or s.dst_flowid != 0:
                    sys.exit("FAIL: frame %d: SYN without one SERVICE or with a dst_flowid" % i)
                seen["syn"] += 1
            elif "RSYN" in ctl.flags:
                seen["rsyn"] += 1
            elif "ACK" in ctl.flags:
                seen["ack"] += 1
        k = summary["kinds"]
        want = {"syn": k["syn"] + k["miss"], "data": k["data-c2s"] + k["data-s2c"],
                "ack": k["ack"], "rsyn": k["rsyn"]}
        if seen != want:
            sys.exit("FAIL: scapy counts %s, summary %s" % (seen, want))
        print("ok: scapy decodes %d frames, checksums valid, kinds %s" % (len(frames), seen))


if __name__ == "__main__":
    main()
