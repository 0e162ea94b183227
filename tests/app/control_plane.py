#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The serval-sr authors
"""serval-sr's control plane against the real binary.

usage: control_plane.py <serval-sr> <servalctl> <source-root> <case>

Cases:
  ops      every management operation and error path, through the socket
           and through servalctl; concurrent clients; events; leases;
           reloads (a bad file changes nothing, counters survive); flows
           list/show/delete (the owner worker deletes); DPDK telemetry;
           OpenMetrics from the live router
  live     over a veth (net_pcap rx_iface, tx_pcap): DELAY -> delay_miss
           event -> rule.replace -> the held SYN leaves (output pcap);
           in-band REGISTER / re-register / UNREGISTER datagrams built per
           docs/sal-wire.md from allowed and refused hosts, and the replies
  health   over a veth (net_af_packet): a target that never answers is
           marked down, one a scapy responder answers stays up and gets
           the flows; the answering one stops, goes down, comes back up
  drain    over a veth (net_af_packet): a gateway flow keeps its target
           while the target is drained; new flows avoid it
  update   traffic through the router while thousands of rule changes,
           batches and reloads land: every packet leaves by the old or the
           new rules, none is lost to an update (counters balance)

Exit 0 = pass, 1 = fail, 77 = skip.
"""

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import integration as it  # noqa: E402  (scapy, the SAL layer, helpers)
from integration import check, eq  # noqa: E402
from scapy.all import IP, TCP, UDP, Ether, Raw, rdpcap  # noqa: E402
from sal import SAL, SALControl, SALService, sid, sid_num  # noqa: E402

ROUTER_MAC = it.ROUTER_MAC
HOST = it.HOST


# ---- a management client ----

class Mgmt:
    """One connection to the management socket: requests, replies, events."""

    def __init__(self, path, timeout=10.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""
        self.n = 0
        self.events = []

    def close(self):
        self.s.close()

    def send(self, data):
        self.s.sendall(data)

    def read(self):
        """The next line as JSON (None when the server closed)."""
        while b"\n" not in self.buf:
            try:
                chunk = self.s.recv(65536)
            except ConnectionResetError:
                chunk = b""   # closed with our unread request bytes: a reset
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def reply(self, rid):
        while True:
            o = self.read()
            if o is None:
                return None
            if "event" in o:
                self.events.append(o)
                continue
            if o.get("id") == rid:
                return o

    def call(self, op, **args):
        self.n += 1
        req = dict(args, id=self.n, op=op)
        self.send((json.dumps(req) + "\n").encode())
        return self.reply(self.n)

    def ok(self, op, what=None, **args):
        r = self.call(op, **args)
        if not check(r is not None and r.get("ok") is True,
                     "%s: %s ok (%r)" % (what or op, op, r)):
            return {}
        return r["result"]

    def fails(self, op, code, field=None, what=None, **args):
        r = self.call(op, **args)
        if not check(r is not None and r.get("ok") is False,
                     "%s: %s refused (%r)" % (what or op, op, r)):
            return {}
        err = r["error"]
        eq(err.get("code"), code, "%s: %s error code" % (what or op, op))
        if field is not None:
            eq(err.get("field"), field, "%s: %s error field" % (what or op, op))
        return err

    def wait_event(self, pred, timeout=10.0, what="event"):
        """Return the first event (queued or arriving) that pred accepts."""
        deadline = time.time() + timeout
        while True:
            for i, e in enumerate(self.events):
                if pred(e):
                    return self.events.pop(i)
            left = deadline - time.time()
            if left <= 0:
                check(False, "%s: no such event within %.0f s (have %r)" %
                      (what, timeout, self.events))
                return None
            self.s.settimeout(left)
            try:
                o = self.read()
            except socket.timeout:
                continue
            finally:
                self.s.settimeout(10.0)
            if o is None:
                check(False, "%s: connection closed" % what)
                return None
            if "event" in o:
                self.events.append(o)


# ---- the router ----

class Router:
    """serval-sr with a management socket in a scratch directory."""

    def __init__(self, binary, ctl, name, tmp, config, vdevs, lcores="0"):
        self.binary, self.ctl, self.name, self.tmp = binary, ctl, name, tmp
        self.sock = os.path.join(tmp, "sock", "ssr.sock")
        self.cfg = os.path.join(tmp, "router.yaml")
        with open(self.cfg, "w") as f:
            f.write(config.replace("@SOCK@", self.sock))
        self.prefix = "ssr-cp-%s-%d" % (name, os.getpid())
        self.args = [binary] + it.EAL + ["--file-prefix=" + self.prefix, "-l", lcores]
        self.args += ["--vdev=" + v for v in vdevs] + ["--", "-c", self.cfg]
        self.out = open(os.path.join(tmp, "stdout.txt"), "w+")
        self.err = open(os.path.join(tmp, "stderr.txt"), "w+")
        self.proc = subprocess.Popen(self.args, stdout=self.out, stderr=self.err,
                                     cwd=tmp)
        self.run = it.Run(binary, name, tmp)
        self.run.args = self.args
        deadline = time.time() + 60
        self.up = False
        while time.time() < deadline and self.proc.poll() is None:
            try:
                m = Mgmt(self.sock, timeout=5)
                r = m.call("version")
                m.close()
                if r is not None and r.get("ok"):
                    self.up = True
                    break
            except OSError:
                pass
            time.sleep(0.1)
        check(self.up, "%s: the management socket answers" % name)

    def mgmt(self):
        return Mgmt(self.sock)

    def ctlrun(self, *args, timeout=30):
        return subprocess.run([self.ctl, "-s", self.sock] + list(args),
                              capture_output=True, text=True, timeout=timeout)

    def log(self):
        self.err.flush()
        with open(self.err.name) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            check(False, "%s: router did not stop" % self.name)
        it.remove_runtime_dir(self.args)
        for f in (self.out, self.err):
            f.flush()
            f.seek(0)
        self.run.stdout, self.run.stderr = self.out.read(), self.err.read()
        self.out.close()
        self.err.close()
        if not eq(self.proc.returncode, 0, "%s: exit status" % self.name):
            print(self.run.stdout)
            print(self.run.stderr)
        check(not os.path.exists(self.sock), "%s: socket file removed at exit" % self.name)
        return self.run.check_invariant()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        it.remove_runtime_dir(self.args)


def wait_for(pred, timeout=10.0, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def stats(m):
    return m.ok("stats")


def counter(m, name):
    return stats(m).get("counters", {}).get(name, 0)


# ---- telemetry ----

def telemetry(prefix, cmds):
    """Answers of DPDK telemetry commands over the EAL runtime directory."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(10)
    s.connect(os.path.join(it.DPDK_RUN, prefix, "dpdk_telemetry.v2"))
    hello = json.loads(s.recv(16384))
    out = {}
    for c in cmds:
        s.send(c.encode())
        out[c] = json.loads(s.recv(1 << 20))
    s.close()
    return hello, out


# ---- case: every operation ----

OPS_CFG = """
ports:
  - { port: 0, address: 192.0.2.1/24, mac: "02:00:00:00:00:01" }
neighbors:
  - { ip: 192.0.2.10, mac: "02:00:00:00:00:10" }
  - { ip: 192.0.2.11, mac: "02:00:00:00:00:11" }
  - { ip: 192.0.2.12, mac: "02:00:00:00:00:12" }
  - { ip: 192.0.2.20, mac: "02:00:00:00:00:20" }
  - { ip: 192.0.2.100, mac: "02:00:00:00:00:99" }
flows: { timeouts: { syn: 10m } }
services:
  - prefix: "00015b38/32"
    action: forward
    targets:
      - { address: 192.0.2.10, weight: 3 }
      - { address: 192.0.2.11, weight: 1 }
  - { prefix: "0000ff/24", action: delay, delay: { queue: 4, timeout_ms: 60000 } }
  - { prefix: "dead/16", action: drop }
  - prefix: "0000abcd/32"
    action: forward
    mode: gateway
    targets: [{ address: 192.0.2.20 }]
management:
  socket: @SOCK@
  allow_uids: [4242]
"""

BAD_RELOAD = """ports:
  - { port: 0, address: 192.0.2.1/24 }
services:
  - { prefix: "4001/8", action: drop }
  - { prefix: "4002/16", action: jump }
"""


def rules_view(m):
    """rules.list without the counters (what a reload must keep)."""
    out = []
    for r in m.ok("rules.list").get("rules", []):
        r = dict(r)
        r.pop("counters", None)
        out.append(r)
    return out


def case_ops(binary, ctl, root, tmp):
    os.chmod(tmp, 0o755)   # a uid of 65534 must reach the socket
    web = it.PickOracle([("192.0.2.10", 3, 0), ("192.0.2.11", 1, 0)], it.lut_bits_rule(root))
    pkts, want_sel = [], {"192.0.2.10": 0, "192.0.2.11": 0}
    for i in range(24):
        client = "192.0.2.%d" % (100 + i % 5)
        pkts.append(it.sal_pkt(client, 500 + i, "00015b38", ip_id=i))
        want_sel[web.pick(client, 500 + i)] += 1
    # one gateway flow, half open (the SYN timeout is long)
    pkts.append(it.sal_pkt("192.0.2.100", 0x77, "0000abcd", ip_id=99, nonce=0x55))
    inp = os.path.join(tmp, "in.pcap")
    it.wrpcap(inp, pkts)
    r = Router(binary, ctl, "ops", tmp, OPS_CFG,
               ["net_pcap0,rx_pcap=%s,tx_pcap=%s" % (inp, os.path.join(tmp, "out.pcap"))],
               lcores="0-1" if os.cpu_count() >= 2 else "0")
    try:
        if r.up:
            _ops(r, root, tmp, want_sel, web)
    finally:
        c = r.stop()
    eq(c.get("sal_resolved"), 24, "ops: resolved at the end")


def _ops(r, root, tmp, want_sel, web):
    m = r.mgmt()
    eq(m.ok("version").get("name"), "serval-sr", "ops: version")
    # the replayed traffic has gone through
    check(wait_for(lambda: counter(m, "rx") >= 25, 20), "ops: traffic replayed")
    check(wait_for(lambda: counter(m, "sal_flows_created") >= 1, 10), "ops: gateway flow")

    # -- rules.list and counters from the live data path --
    rl = m.ok("rules.list")["rules"]
    eq([x["prefix"] for x in rl], ["0000abcd/32", "0000ff/24", "00015b38/32", "dead/16"],
       "ops: listed in prefix order")
    web_rule = [x for x in rl if x["prefix"] == "00015b38/32"]
    if eq(len(web_rule), 1, "ops: the web rule is listed"):
        eq(web_rule[0]["counters"]["matched"], 24, "ops: rule counter matched")
        eq(web_rule[0]["counters"]["forwarded"], 24, "ops: rule counter forwarded")
        eq([t["address"] for t in web_rule[0]["targets"]], ["192.0.2.10", "192.0.2.11"],
           "ops: targets in the order set")
    one = m.ok("rules.list", prefix="dead/16")["rules"]
    eq([x["prefix"] for x in one], ["dead/16"], "ops: rules.list by prefix")
    eq(m.ok("rules.list", prefix="beef/16")["rules"], [], "ops: rules.list of no rule")
    st = stats(m)
    sel = {t["address"]: t["counters"]["selected"] for t in st["targets"]
           if t["prefix"] == "00015b38/32"}
    eq(sel, want_sel, "ops: per-target selections equal the oracle's picks")
    eq(st["flows"]["gauges"]["active"], 1, "ops: one gateway flow")
    check("sal_no_service" in st["drops"] and "sal_reg_denied" in st["drops"],
          "ops: every drop reason reported (fixed shape)")
    check(len(st["workers"]) >= 2 and st["workers"][-1]["worker"] == "control",
          "ops: per-worker counters and the control lcore's")
    eq(st["ports"][0]["counters"]["rx_packets"], 25, "ops: port counters")
    eq(sum(w["counters"]["rx"] for w in st["workers"]), st["counters"]["rx"],
       "ops: workers add up to the total")
    check("mgmt" in st and st["mgmt"]["gauges"]["clients"] >= 1, "ops: server counters")

    # -- resolve: the same pick the worker makes --
    for client, fid in (("192.0.2.100", 500), ("198.51.100.7", 77), ("192.0.2.103", 9)):
        res = m.ok("resolve", service_id="00015b38", client=client, client_flow_id=fid)
        eq(res.get("verdict"), "forward", "ops: resolve verdict")
        eq((res.get("target") or {}).get("address"), web.pick(client, fid),
           "ops: resolve picks what the oracle picks for %s/%d" % (client, fid))
        eq(res.get("service_id"), "00015b38" + "0" * 56, "ops: resolve service_id")
    res = m.ok("resolve", service_id="00015b38")
    eq((res.get("rule", {}) or {}).get("prefix"), "00015b38/32", "ops: resolve rule")
    eq(res.get("target"), None, "ops: no target without a client")
    eq(m.ok("resolve", service_id="dead0001")["verdict"], "drop", "ops: resolve drop")
    eq(m.ok("resolve", service_id="0000ff01")["verdict"], "delay", "ops: resolve delay")
    eq(m.ok("resolve", service_id="5001")["verdict"], "no_match", "ops: resolve no match")
    eq(m.ok("resolve", service_id="5001")["rule"], None, "ops: resolve no rule")

    # -- changes --
    m.ok("rule.add", prefix="4001/16", action="forward", mode="gateway",
         targets=[{"address": "192.0.2.10", "weight": 3}, {"address": "192.0.2.11"}])
    m.fails("rule.add", "exists", "prefix", prefix="4001/16", action="drop")
    m.fails("rule.add", "invalid_argument", "targets[0].address", prefix="4009/16",
            action="forward", targets=[{"address": "10.9.9.9"}], what="unreachable")
    m.fails("rule.add", "invalid_argument", "targets[0].address", prefix="4009/16",
            action="forward", targets=[{"address": "192.0.2.1"}], what="router address")
    m.ok("target.add", prefix="4001/16", address="192.0.2.12", weight=5)
    m.fails("target.add", "exists", "address", prefix="4001/16", address="192.0.2.12")
    m.fails("target.add", "invalid_argument", "prefix", prefix="dead/16",
            address="192.0.2.12", what="target of a drop rule")
    m.fails("target.add", "not_found", "prefix", prefix="4444/16", address="192.0.2.12")
    m.ok("target.set", prefix="4001/16", address="192.0.2.12", priority=2)
    m.fails("target.set", "not_found", "address", prefix="4001/16", address="192.0.2.13",
            weight=1)
    m.ok("target.drain", prefix="4001/16", address="192.0.2.10")
    got = m.ok("rules.list", prefix="4001/16")["rules"][0]["targets"]
    eq([(t["address"], t["weight"], t["priority"]) for t in got],
       [("192.0.2.10", 0, 0), ("192.0.2.11", 1, 0), ("192.0.2.12", 5, 2)],
       "ops: target changes applied")
    res = m.ok("resolve", service_id="4001aa", client="192.0.2.100", client_flow_id=5)
    eq(res["target"]["address"], "192.0.2.12", "ops: the priority-2 target takes new flows")
    m.ok("target.remove", prefix="4001/16", address="192.0.2.11")
    m.ok("target.remove", prefix="4001/16", address="192.0.2.10")
    m.fails("target.remove", "invalid_argument", "address", prefix="4001/16",
            address="192.0.2.12", what="last target")
    m.ok("rule.replace", prefix="4001/16", action="drop")
    eq(m.ok("rules.list", prefix="4001/16")["rules"][0]["action"], "drop", "ops: replaced")
    m.ok("rule.delete", prefix="4001/16")
    m.fails("rule.delete", "not_found", "prefix", prefix="4001/16")

    # -- batch: all or nothing --
    before = rules_view(m)
    m.fails("batch", "not_found", "ops[1].prefix", ops=[
        {"op": "rule.add", "prefix": "4002/16", "action": "drop"},
        {"op": "target.drain", "prefix": "4444/16", "address": "192.0.2.10"}])
    eq(rules_view(m), before, "ops: a failed batch changed nothing")
    res = m.ok("batch", ops=[
        {"op": "rule.add", "prefix": "4002/16", "action": "forward",
         "targets": [{"address": "192.0.2.10"}]},
        {"op": "target.add", "prefix": "4002/16", "address": "192.0.2.11"},
        {"op": "target.drain", "prefix": "00015b38/32", "address": "192.0.2.11"}])
    eq(res.get("applied"), 3, "ops: batch applied")
    eq([t["weight"] for t in m.ok("rules.list", prefix="00015b38/32")["rules"][0]["targets"]],
       [3, 0], "ops: batch drained")

    # -- protocol errors --
    r2 = r.mgmt()
    r2.send(b'{"id":1,"op":\n')
    eq(r2.read()["error"]["code"], "parse_error", "ops: malformed JSON")
    r2.send(b'{"id":2,"op":"rule.frobnicate"}\n')
    eq(r2.read()["error"]["code"], "unknown_op", "ops: unknown operation")
    r2.fails("rule.delete", "invalid_argument", "prefix", prefix="40zz/16",
             what="bad serviceID")
    r2.fails("resolve", "invalid_argument", "service_id", service_id="4001/16")
    r2.fails("target.add", "invalid_argument", "address", prefix="00015b38/32",
             address="300.1.1.1", what="bad address")
    r2.fails("target.add", "invalid_argument", "address", prefix="00015b38/32",
             address="127.0.0.1", what="loopback address")
    r2.send(b'{"id":9,"op":"rules.list","pad":"' + b"x" * 70000 + b'"}\n')
    o = r2.read()
    eq((o or {}).get("error", {}).get("code"), "too_large", "ops: oversized request")
    eq(r2.read(), None, "ops: oversized request closes the connection")
    r2.close()

    # -- a peer whose uid is not allowed --
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgid(65534)
            os.setuid(65534)
            c = Mgmt(r.sock)
            o = c.read()
            code = 0 if o and o["error"]["code"] == "permission_denied" else 2
        except Exception:
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    eq(os.waitstatus_to_exitcode(status), 0, "ops: uid 65534 refused (permission_denied)")

    # -- concurrent clients --
    errors = []

    def writer(k):
        try:
            c = r.mgmt()
            # pipelined: 40 requests, then 40 replies in order
            for i in range(40):
                c.send((json.dumps({"id": i, "op": "rule.add", "prefix": "%04x%04x/32" %
                                    (0x5000 + k, i), "action": "drop"}) + "\n").encode())
            for i in range(40):
                o = c.read()
                if o is None or o.get("id") != i or not o.get("ok"):
                    errors.append((k, i, o))
            c.close()
        except Exception as e:  # noqa: BLE001
            errors.append((k, repr(e)))

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    eq(errors, [], "ops: concurrent clients all answered in order")
    got = [x["prefix"] for x in m.ok("rules.list")["rules"] if x["prefix"].startswith("50")]
    eq(len(got), 320, "ops: every concurrent rule.add applied")

    # -- events: another client sees the changes --
    ev = r.mgmt()
    eq(ev.ok("subscribe", events=["rule", "lease"])["events"], ["rule", "lease"],
       "ops: subscribed")
    m.ok("rule.add", prefix="4003/16", action="drop")
    e = ev.wait_event(lambda e: e["event"] == "rule", what="rule event")
    if e:
        eq((e.get("change"), e.get("prefix")), ("rule.add", "4003/16"), "ops: rule event")
    m.ok("batch", ops=[{"op": "rule.delete", "prefix": "4003/16"}])
    e = ev.wait_event(lambda e: e["event"] == "rule", what="batch event")
    if e:
        eq((e.get("change"), "prefix" in e), ("batch", False), "ops: batch event")

    # -- leases --
    m.ok("register", prefix="4005/32", address="192.0.2.30", lease_s=1)
    e = ev.wait_event(lambda e: e["event"] == "lease", what="lease registered")
    if e:
        eq((e["change"], e["prefix"], e["address"], e["origin"]),
           ("registered", "4005/32", "192.0.2.30", "socket"), "ops: lease registered event")
    t = m.ok("rules.list", prefix="4005/32")["rules"][0]["targets"][0]
    eq((t["address"], t.get("origin"), t.get("lease_s")), ("192.0.2.30", "socket", 1),
       "ops: leased target listed")
    m.fails("register", "exists", "address", prefix="00015b38/32", address="192.0.2.10",
            lease_s=5, what="register of a configured target")
    m.fails("refresh", "not_found", "address", prefix="4005/32", address="192.0.2.31")
    m.fails("unregister", "not_found", "address", prefix="00015b38/32",
            address="192.0.2.10", what="unregister of a configured target")
    m.ok("register", prefix="4006/32", address="192.0.2.31", lease_s=60)
    m.ok("refresh", prefix="4006/32", address="192.0.2.31", lease_s=120)
    m.ok("unregister", prefix="4006/32", address="192.0.2.31")
    eq(m.ok("rules.list", prefix="4006/32")["rules"], [], "ops: unregistered")
    e = ev.wait_event(lambda e: e["event"] == "lease" and e["change"] == "expired",
                      timeout=10, what="lease expiry")
    if e:
        eq((e["prefix"], e["address"]), ("4005/32", "192.0.2.30"), "ops: expired event")
    eq(m.ok("rules.list", prefix="4005/32")["rules"], [], "ops: expired target gone")

    # -- flows: list, show, delete (the owner worker deletes) --
    fl = m.ok("flows.list")
    if eq(len(fl.get("flows", [])), 1, "ops: one flow listed"):
        f = fl["flows"][0]
        eq((f["client"], f["client_flow_id"], f["target"], f["state"], f["prefix"]),
           ("192.0.2.100", 0x77, "192.0.2.20", "syn_seen", "0000abcd/32"), "ops: flow")
        eq(m.ok("flows.list", target="192.0.2.10")["flows"], [], "ops: flows by target")
        eq(len(m.ok("flows.list", prefix="0000abcd/32")["flows"]), 1, "ops: flows by prefix")
        m.fails("flows.list", "not_found", "prefix", prefix="7777/16")
        eq(m.ok("flows.show", flow_id=f["flow_id"])["flow"]["flow_id"], f["flow_id"],
           "ops: flows.show")
        eq(m.ok("flows.show", flow_id=f["flow_id"] | 1)["flow"]["flow_id"], f["flow_id"],
           "ops: either side's flowID finds it")
        eq(m.ok("flows.delete", flow_id=f["flow_id"]).get("deleted"), 1, "ops: deleted")
        m.fails("flows.show", "not_found", "flow_id", flow_id=f["flow_id"])
        m.fails("flows.delete", "not_found", "flow_id", flow_id=f["flow_id"])
        eq(stats(m)["flows"]["gauges"]["active"], 0, "ops: no flow left")

    # -- reload: a bad file changes nothing; a good one keeps counters --
    bad = os.path.join(tmp, "bad.yaml")
    with open(bad, "w") as f:
        f.write(BAD_RELOAD)
    before = rules_view(m)
    err = m.fails("reload", "invalid_argument", "path", path=bad)
    details = err.get("details", [])
    eq(details, [bad + ":4:15: services[0].prefix: serviceID \"4001/8\": bit 15 is set "
                 "beyond the prefix length 8",
                 bad + ":5:34: services[1].action: 'jump' is not one of: forward, local, "
                 "delay, drop"], "ops: every error with file:line:column")
    check("has 2 errors; the running rules are unchanged" in err.get("message", ""),
          "ops: reload error message (%r)" % err.get("message"))
    eq(rules_view(m), before, "ops: running rules unchanged after a bad reload")
    m.fails("reload", "not_found", "path", path=os.path.join(tmp, "missing.yaml"))
    res = m.ok("reload")
    eq(res.get("rules"), 4, "ops: reload from the start-up file")
    e = ev.wait_event(lambda e: e["event"] == "rule" and e["change"] == "reload",
                      what="reload event")
    after = m.ok("rules.list")["rules"]
    eq(len(after), 4, "ops: socket-added rules went with the reload")
    web_rule = [x for x in after if x["prefix"] == "00015b38/32"][0]
    eq(web_rule["counters"]["matched"], 24, "ops: per-rule counters survive the reload")
    eq([t["weight"] for t in web_rule["targets"]], [3, 1], "ops: the file's weights back")
    sel = {t["address"]: t["counters"]["selected"] for t in stats(m)["targets"]
           if t["prefix"] == "00015b38/32"}
    eq(sel, want_sel, "ops: per-target counters survive the reload")

    # -- servalctl against the live router --
    p = r.ctlrun("rule", "add", "4010/16", "--action", "forward", "--target",
                 "192.0.2.10:w=2", "--target", "192.0.2.11", "--health")
    eq((p.returncode, p.stdout), (0, "ok\n"), "ops: servalctl rule add")
    p = r.ctlrun("target", "drain", "4010/16", "192.0.2.10")
    eq(p.returncode, 0, "ops: servalctl target drain")
    p = r.ctlrun("rules", "4010/16")
    check(p.returncode == 0 and "192.0.2.10 w=0 p=0 up, 192.0.2.11 w=1 p=0 up" in p.stdout,
          "ops: servalctl rules shows the drain and health (%r)" % p.stdout)
    p = r.ctlrun("resolve", "4010ff", "--client", "192.0.2.100", "--flow-id", "3")
    check(p.returncode == 0 and "192.0.2.11" in p.stdout and "forward" in p.stdout,
          "ops: servalctl resolve (%r)" % p.stdout)
    p = r.ctlrun("rule", "add", "4010/16", "--action", "drop")
    check(p.returncode == 1 and "[exists]" in p.stderr, "ops: servalctl error exit 1")
    p = r.ctlrun("stats")
    check(p.returncode == 0 and "sal_resolved" in p.stdout and "00015b38/32" in p.stdout,
          "ops: servalctl stats")
    p = r.ctlrun("flows")
    eq((p.returncode, p.stdout.strip()), (0, "no flows"), "ops: servalctl flows")
    p = r.ctlrun("register", "4011/32", "192.0.2.40", "--lease", "60")
    eq(p.returncode, 0, "ops: servalctl register")
    p = r.ctlrun("reload", bad)
    check(p.returncode == 1 and ":5:34: services[1].action" in p.stderr,
          "ops: servalctl reload shows the file's errors")
    w = subprocess.Popen([r.ctl, "-s", r.sock, "watch", "rule", "--count", "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    m.ok("rule.add", prefix="4012/16", action="drop")
    try:
        wout, _ = w.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        w.kill()
        wout, _ = w.communicate()
    check(w.returncode == 0 and "rule change=rule.add prefix=4012/16" in wout,
          "ops: servalctl watch (%r)" % wout)

    # -- metrics and telemetry read the live router --
    p = r.ctlrun("metrics")
    st = stats(m)
    check(p.returncode == 0 and ("serval_sr_rx_total %d\n" % st["counters"]["rx"]) in p.stdout
          and 'serval_sr_rule_matched_total{prefix="00015b38/32"} 24' in p.stdout
          and p.stdout.endswith("# EOF\n"), "ops: metrics from the live router")
    hello, tel = telemetry(r.prefix, ["/serval/stats", "/serval/rules",
                                      "/serval/rule,00015b38/32", "/serval/flows",
                                      "/serval/worker,0", "/serval/drops", "/serval/mgmt",
                                      "/serval/health", "/serval/workers"])
    eq(hello.get("pid"), r.proc.pid, "ops: telemetry socket of this router")
    eq(tel["/serval/stats"]["/serval/stats"]["rx"], st["counters"]["rx"], "ops: telemetry stats")
    check("00015b38/32" in tel["/serval/rules"]["/serval/rules"], "ops: telemetry rules")
    eq(tel["/serval/rule,00015b38/32"]["/serval/rule"]["matched"], 24, "ops: telemetry rule")
    eq(tel["/serval/rule,00015b38/32"]["/serval/rule"]["selected"],
       [want_sel["192.0.2.10"], want_sel["192.0.2.11"]], "ops: telemetry selections")
    eq(tel["/serval/flows"]["/serval/flows"]["capacity"], 65536, "ops: telemetry flows")
    check(tel["/serval/mgmt"]["/serval/mgmt"]["requests"] > 50, "ops: telemetry mgmt")
    eq(len(tel["/serval/workers"]["/serval/workers"]), len(st["workers"]) - 1,
       "ops: telemetry workers")
    ev.close()
    m.close()


# ---- a veth the router reads with net_pcap (rx_iface) and writes to a pcap ----

class PcapRig:
    def __init__(self, binary, ctl, name, tmp, config, lcores="0"):
        if os.geteuid() != 0:
            print("SKIP: needs root for a veth pair")
            sys.exit(77)
        from scapy.all import sendp
        self.sendp = sendp
        self.veth = it.Veth()
        self.out = os.path.join(tmp, "out.pcap")
        self.r = Router(binary, ctl, name, tmp, config,
                        ["net_pcap0,rx_iface=%s,tx_pcap=%s" % (self.veth.router, self.out)],
                        lcores=lcores)

    def send(self, pkts):
        self.sendp(pkts, iface=self.veth.peer, verbose=False)

    def close(self):
        self.r.kill()
        self.veth.close()


LIVE_CFG = """
ports:
  - { port: 0, address: 192.0.2.1/24, mac: "02:00:00:00:00:01" }
neighbors:
  - { ip: 192.0.2.10, mac: "02:00:00:00:00:10" }
  - { ip: 192.0.2.50, mac: "02:00:00:00:00:50" }
  - { ip: 192.0.2.51, mac: "02:00:00:00:00:51" }
  - { ip: 192.0.2.100, mac: "02:00:00:00:00:99" }
  - { ip: 192.0.2.200, mac: "02:00:00:00:00:c8" }
services:
  - { prefix: "0000ff/24", action: delay, delay: { queue: 8, timeout_ms: 60000 } }
management:
  socket: @SOCK@
registration:
  allow: [192.0.2.0/25]
"""


def reg_msg(mtype, xid, bits, addr, service, flags=0, length=48, retval=0):
    """An in-band registration message (docs/sal-wire.md): 8-byte header,
    40-byte body."""
    return (struct.pack("!BBHI", mtype, retval, length, xid) +
            struct.pack("!BBBB", flags, 0, bits, 0) + socket.inet_aton(addr) + service)


def reg_dgram(src, payload, flowid=0x1234):
    """A connectionless SAL datagram from the host's control serviceID to the
    router's: two SERVICE extensions, UDP."""
    return (Ether(src=HOST, dst=ROUTER_MAC) / IP(src=src, dst="192.0.2.1", ttl=64) /
            SAL(src_flowid=flowid, ext=[SALService(service_id=sid_num(88888)),
                                        SALService(service_id=sid_num(55555))]) /
            UDP(sport=0, dport=0) / Raw(payload))


def case_live(binary, ctl, root, tmp):
    rig = PcapRig(binary, ctl, "live", tmp, LIVE_CFG)
    try:
        if rig.r.up:
            sent = _live(rig)
            c = rig.r.stop()
            _live_after(rig, c, sent)
    finally:
        rig.close()


def _live(rig):
    r, m = rig.r, rig.r.mgmt()
    sent = {}
    ev = r.mgmt()
    ev.ok("subscribe", events=["delay_miss", "lease"])
    # DELAY -> event -> rule -> release
    syn = it.sal_pkt("192.0.2.100", 0x42, "0000ff42", ip_id=4242, nonce=9)
    rig.send(syn)
    sent["delayed"] = syn
    e = ev.wait_event(lambda e: e["event"] == "delay_miss", what="delay_miss")
    if e:
        eq((e["service_id"], e["prefix"], e["client"]), ("0000ff42", "0000ff/24", "192.0.2.100"),
           "live: delay_miss event")
    check(wait_for(lambda: counter(m, "sal_delayed") == 1), "live: the SYN is held")
    m.ok("rule.replace", prefix="0000ff/24", action="forward",
         targets=[{"address": "192.0.2.10"}])
    check(wait_for(lambda: counter(m, "sal_delay_released") == 1, 5),
          "live: released by the new rule")

    # in-band registration
    svc = sid("4444")  # 4444/32
    xid = 100
    replies = []

    def reg(src, payload, what, want_rv=None):
        nonlocal xid
        before = counter(m, "consumed") + stats(m)["drops"].get("sal_reg_malformed", 0) + \
            stats(m)["drops"].get("sal_reg_denied", 0)
        rig.send(reg_dgram(src, payload))
        check(wait_for(lambda: counter(m, "consumed") +
                       stats(m)["drops"].get("sal_reg_malformed", 0) +
                       stats(m)["drops"].get("sal_reg_denied", 0) > before, 5),
              "live: %s handled" % what)
        if want_rv is not None:
            replies.append((src, payload, want_rv, what))

    x = xid
    reg("192.0.2.50", reg_msg(0, x, 32, "192.0.2.50", svc), "REGISTER", 0)
    e = ev.wait_event(lambda e: e["event"] == "lease", what="inband lease event")
    if e:
        eq((e["change"], e["prefix"], e["address"], e["origin"]),
           ("registered", "4444/32", "192.0.2.50", "inband"), "live: registered event")
    got = m.ok("rules.list", prefix="4444/32")["rules"]
    if eq(len(got), 1, "live: REGISTER made a rule"):
        eq([(t["address"], t["weight"], t["priority"], t.get("origin")) for t in got[0]["targets"]],
           [("192.0.2.50", 1, 0, "inband")], "live: the host is its target")
        eq((got[0]["action"], got[0]["mode"]), ("forward", "resolve"), "live: a forward rule")
    fwd = it.sal_pkt("192.0.2.100", 0x43, "44440000", ip_id=4343, nonce=10)
    rig.send(fwd)
    sent["registered"] = fwd
    check(wait_for(lambda: counter(m, "sal_resolved") == 2), "live: SYN to the registered host")
    reg("192.0.2.50", reg_msg(0, x + 1, 32, "192.0.2.50", svc), "REGISTER again", 0)
    # re-register after an address change: addr is the old address
    reg("192.0.2.51", reg_msg(0, x + 2, 32, "192.0.2.50", svc, flags=1), "re-register", 0)
    got = m.ok("rules.list", prefix="4444/32")["rules"]
    eq([t["address"] for t in got[0]["targets"]] if got else [], ["192.0.2.51"],
       "live: re-register moved the target")
    # refused host: outside registration.allow
    reg("192.0.2.200", reg_msg(0, x + 3, 32, "192.0.2.200", sid("4445")), "refused host")
    eq(m.ok("rules.list", prefix="4445/32")["rules"], [], "live: refused host registered nothing")
    eq(stats(m)["drops"].get("sal_reg_denied"), 1, "live: refused host counted")
    # malformed: a truncated header (dropped), a wrong length (answered)
    reg("192.0.2.50", b"\x00\x00\x00", "truncated message")
    reg("192.0.2.50", reg_msg(0, x + 4, 32, "192.0.2.50", svc, length=40), "bad length", 3)
    # a type the router does not serve (RESOLVE)
    reg("192.0.2.50", reg_msg(2, x + 5, 32, "192.0.2.50", svc), "RESOLVE", 1)
    # UNREGISTER of a host that is not registered
    reg("192.0.2.50", reg_msg(1, x + 6, 32, "192.0.2.50", svc), "UNREGISTER unknown", 2)
    # UNREGISTER: the registration-only rule goes with its last target
    reg("192.0.2.51", reg_msg(1, x + 7, 32, "192.0.2.51", svc), "UNREGISTER", 0)
    eq(m.ok("rules.list", prefix="4444/32")["rules"], [], "live: UNREGISTER removed the rule")
    ev.close()
    m.close()
    sent["replies"] = replies
    return sent


def _live_after(rig, c, sent):
    eq(c.get("drop.sal_reg_denied"), 1, "live: sal_reg_denied at stop")
    eq(c.get("drop.sal_reg_malformed"), 2, "live: sal_reg_malformed (truncated, bad length)")
    eq(c.get("sal_registrations"), 5, "live: REGISTER / UNREGISTER messages handled")
    out = [p for p in rdpcap(rig.out) if IP in p] if os.path.exists(rig.out) else []
    sal = [p for p in out if SAL in p]
    rel = [p for p in sal if p[IP].id == 4242]
    if eq(len(rel), 1, "live: the held SYN in the output pcap"):
        it.check_resolved(rel[0], sent["delayed"], "192.0.2.10", "02:00:00:00:00:10",
                          ["192.0.2.100", "192.0.2.1"], "live: released SYN")
    fw = [p for p in sal if p[IP].id == 4343]
    if eq(len(fw), 1, "live: the SYN to the registered service"):
        it.check_resolved(fw[0], sent["registered"], "192.0.2.50", "02:00:00:00:00:50",
                          ["192.0.2.100", "192.0.2.1"], "live: SYN to the host")
    reps = [p for p in sal if UDP in p]
    eq(len(reps), len(sent["replies"]), "live: one reply per answered message")
    by_xid = {}
    for p in reps:
        pay = bytes(p[UDP].payload)
        if len(pay) >= 8:
            by_xid[struct.unpack("!I", pay[4:8])[0]] = p
    for src, payload, rv, what in sent["replies"]:
        xid = struct.unpack("!I", payload[4:8])[0]
        p = by_xid.get(xid)
        if not check(p is not None, "live: reply to %s" % what):
            continue
        pay = bytes(p[UDP].payload)
        eq(len(pay), 48, "live: %s reply length" % what)
        eq((pay[0], pay[1], struct.unpack("!H", pay[2:4])[0]), (payload[0], rv, 48),
           "live: %s reply type, return value, length" % what)
        eq(pay[8:], payload[8:48], "live: %s reply body echoed" % what)
        eq((p[IP].src, p[IP].dst, p[Ether].dst), ("192.0.2.1", src,
           {"192.0.2.50": "02:00:00:00:00:50", "192.0.2.51": "02:00:00:00:00:51"}[src]),
           "live: %s reply addresses" % what)
        eq(p[SAL].service_ids(), [sid_num(55555), sid_num(88888)],
           "live: %s reply SERVICE extensions (host's ID first)" % what)
        eq((p[SAL].dst_flowid, p[SAL].control()), (0x1234, None),
           "live: %s reply is a datagram to the host's flowID" % what)
        check(it.ip_ok(p) and it.sal_checksum_ok(p) and it.transport_checksum_ok(p),
              "live: %s reply checksums" % what)


# ---- over net_af_packet: health checks and drains ----

HEALTH_CFG = """
ports:
  - { port: 0, address: 192.0.2.1/24, mac: "02:00:00:00:00:01" }
neighbors:
  - { ip: 192.0.2.20, mac: "02:00:00:00:00:20" }
  - { ip: 192.0.2.21, mac: "02:00:00:00:00:21" }
  - { ip: 192.0.2.100, mac: "02:00:00:00:00:99" }
services:
  - prefix: "0000beef/32"
    action: forward
    targets: [{ address: 192.0.2.20 }, { address: 192.0.2.21 }]
    health: { interval_ms: 100, timeout_ms: 80, fall: 2, rise: 2 }
management:
  socket: @SOCK@
"""


class Responder:
    """A scapy Serval host answering the router's health probes for the
    addresses in `answer`, as the original stack would (SYN-ACK)."""

    def __init__(self, iface, macs):
        from scapy.all import AsyncSniffer, sendp
        self.sendp, self.iface, self.macs = sendp, iface, macs
        self.answer = set()
        self.probes = []      # (time, target, src_flowid)
        self.rsts = []        # RSTs the router sent back
        self.lock = threading.Lock()
        self.sniffer = AsyncSniffer(iface=iface, store=False, prn=self._on,
                                    lfilter=lambda p: Ether in p and p[Ether].src == ROUTER_MAC)
        self.sniffer.start()

    def _on(self, p):
        if SAL not in p:
            return
        ctl = p[SAL].control()
        if ctl is None:
            return
        flags = int(ctl.flags)
        if flags & 0x08:
            with self.lock:
                self.rsts.append(p)
            return
        if not (flags & 0x80) or p[SAL].dst_flowid != 0 or p[IP].dst not in self.macs:
            return
        with self.lock:
            self.probes.append((time.time(), p[IP].dst, p[SAL].src_flowid, p))
            if p[IP].dst not in self.answer:
                return
        reply = (Ether(src=self.macs[p[IP].dst], dst=ROUTER_MAC) /
                 IP(src=p[IP].dst, dst=p[IP].src) /
                 SAL(src_flowid=0x5eed, dst_flowid=p[SAL].src_flowid,
                     ext=[SALControl(flags="SYN+ACK", verno=77, ackno=ctl.verno + 1,
                                     nonce=0x1111)]) /
                 TCP(sport=0, dport=0, flags="SA", seq=1, ack=p[TCP].seq + 1))
        self.sendp(reply, iface=self.iface, verbose=False)

    def stop(self):
        self.sniffer.stop()


def case_health(binary, ctl, root, tmp):
    live = it.Live(binary, "cp-health", tmp, HEALTH_CFG.replace(
        "@SOCK@", os.path.join(tmp, "sock", "ssr.sock")))
    resp = None
    try:
        resp = Responder(live.veth.peer, {"192.0.2.20": "02:00:00:00:00:20",
                                          "192.0.2.21": "02:00:00:00:00:21"})
        resp.answer.add("192.0.2.20")
        m = Mgmt(os.path.join(tmp, "sock", "ssr.sock"))
        ev = Mgmt(os.path.join(tmp, "sock", "ssr.sock"))
        ev.ok("subscribe", events=["health"])

        def states():
            tg = m.ok("rules.list", prefix="0000beef/32")["rules"][0]["targets"]
            return [(t["address"], t.get("health")) for t in tg]

        # probing began with the router, before the responder: wait until
        # the answering target is up and the silent one down
        want = [("192.0.2.20", "up"), ("192.0.2.21", "down")]
        wait_for(lambda: states() == want, 10)
        eq(states(), want, "health: the silent target is down, the answering one up")
        ev.events.clear()
        with resp.lock:
            resp.probes.clear()
            resp.rsts.clear()
        time.sleep(0.5)
        # new flows avoid the down target, whatever the hash says
        for fid in range(1, 40):
            res = m.ok("resolve", service_id="0000beef", client="192.0.2.100",
                       client_flow_id=fid)
            if not eq(res["target"]["address"], "192.0.2.20",
                      "health: flow %d goes to the live target" % fid):
                break
        with resp.lock:
            probes = list(resp.probes)
            rsts = list(resp.rsts)
        to20 = [p for p in probes if p[1] == "192.0.2.20"]
        check(len(to20) >= 3, "health: probes to the answering target (%d)" % len(to20))
        if to20:
            p = to20[0][3]
            eq((p[IP].src, p[SAL].service_ids(), int(p[SAL].control().flags)),
               ("192.0.2.1", [sid("0000beef")], 0x80), "health: a probe is a SAL SYN")
            check((p[SAL].src_flowid >> 24) == 0xff and p[SAL].src_flowid & 1 == 0,
                  "health: probe flowID form (%#x)" % p[SAL].src_flowid)
            check(it.ip_ok(p) and it.sal_checksum_ok(p) and it.transport_checksum_ok(p),
                  "health: probe checksums")
        check(any(int(x[SAL].control().flags) & 0x08 and x[IP].dst == "192.0.2.20" and
                  x[SAL].src_flowid in {q[2] for q in to20} and x[SAL].dst_flowid == 0x5eed
                  for x in rsts), "health: the half-open probe flow is reset")
        # a live SYN now goes to .20 only
        # the answering target stops answering: down; then back: up
        resp.answer.discard("192.0.2.20")
        e = ev.wait_event(lambda e: e["event"] == "health" and e["address"] == "192.0.2.20"
                          and e["state"] == "down", timeout=10, what="health: .20 down")
        if e:
            eq(e["prefix"], "0000beef/32", "health: down event")
        res = m.ok("resolve", service_id="0000beef", client="192.0.2.100", client_flow_id=1)
        eq((res["verdict"], res["target"]), ("no_target", None), "health: no target up")
        resp.answer.add("192.0.2.21")
        ev.wait_event(lambda e: e["event"] == "health" and e["address"] == "192.0.2.21" and
                      e["state"] == "up", timeout=10, what="health: .21 back up")
        p = subprocess.run([ctl, "-s", os.path.join(tmp, "sock", "ssr.sock"), "rules"],
                           capture_output=True, text=True, timeout=30)
        check("192.0.2.20 w=1 p=0 down, 192.0.2.21 w=1 p=0 up" in p.stdout,
              "health: servalctl shows health (%r)" % p.stdout)
        st = m.ok("stats")
        check(st["control"]["counters"]["health_probes"] >= 10, "health: probes counted")
        ev.close()
        m.close()
        resp.stop()
        resp = None
        c = live.stop()
        check(c.get("health_probes", 0) >= 10 and c.get("health_answers", 0) >= 3,
              "health: counters at stop (%r)" % c)
    finally:
        if resp is not None:
            resp.stop()
        live.close()


DRAIN_CFG = """
ports:
  - { port: 0, address: 192.0.2.1/24, mac: "02:00:00:00:00:01" }
neighbors:
  - { ip: 192.0.2.20, mac: "02:00:00:00:00:20" }
  - { ip: 192.0.2.21, mac: "02:00:00:00:00:21" }
  - { ip: 192.0.2.100, mac: "02:00:00:00:00:99" }
services:
  - prefix: "0000abcd/32"
    action: forward
    mode: gateway
    targets: [{ address: 192.0.2.20 }, { address: 192.0.2.21 }]
management:
  socket: @SOCK@
"""


def case_drain(binary, ctl, root, tmp):
    sock = os.path.join(tmp, "sock", "ssr.sock")
    live = it.Live(binary, "cp-drain", tmp, DRAIN_CFG.replace("@SOCK@", sock))
    try:
        _drain(live, sock, root)
    finally:
        live.close()


def _drain(live, sock, root):
    m = Mgmt(sock)
    oracle = it.PickOracle([("192.0.2.20", 1, 0), ("192.0.2.21", 1, 0)], it.lut_bits_rule(root))
    macs = {"192.0.2.20": "02:00:00:00:00:20", "192.0.2.21": "02:00:00:00:00:21"}
    client = Ether(src=HOST, dst=ROUTER_MAC) / IP(src="192.0.2.100", dst="192.0.2.1")
    # a client flowID whose consistent choice is .20
    C = next(f for f in range(1, 1000) if oracle.pick("192.0.2.100", f) == "192.0.2.20")
    N = 0x4e4e
    syn = client / SAL(src_flowid=C, ext=[SALControl(flags="SYN", verno=1, nonce=N),
                                          SALService(service_id=sid("0000abcd"))]) / \
        TCP(flags="S")
    out = live.exchange(syn, "SYN")
    if out is None:
        return
    eq(out[IP].dst, "192.0.2.20", "drain: the flow goes to .20")
    R1 = out[SAL].src_flowid
    inst = Ether(src=macs["192.0.2.20"], dst=ROUTER_MAC) / IP(src="192.0.2.20", dst="192.0.2.1")
    sa = live.exchange(inst / SAL(src_flowid=0x222, dst_flowid=R1,
                                  ext=[SALControl(flags="SYN+ACK", verno=7, ackno=2, nonce=5)]) /
                       TCP(flags="SA"), "SYN-ACK")
    R0 = R1 & ~1
    live.exchange(client / SAL(src_flowid=C, dst_flowid=R0,
                               ext=[SALControl(flags="ACK", verno=2, ackno=8, nonce=N)]) /
                  TCP(flags="A"), "ACK")
    eq(sa[IP].dst if sa else None, "192.0.2.100", "drain: handshake relayed")
    # drain .20: existing flow keeps it, new flows avoid it
    m.ok("target.drain", prefix="0000abcd/32", address="192.0.2.20")
    data = client / SAL(src_flowid=C, dst_flowid=R0) / TCP(flags="PA") / Raw(b"after-drain")
    out = live.exchange(data, "data after the drain")
    if out is not None:
        eq((out[IP].dst, out[SAL].dst_flowid, bytes(out[TCP].payload)),
           ("192.0.2.20", 0x222, b"after-drain"), "drain: the flow keeps its target")
    back = live.exchange(inst / SAL(src_flowid=0x222, dst_flowid=R1) / TCP(flags="PA") /
                         Raw(b"reply"), "instance data after the drain")
    if back is not None:
        eq(back[IP].dst, "192.0.2.100", "drain: and the way back")
    # a retransmitted SYN of the drained flow still reaches its target
    again = live.exchange(syn, "retransmitted SYN after the drain")
    if again is not None:
        eq((again[IP].dst, again[SAL].src_flowid), ("192.0.2.20", R1),
           "drain: a retransmitted SYN keeps its flow")
    for f in range(C + 1, C + 30):
        s2 = client / SAL(src_flowid=f, ext=[SALControl(flags="SYN", verno=1, nonce=f),
                                             SALService(service_id=sid("0000abcd"))]) / TCP()
        o = live.exchange(s2, "new SYN %d" % f)
        if o is None or not eq(o[IP].dst, "192.0.2.21", "drain: new flow %d avoids .20" % f):
            break
    fl = m.ok("flows.list", target="192.0.2.20")["flows"]
    eq([(f["flow_id"], f["state"]) for f in fl], [(R0, "established")],
       "drain: the drained target's flow is listed")
    # removing the target ends its flows
    m.ok("target.remove", prefix="0000abcd/32", address="192.0.2.20")
    check(wait_for(lambda: m.ok("flows.list", target="192.0.2.20")["flows"] == [], 5),
          "drain: removing the target removed its flows")
    rst = live.exchange(data, "data after the removal")
    if rst is not None:
        eq(int(rst[SAL].control().flags) & 0x08, 0x08, "drain: then the client gets a RST")
    m.close()
    c = live.stop()
    eq(c.get("sal_flows_created"), 30, "drain: flows created")


# ---- update under load ----

UPDATE_A = """
ports:
  - { port: 0, address: 192.0.2.1/24, mac: "02:00:00:00:00:01" }
neighbors:
  - { ip: 192.0.2.10, mac: "02:00:00:00:00:10" }
  - { ip: 192.0.2.11, mac: "02:00:00:00:00:11" }
  - { ip: 192.0.2.12, mac: "02:00:00:00:00:12" }
services:
  - prefix: "7001/16"
    action: forward
    targets: [{ address: %s }]
  - prefix: "7002/16"
    action: forward
    targets: [{ address: 192.0.2.10 }, { address: %s }]
management:
  socket: @SOCK@
"""

ALLOWED = {0x7001: {"192.0.2.10", "192.0.2.11"},
           0x7002: {"192.0.2.10", "192.0.2.11", "192.0.2.12"}}


def read_pcap_fast(path):
    """(IP dst, first two serviceID bytes, IP ID) of each SAL frame, no scapy."""
    out = []
    with open(path, "rb") as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            return out
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                break
            incl = struct.unpack("<I", rec[8:12])[0]
            fr = f.read(incl)
            if len(fr) < 70 + 4 or fr[12:14] != b"\x08\x00" or fr[23] != 144:
                continue
            ihl = (fr[14] & 0xf) * 4
            sal = 14 + ihl
            off = sal + 12
            key = None
            # walk the extensions to the first SERVICE
            end = sal + fr[sal + 8] * 4
            while off + 2 <= end:
                t = fr[off] >> 4
                if t == 0:
                    off += 1
                    continue
                if t == 2:
                    key = struct.unpack("!H", fr[off + 4:off + 6])[0]
                    break
                off += fr[off + 1] or 1
            out.append((socket.inet_ntoa(fr[30:34]), key, struct.unpack("!H", fr[18:20])[0]))
    return out


def case_update(binary, ctl, root, tmp):
    cfg = UPDATE_A % ("192.0.2.10", "192.0.2.11")
    rig = PcapRig(binary, ctl, "update", tmp, cfg, lcores="0-1" if os.cpu_count() >= 2 else "0")
    try:
        if rig.r.up:
            sent = _update(rig, tmp)
            c = rig.r.stop()
            _update_after(rig, c, sent)
    finally:
        rig.close()


def _update(rig, tmp):
    r = rig.r
    frames = []
    for i in range(512):
        pfx = 0x7001 if i % 2 == 0 else 0x7002
        p = it.sal_pkt("192.0.2.%d" % (100 + i % 50), 1000 + i, "%04x%04x" % (pfx, i),
                       ip_id=i, nonce=i)
        frames.append(bytes(p))
    stop = threading.Event()
    count = [0]

    def sender():
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((rig.veth.peer, 0))
        t0 = time.time()
        n = 0
        while not stop.is_set():
            # about 20 kpps, in bursts of 64
            for k in range(64):
                s.send(frames[(n + k) % len(frames)])
            n += 64
            ahead = n / 20000.0 - (time.time() - t0)
            if ahead > 0:
                time.sleep(ahead)
        count[0] = n
        s.close()

    th = threading.Thread(target=sender)
    th.start()
    m = r.mgmt()
    ev = r.mgmt()
    ev.ok("subscribe", events=["rule"])
    changes = 0
    errors = []
    # at least 4 s of updates, and at least 3000 changes and 3 reloads
    # (a sanitizer build is slower), 45 s at most
    t_min, t_max = time.time() + 4, time.time() + 45
    other = os.path.join(tmp, "b.yaml")
    with open(other, "w") as f:
        f.write((UPDATE_A % ("192.0.2.11", "192.0.2.12")).replace("@SOCK@", r.sock))
    reloads = 0
    while time.time() < t_max and (time.time() < t_min or changes < 3000 or reloads < 3):
        # 50 changes pipelined: replaces, target moves, a batch
        reqs = []
        for k in range(50):
            a = ("192.0.2.10", "192.0.2.11")[(changes + k) % 2]
            if k % 10 == 9:
                reqs.append({"op": "batch", "ops": [
                    {"op": "rule.replace", "prefix": "7001/16", "action": "forward",
                     "targets": [{"address": a}]},
                    {"op": "rule.replace", "prefix": "7002/16", "action": "forward",
                     "targets": [{"address": "192.0.2.10"},
                                 {"address": ("192.0.2.11", "192.0.2.12")[(changes + k) % 2],
                                  "weight": 2}]}]})
            elif k % 5 == 0:
                reqs.append({"op": "target.set", "prefix": "7002/16", "address": "192.0.2.10",
                             "weight": 1 + (changes + k) % 5})
            else:
                reqs.append({"op": "rule.replace", "prefix": "7001/16", "action": "forward",
                             "targets": [{"address": a}]})
        base = m.n
        for i, q in enumerate(reqs):
            q["id"] = base + 1 + i
            m.send((json.dumps(q) + "\n").encode())
        for i in range(len(reqs)):
            o = m.reply(base + 1 + i)
            if o is None or not o.get("ok"):
                errors.append(o)
        m.n = base + len(reqs)
        changes += len(reqs)
        if changes % 1000 == 0:
            reloads += 1
            if reloads % 2:
                os.kill(r.proc.pid, signal.SIGHUP)
            else:
                res = m.call("reload", path=other)
                if not (res and res.get("ok")):
                    errors.append(res)
    stop.set()
    th.join()
    eq(errors[:3], [], "update: every change applied")
    check(changes >= 3000, "update: thousands of changes (%d)" % changes)
    check(reloads >= 3, "update: several reloads (%d)" % reloads)
    time.sleep(1.0)
    st = stats(m)
    ev.close()
    m.close()
    return {"changes": changes, "sent": count[0], "stats": st}


def _update_after(rig, c, sent):
    pkts = read_pcap_fast(rig.out)
    sal_out = [p for p in pkts if p[1] in ALLOWED]
    bad = [p for p in sal_out if p[0] not in ALLOWED[p[1]]]
    eq(bad[:5], [], "update: every packet left by an old or a new rule")
    n_syn = c.get("sal_resolved", 0)
    check(n_syn >= 10000, "update: traffic flowed during the updates (%d SYNs, "
          "%d sent)" % (n_syn, sent["sent"]))
    eq(len(sal_out), n_syn, "update: every resolved SYN is in the output")
    for k in ("drop.sal_no_service", "drop.sal_no_target", "drop.handoff_full",
              "drop.control_ring_full", "drop.tx_full"):
        eq(c.get(k, 0), 0, "update: %s" % k)
    # received = sent + counted drops is the router's invariant, checked
    # by stop(); on top of it, no SAL request was dropped at all
    sal_drops = {k: v for k, v in c.items() if k.startswith("drop.sal")}
    eq(sal_drops, {}, "update: no SAL request dropped")
    print("update: %d changes and reloads while %d SYNs were routed (%d frames sent)" %
          (sent["changes"], n_syn, sent["sent"]))


CASES = {
    "ops": case_ops,
    "live": case_live,
    "health": case_health,
    "drain": case_drain,
    "update": case_update,
}


def main():
    if len(sys.argv) != 5 or sys.argv[4] not in CASES:
        print(__doc__)
        return 2
    binary, ctl, root, case = sys.argv[1:]
    return it.run_case("ssr-cp-%s-" % case, CASES[case], binary, ctl, root)


if __name__ == "__main__":
    sys.exit(main())
