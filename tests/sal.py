# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The serval-sr authors
"""Scapy layer for the Serval Service Access Layer (SAL) over IPv4.

Layout as in ../shared/docs/sal-wire.md (and docs/ of this repository): a
12-byte base header (src_flowid, dst_flowid, shl in 32-bit words, protocol,
checksum over the first shl*4 bytes), then extensions until shl*4 bytes,
then the transport header named by `protocol`, if any (control-only packets
such as the SAL FIN carry protocol 6 and no TCP header at all).

Use it under /usr/bin/python3 (Debian's python3-scapy):

    import sys; sys.path.insert(0, "tests")
    from sal import *
    syn = (Ether() / IP(src="192.0.2.100", dst="192.0.2.1") /
           SAL(src_flowid=7, ext=[SALControl(flags="SYN", verno=1, nonce=42),
                                  SALService(service_id=sid("00015b38"))]) /
           TCP(sport=0, dport=0, flags="S"))
    wrpcap("syn.pcap", [syn])

shl, the SAL checksum, the IP protocol (144) and the TCP/UDP checksum (with
the IPv4 pseudo-header, which scapy's own TCP cannot compute with SAL in
between) are filled in when left unset.
"""

import socket
import struct

from scapy.all import (IP, TCP, UDP, ByteField, FlagsField, IntField,
                       Packet, PacketListField, Raw, StrFixedLenField,
                       XByteField, XIntField, XLongField, XShortField,
                       FieldLenField, FieldListField, IPField, bind_layers,
                       checksum)

SAL_PROTO = 144
SAL_CONTROL_FLAGS = ["R0", "R1", "FIN", "RST", "NACK", "ACK", "RSYN", "SYN"]
EXT_PAD, EXT_CONTROL, EXT_SERVICE, EXT_ADDRESS, EXT_SOURCE = range(5)


def l4_checksum(proto, ip, segment):
    """Internet checksum of a TCP/UDP segment with the IPv4 pseudo-header.

    scapy's in4_chksum takes the segment length from IP's total length,
    which here would wrongly include the SAL header, so we build it.
    """
    pseudo = (socket.inet_aton(ip.src) + socket.inet_aton(ip.dst) +
              struct.pack("!BBH", 0, proto, len(segment)))
    return checksum(pseudo + segment)


def sid(text):
    """serviceID from up to 64 hex digits, zero-filled on the right."""
    text = text.split("/")[0]
    if len(text) > 64 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise ValueError("serviceID must be 1..64 hex digits: %r" % text)
    return bytes.fromhex(text.ljust(64, "0"))


def sid_num(number):
    """serviceID as the original tools write a number: big-endian 32 bits first."""
    return struct.pack("!I", number) + bytes(28)


class _SALExt(Packet):
    """Generic extension: type in the high nibble, whole length in byte 1."""

    def extract_padding(self, s):
        return b"", s

    def post_build(self, p, pay):
        if self.length is None:
            p = p[:1] + bytes([len(p)]) + p[2:]
        return p + pay


class SALPad(Packet):
    name = "SAL PAD"
    fields_desc = [XByteField("type", EXT_PAD << 4)]

    def extract_padding(self, s):
        return b"", s


class SALControl(_SALExt):
    name = "SAL CONTROL"
    fields_desc = [XByteField("type", EXT_CONTROL << 4),
                   ByteField("length", None),
                   FlagsField("flags", 0, 8, SAL_CONTROL_FLAGS),
                   ByteField("reserved", 0),
                   IntField("verno", 0),
                   IntField("ackno", 0),
                   XLongField("nonce", 0)]


class SALService(_SALExt):
    name = "SAL SERVICE"
    fields_desc = [XByteField("type", EXT_SERVICE << 4),
                   ByteField("length", None),
                   XShortField("reserved", 0),
                   StrFixedLenField("service_id", bytes(32), 32)]


class SALAddress(_SALExt):
    name = "SAL ADDRESS"
    fields_desc = [XByteField("type", EXT_ADDRESS << 4),
                   FieldLenField("length", None, fmt="B", count_of="addrs",
                                 adjust=lambda pkt, n: 12 + 4 * n),
                   XShortField("reserved", 0),
                   IntField("verno", 0),
                   IntField("ackno", 0),
                   FieldListField("addrs", [], IPField("", "0.0.0.0"),
                                  count_from=lambda pkt: (pkt.length - 12) // 4)]


class SALSource(_SALExt):
    name = "SAL SOURCE"
    fields_desc = [XByteField("type", EXT_SOURCE << 4),
                   FieldLenField("length", None, fmt="B", count_of="addrs",
                                 adjust=lambda pkt, n: 4 + 4 * n),
                   XShortField("reserved", 0),
                   FieldListField("addrs", [], IPField("", "0.0.0.0"),
                                  count_from=lambda pkt: (pkt.length - 4) // 4)]


_EXT_CLASSES = {EXT_PAD: SALPad, EXT_CONTROL: SALControl,
                EXT_SERVICE: SALService, EXT_ADDRESS: SALAddress,
                EXT_SOURCE: SALSource}


def _ext_dispatch(data, **kw):
    cls = _EXT_CLASSES.get(data[0] >> 4, None)
    if cls is None:
        return Raw(data, **kw)
    return cls(data, **kw)


class SAL(Packet):
    name = "SAL"
    fields_desc = [XIntField("src_flowid", 0),
                   XIntField("dst_flowid", 0),
                   ByteField("shl", None),
                   ByteField("protocol", None),
                   XShortField("check", None),
                   PacketListField("ext", [], _ext_dispatch,
                                   length_from=lambda pkt: max(0, (pkt.shl or 3) * 4 - 12))]

    def guess_payload_class(self, payload):
        if not payload:
            return Raw
        if self.protocol == 6:
            return TCP
        if self.protocol == 17:
            return UDP
        return Raw

    def post_build(self, p, pay):
        hdr_len = len(p)
        if self.shl is None:
            if hdr_len % 4:
                raise ValueError("SAL header is %d bytes, not a multiple of 4" % hdr_len)
            p = p[:8] + bytes([hdr_len // 4]) + p[9:]
        if self.protocol is None:
            proto = 0
            if isinstance(self.payload, TCP):
                proto = 6
            elif isinstance(self.payload, UDP):
                proto = 17
            p = p[:9] + bytes([proto]) + p[10:]
        if self.check is None:
            shl_bytes = p[8] * 4
            ck = checksum(p[:10] + b"\0\0" + p[12:shl_bytes])
            p = p[:10] + struct.pack("!H", ck) + p[12:]
        return p + self._transport_checksum(pay)

    def _transport_checksum(self, pay):
        """Fill the TCP/UDP checksum scapy leaves null (its IP is not our underlayer)."""
        ip = self.underlayer
        if not isinstance(ip, IP) or not pay:
            return pay
        if isinstance(self.payload, TCP) and self.payload.chksum is None and len(pay) >= 20:
            ck = l4_checksum(socket.IPPROTO_TCP, ip, pay[:16] + b"\0\0" + pay[18:])
            return pay[:16] + struct.pack("!H", ck) + pay[18:]
        if isinstance(self.payload, UDP) and self.payload.chksum is None and len(pay) >= 8:
            ck = l4_checksum(socket.IPPROTO_UDP, ip, pay[:6] + b"\0\0" + pay[8:])
            if ck == 0:
                ck = 0xFFFF
            return pay[:6] + struct.pack("!H", ck) + pay[8:]
        return pay

    # Accessors the tests use, so they need not walk `ext` themselves.
    def find_ext(self, cls):
        return [e for e in self.ext if isinstance(e, cls)]

    def control(self):
        found = self.find_ext(SALControl)
        return found[0] if found else None

    def service_ids(self):
        return [e.service_id for e in self.find_ext(SALService)]

    def source_addrs(self):
        found = self.find_ext(SALSource)
        return list(found[0].addrs) if found else []


def sal_checksum_ok(pkt):
    """True when the SAL checksum of pkt (with an SAL layer) verifies."""
    raw = bytes(pkt[SAL])
    shl_bytes = raw[8] * 4
    return checksum(raw[:shl_bytes]) == 0


def transport_checksum_ok(pkt):
    """True when the TCP/UDP checksum after SAL verifies, or there is no transport header."""
    sal = pkt[SAL]
    raw = bytes(sal)
    seg = raw[raw[8] * 4:]
    if not seg:
        return True
    proto = {6: socket.IPPROTO_TCP, 17: socket.IPPROTO_UDP}.get(raw[9])
    if proto is None:
        return True
    if proto == socket.IPPROTO_UDP and seg[6:8] == b"\0\0":
        return True
    return l4_checksum(proto, pkt[IP], seg) == 0


def set_sal_proto(number):
    """Bind SAL to another IP protocol number (operators may configure one)."""
    bind_layers(IP, SAL, proto=number)


bind_layers(IP, SAL, proto=SAL_PROTO)

__all__ = ["SAL", "SALPad", "SALControl", "SALService", "SALAddress",
           "SALSource", "SAL_PROTO", "sid", "sid_num", "sal_checksum_ok",
           "transport_checksum_ok", "set_sal_proto", "l4_checksum"]
