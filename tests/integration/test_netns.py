#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The serval-sr authors
"""End to end with real hosts: two network namespaces, serval-sr between them.

    client ns 198.18.1.1/24 (and .2 for migration) -- veth --+
                                                              serval-sr (net_af_packet x2)
    server ns 198.18.2.2/24 ------------------------- veth --+

Each namespace's kernel owns its addresses, answers ARP and routes through
the router (198.18.1.254 / 198.18.2.254); the SAL endpoints are
tests/integration/sal_host.py on raw sockets. Two conversations:
  - resolve mode (00004001/256, as the original router): the SYN is resolved
    to 198.18.2.2 with a SOURCE extension; the SYN-ACK, ACK, data and FIN go
    directly between the hosts, across serval-sr by plain IPv4 forwarding.
  - gateway mode (00004002/256): the router stays on the path, translates
    flowIDs, and keeps the flow when the client moves to 198.18.1.2 (RSYN).
Everything created here is deleted on the way out, also on failure.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TAG = "%d" % (os.getpid() % 100000)
NS_C, NS_S = "ssr-c" + TAG, "ssr-s" + TAG
RC, RS = "ssrc" + TAG, "ssrs" + TAG       # router's ends (root namespace)
HC, HS = "ssrhc" + TAG, "ssrhs" + TAG     # hosts' ends (moved into namespaces)

CONFIG = """
ports:
  - { port: 0, address: 198.18.1.254/24 }
  - { port: 1, address: 198.18.2.254/24 }
services:
  - prefix: "00004001/256"
    action: forward
    mode: resolve
    targets: [{ address: 198.18.2.2 }]
  - prefix: "00004002/256"
    action: forward
    mode: gateway
    targets: [{ address: 198.18.2.2 }]
"""

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def sh(*cmd, ns=None, check_rc=True):
    if ns is not None:
        cmd = ("ip", "netns", "exec", ns) + cmd
    p = subprocess.run(cmd, capture_output=True, text=True)
    if check_rc and p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), p.stderr.strip()))
    return p


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def setup():
    for ns, host, router, addr, gw in ((NS_C, HC, RC, "198.18.1.1/24", "198.18.1.254"),
                                       (NS_S, HS, RS, "198.18.2.2/24", "198.18.2.254")):
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", router, "type", "veth", "peer", "name", host)
        sh("ip", "link", "set", host, "netns", ns)
        for ifc, where in ((router, None), (host, ns), ("lo", ns)):
            sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % ifc, ns=where,
               check_rc=False)
            sh("ip", "link", "set", ifc, "up", ns=where)
        sh("ip", "addr", "add", addr, "dev", host, ns=ns)
        sh("ip", "route", "add", "default", "via", gw, ns=ns)
    # the client's second address, for the migration
    sh("ip", "addr", "add", "198.18.1.2/24", "dev", HC, ns=NS_C)


def teardown():
    for ns in (NS_C, NS_S):
        pids = sh("ip", "netns", "pids", ns, check_rc=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        sh("ip", "netns", "del", ns, check_rc=False)
    for ifc in (RC, RS):
        sh("ip", "link", "del", ifc, check_rc=False)


def parse_counters(text):
    """The `total:` block serval-sr prints at exit, as a dict."""
    counters, in_total = {}, False
    for line in text.splitlines():
        if line.startswith("total:"):
            in_total = True
            continue
        if in_total:
            m = re.match(r"\s+([\w.]+): (\d+)", line)
            if not m:
                break
            counters[m.group(1)] = int(m.group(2))
    return counters


def run_client(service, migrate=None):
    cmd = ["/usr/bin/python3", os.path.join(HERE, "sal_host.py"), "client",
           "--addr", "198.18.1.1", "--router", "198.18.1.254", "--service", service]
    if migrate:
        cmd += ["--migrate-to", migrate]
    p = sh(*cmd, ns=NS_C, check_rc=False)
    steps = {}
    for line in p.stdout.splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            continue
        steps[d.get("step")] = d
    if p.returncode != 0:
        print(p.stdout + p.stderr)
    return p.returncode, steps


def conversation_checks(binary, tmp):
    cfg = os.path.join(tmp, "router.yaml")
    with open(cfg, "w") as f:
        f.write(CONFIG)
    args = [binary, "--no-huge", "-m", "512", "--no-pci", "--no-shconf", "-l", "0",
            "--file-prefix=ssr-netns-" + TAG,
            "--vdev=net_af_packet0,iface=%s,framecnt=8192" % RC,
            "--vdev=net_af_packet1,iface=%s,framecnt=8192" % RS,
            "--", "-c", cfg]
    router = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    server = subprocess.Popen(["ip", "netns", "exec", NS_S, "/usr/bin/python3",
                               os.path.join(HERE, "sal_host.py"), "server",
                               "--addr", "198.18.2.2", "--seconds", "90"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # the router is up when the client's kernel can ping it
        deadline = time.time() + 60
        while time.time() < deadline and router.poll() is None:
            if sh("ping", "-c", "1", "-W", "1", "198.18.1.254", ns=NS_C,
                  check_rc=False).returncode == 0:
                break
        if not check(router.poll() is None, "router exited early"):
            return
        check(sh("ping", "-c", "1", "-W", "2", "198.18.2.2", ns=NS_C,
                 check_rc=False).returncode == 0, "client pings the server through serval-sr")

        rc, st = run_client("00004001")
        check(rc == 0, "resolve: every step answered")
        s = st.get("syn", {})
        check(s.get("src") == "198.18.2.2", "resolve: SYN-ACK comes from the instance itself")
        check(s.get("source") == ["198.18.1.1", "198.18.1.254", "198.18.2.2"],
              "resolve: SOURCE echoed [client, router, instance]: %s" % s.get("source"))
        check(st.get("data", {}).get("data") == "HELLO", "resolve: data echoed")
        check(st.get("data", {}).get("src") == "198.18.2.2", "resolve: data from the instance")
        check(all(v.get("ok") for v in st.values()), "resolve: every checksum valid")

        rc, st = run_client("00004002", migrate="198.18.1.2")
        check(rc == 0, "gateway: every step answered")
        s = st.get("syn", {})
        check(s.get("src") == "198.18.1.254", "gateway: SYN-ACK comes from the router")
        check(st.get("data", {}).get("data") == "HELLO", "gateway: data echoed")
        check(st.get("rsyn", {}).get("dst") == "198.18.1.2",
              "gateway: RSYN+ACK reaches the new address")
        check(st.get("data-after-migration", {}).get("data") == "MOVED",
              "gateway: the flow survives the migration")
        check(st.get("data-after-migration", {}).get("dst") == "198.18.1.2",
              "gateway: data follows the client")
        check(all(v.get("ok") for v in st.values()), "gateway: every checksum valid")
    finally:
        if router.poll() is None:
            router.send_signal(signal.SIGTERM)
        try:
            out = router.communicate(timeout=60)[0]
        except subprocess.TimeoutExpired:
            router.kill()
            out = router.communicate()[0]
        server.kill()
        server_out = server.communicate()[0]
    check(router.returncode == 0, "router exit status %s" % router.returncode)
    c = parse_counters(out)
    check(c.get("sal_resolved", 0) >= 1, "counters: a SYN resolved")
    check(c.get("sal_flows_created", 0) >= 1, "counters: a gateway flow created")
    check(c.get("sal_migrated", 0) == 1, "counters: one migration")
    check(c.get("rx", 0) + c.get("generated", 0) ==
          c.get("tx", 0) + c.get("consumed", 0) + c.get("dropped", 0),
          "counters balance: rx + generated == tx + consumed + dropped")
    if failures:
        print(out)
        print(server_out)


def main():
    if os.geteuid() != 0:
        skip("needs root for network namespaces")
    for tool, pkg in (("ip", "iproute2"), ("ping", "iputils-ping")):
        if shutil.which(tool) is None:
            skip("no '%s' command (apt-get install %s)" % (tool, pkg))
    binary = sys.argv[1]
    try:
        import scapy  # noqa: F401
    except ImportError:
        skip("scapy missing under /usr/bin/python3")
    try:
        setup()
    except RuntimeError as e:
        teardown()
        skip("cannot create namespaces and veth pairs: %s" % e)
    tmp = tempfile.mkdtemp(prefix="ssr-netns.")
    try:
        conversation_checks(binary, tmp)
    finally:
        teardown()
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("FAIL:")
        for f in failures:
            print("  " + f)
        return 1
    print("ok: resolve and gateway conversations between namespaces, migration kept the flow")
    return 0


if __name__ == "__main__":
    sys.exit(main())
