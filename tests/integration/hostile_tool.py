#!/usr/bin/env python3
"""The attacker's side of tests/integration/hostile_test.sh: standard library only (raw
AF_PACKET frames, UDP/TCP/unix sockets) plus libsodium through ctypes to seal allocation
requests the way client/allocate.cc does. Every packet goes to an address the test's own
namespaces hold; every loop is bounded by a count or a duration.

  hostile_tool.py junk     --iface IF --src_mac M --dst_mac M --src IP:PORT --dst IP:PORT
                           --vni N --key discokey:.. --pps N --seconds S
      Geneve control (0x7A11, the VNI) + a disco wrapper naming KEY + random bytes.
  hostile_tool.py martian  (same flags as junk) --count N
      The same frame N times (the caller picks a martian source). Addresses may be IPv6,
      [addr]:port; a v4-mapped source makes an IPv6 frame.
  hostile_tool.py nd       --iface IF --src_mac M --dst_mac M --src_ip IP6 --dst_ip IP6
                           --target IP6 --ll_mac M --kind ns|na --count N
      Neighbour Solicitations for, or unsolicited Advertisements of, the target.
  hostile_tool.py arp      --iface IF --src_mac M --dst_mac M --sender_ip IP --sender_mac M
                           --target_ip IP --count N
  hostile_tool.py unknown  --control IP:PORT --count N [--pps N]
      Allocation requests from N random sender keys, boxes of random bytes.
  hostile_tool.py seal     --key_file F --control_key discokey:.. --peer discokey:..
      Prints one sealed allocation request (hex) from F's key for the pair (F, peer).
  hostile_tool.py payload  --pcap F
      Prints the UDP payload (hex) of the first IPv4 frame of an Ethernet pcap file.
  hostile_tool.py send     --hex H --control IP:PORT --count N [--wait S]
      Sends the same datagram N times from one socket; prints "replies=R".
  hostile_tool.py alloc    --key_file F --control_key discokey:.. --peers_file P
                           --control IP:PORT --sources IP,IP,.. [--per_source N]
      One request per peer key in P (pair = F's key, peer), spread over the source addresses,
      at most --window (100) unanswered at a time; prints "sent=S replies=R".
  hostile_tool.py echo     --dst IP --pps N --seconds S
      ICMP echo requests (ping's own pacing backs off when replies stop); prints
      "sent=S replies=R".
  hostile_tool.py keys     --count N      N random public keys (discokey:..), one a line.
  hostile_tool.py idle     --tcp IP:PORT | --unix PATH  --count N --seconds S
      Holds N idle connections for S seconds (or until killed); prints "open=K" once opened.
"""
import argparse
import ctypes
import ctypes.util
import os
import select
import socket
import struct
import sys
import time

DISCO_MAGIC = bytes([0x54, 0x53, 0xF0, 0x9F, 0x92, 0xAC])
ALLOCATE_REQUEST = 0x08


def addr_port(text):
    """IP:PORT or [IPv6]:PORT."""
    host, port = text.rsplit(":", 1)
    return host.strip("[]"), int(port)


def is_v6(ip):
    return ":" in ip


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def key_bytes(text):
    prefix = "discokey:"
    assert text.startswith(prefix), text
    raw = bytes.fromhex(text[len(prefix):])
    assert len(raw) == 32
    return raw


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4_udp_frame(src_mac, dst_mac, src, dst, payload):
    (sip, sport), (dip, dport) = src, dst
    s, d = socket.inet_aton(sip), socket.inet_aton(dip)
    udp_len = 8 + len(payload)
    pseudo = s + d + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    csum = checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0x1234, 0x4000, 64, 17, 0, s, d)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + udp


def ipv6_frame(src_mac, dst_mac, sip, dip, next_header, l4, hop_limit=64):
    """Ethernet/IPv6 around an L4 message whose checksum (at offset 6 for UDP, 2 for ICMPv6)
    is filled in here over the pseudo-header."""
    s, d = socket.inet_pton(socket.AF_INET6, sip), socket.inet_pton(socket.AF_INET6, dip)
    pseudo = s + d + struct.pack("!IxxxB", len(l4), next_header)
    at = 6 if next_header == 17 else 2
    csum = checksum(pseudo + l4) or (0xFFFF if next_header == 17 else 0)
    l4 = l4[:at] + struct.pack("!H", csum) + l4[at + 2:]
    ip = struct.pack("!IHBB16s16s", 6 << 28, len(l4), next_header, hop_limit, s, d)
    return dst_mac + src_mac + b"\x86\xdd" + ip + l4


def udp_frame(src_mac, dst_mac, src, dst, payload):
    """IPv4 or IPv6 by the addresses' family (a v4-mapped source makes an IPv6 frame)."""
    (sip, sport), (dip, dport) = src, dst
    if not is_v6(sip) and not is_v6(dip):
        return ipv4_udp_frame(src_mac, dst_mac, src, dst, payload)
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return ipv6_frame(src_mac, dst_mac, sip, dip, 17, udp)


def geneve_control(vni):
    # version 0, no options; control bit; protocol 0x7A11 (disco); VNI in bytes 4..6.
    return struct.pack("!BBHI", 0, 0x80, 0x7A11, vni << 8)


def junk_disco(key):
    return DISCO_MAGIC + key + os.urandom(24) + os.urandom(64)


def raw_socket(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    return s


def paced(count, pps, seconds, fn):
    """Calls fn() count times (or for `seconds` at `pps`), in bursts every millisecond."""
    if seconds:
        count = int(pps * seconds)
    start = time.monotonic()
    for i in range(count):
        if pps:
            ahead = i / pps - (time.monotonic() - start)
            if ahead > 0.001:
                time.sleep(ahead)
        fn()
    return count, time.monotonic() - start


def cmd_junk(a, count=None):
    s = raw_socket(a.iface)
    src_mac, dst_mac = mac_bytes(a.src_mac), mac_bytes(a.dst_mac)
    src, dst, key = addr_port(a.src), addr_port(a.dst), key_bytes(a.key)
    n, took = paced(count or 0, a.pps, None if count else a.seconds,
                    lambda: s.send(udp_frame(src_mac, dst_mac, src, dst,
                                             geneve_control(a.vni) + junk_disco(key))))
    print("sent=%d seconds=%.2f" % (n, took))


def cmd_martian(a):
    cmd_junk(a, count=a.count)


def cmd_arp(a):
    s = raw_socket(a.iface)
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, mac_bytes(a.sender_mac),
                      socket.inet_aton(a.sender_ip), mac_bytes(a.dst_mac),
                      socket.inet_aton(a.target_ip))
    frame = mac_bytes(a.dst_mac) + mac_bytes(a.src_mac) + b"\x08\x06" + arp
    frame += b"\0" * (60 - len(frame))
    for _ in range(a.count):
        s.send(frame)
        time.sleep(0.001)
    print("sent=%d" % a.count)


def cmd_nd(a):
    """Neighbour Solicitation (for --target, with our MAC as source link-layer address) or
    Advertisement (--target at --ll_mac; unsolicited: no S flag, override set)."""
    s = raw_socket(a.iface)
    target = socket.inet_pton(socket.AF_INET6, a.target)
    if a.kind == "ns":
        icmp = struct.pack("!BBHI16s", 135, 0, 0, 0, target) + b"\x01\x01" + mac_bytes(a.ll_mac)
    else:
        icmp = struct.pack("!BBHI16s", 136, 0, 0, 0x20000000, target) + b"\x02\x01" + \
            mac_bytes(a.ll_mac)
    frame = ipv6_frame(mac_bytes(a.src_mac), mac_bytes(a.dst_mac), a.src_ip, a.dst_ip, 58, icmp,
                       hop_limit=255)
    for _ in range(a.count):
        s.send(frame)
        time.sleep(0.001)
    print("sent=%d" % a.count)


def cmd_unknown(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    control = addr_port(a.control)
    # magic | sender | nonce | box of a 70-byte request (16-byte tag + 2 + 32 + 32 + 4)
    n, took = paced(a.count, a.pps, None, lambda: s.sendto(
        DISCO_MAGIC + os.urandom(32) + os.urandom(24) + os.urandom(86), control))
    print("sent=%d seconds=%.2f" % (n, took))


class Sodium:
    def __init__(self):
        self.lib = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
        if self.lib.sodium_init() < 0:
            raise SystemExit("sodium_init failed")

    def public(self, priv):
        out = ctypes.create_string_buffer(32)
        self.lib.crypto_scalarmult_curve25519_base(out, priv)
        return out.raw

    def shared(self, peer_pub, priv):
        out = ctypes.create_string_buffer(32)
        if self.lib.crypto_box_curve25519xsalsa20poly1305_beforenm(out, peer_pub, priv) != 0:
            raise SystemExit("beforenm failed")
        return out.raw

    def seal(self, shared, sender_pub, clear):
        nonce = os.urandom(24)
        out = ctypes.create_string_buffer(len(clear) + 16)
        if self.lib.crypto_box_easy_afternm(out, clear, ctypes.c_ulonglong(len(clear)), nonce,
                                           shared) != 0:
            raise SystemExit("seal failed")
        return DISCO_MAGIC + sender_pub + nonce + out.raw


def read_private(path):
    text = open(path).read().strip()
    assert text.startswith("privkey:"), path
    return bytes.fromhex(text[len("privkey:"):])


def request(sender_pub, peer_pub, generation=1):
    return bytes([ALLOCATE_REQUEST, 0]) + sender_pub + peer_pub + struct.pack("!I", generation)


def cmd_seal(a):
    na = Sodium()
    priv = read_private(a.key_file)
    pub = na.public(priv)
    shared = na.shared(key_bytes(a.control_key), priv)
    print(na.seal(shared, pub, request(pub, key_bytes(a.peer))).hex())


def drain(s, until):
    got = 0
    while True:
        left = until - time.monotonic()
        if left > 0:
            r, _, _ = select.select([s], [], [], left)
            if not r:
                return got
        try:
            while True:
                s.recv(2048, socket.MSG_DONTWAIT)
                got += 1
        except BlockingIOError:
            if left <= 0:
                return got


def cmd_payload(a):
    data = open(a.pcap, "rb").read()
    frame_len = struct.unpack("<I", data[24 + 8:24 + 12])[0]  # first record's incl_len
    frame = data[24 + 16:24 + 16 + frame_len]
    assert frame[12:14] == b"\x08\x00", "not IPv4"
    ihl = (frame[14] & 0x0F) * 4
    udp = frame[14 + ihl:]
    print(udp[8:struct.unpack("!H", udp[4:6])[0]].hex())


def cmd_send(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    data, control = bytes.fromhex(a.hex), addr_port(a.control)
    for _ in range(a.count):
        s.sendto(data, control)
        time.sleep(0.002)
    print("replies=%d" % drain(s, time.monotonic() + a.wait))


def cmd_alloc(a):
    na = Sodium()
    priv = read_private(a.key_file)
    pub = na.public(priv)
    shared = na.shared(key_bytes(a.control_key), priv)
    peers = [key_bytes(l.strip()) for l in open(a.peers_file) if l.strip()]
    control = addr_port(a.control)
    socks = []
    for ip in a.sources.split(","):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.bind((ip, 0))
        socks.append(s)
    # Closed loop, as clients are (each waits for its reply): at most --window requests
    # unanswered; a stall of a second gives the window up as lost and goes on.
    sent = replies = given_up = 0
    while sent < len(peers):
        if sent - replies - given_up < a.window:
            s = socks[(sent // a.per_source) % len(socks)]
            s.sendto(na.seal(shared, pub, request(pub, peers[sent])), control)
            sent += 1
            continue
        ready, _, _ = select.select(socks, [], [], 1.0)
        if not ready:
            given_up = sent - replies
        for s in ready:
            replies += drain(s, 0)
    deadline = time.monotonic() + a.wait
    while replies < sent and time.monotonic() < deadline:
        ready, _, _ = select.select(socks, [], [], max(0, deadline - time.monotonic()))
        for s in ready:
            replies += drain(s, 0)
    print("sent=%d replies=%d" % (sent, replies))


def cmd_echo(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    ident = os.getpid() & 0xFFFF
    seq = [0]

    def one():
        seq[0] += 1
        body = struct.pack("!BBHHH", 8, 0, 0, ident, seq[0] & 0xFFFF) + b"hostile-echo" * 4
        body = body[:2] + struct.pack("!H", checksum(body)) + body[4:]
        s.sendto(body, (a.dst, 0))

    n, _ = paced(0, a.pps, a.seconds, one)
    replies = 0
    deadline = time.monotonic() + 0.5
    while True:  # count echo replies with our identifier (the raw socket sees every ICMP)
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            break
        pkt = s.recv(2048)
        ihl = (pkt[0] & 0x0F) * 4
        if pkt[ihl] == 0 and struct.unpack("!H", pkt[ihl + 4:ihl + 6])[0] == ident:
            replies += 1
    print("sent=%d replies=%d" % (n, replies))


def cmd_keys(a):
    for _ in range(a.count):
        print("discokey:" + os.urandom(32).hex())


def cmd_idle(a):
    conns = []
    for _ in range(a.count):
        try:
            if a.tcp:
                c = socket.create_connection(addr_port(a.tcp), timeout=2)
            else:
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                c.settimeout(2)
                c.connect(a.unix)
            conns.append(c)
        except OSError:
            pass
    print("open=%d" % len(conns), flush=True)
    time.sleep(a.seconds)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("junk", "martian"):
        q = sub.add_parser(name)
        for f in ("iface", "src_mac", "dst_mac", "src", "dst", "key"):
            q.add_argument("--" + f, required=True)
        q.add_argument("--vni", type=int, required=True)
        q.add_argument("--pps", type=float, default=2000)
        q.add_argument("--seconds", type=float, default=2)
        q.add_argument("--count", type=int, default=5)
    q = sub.add_parser("arp")
    for f in ("iface", "src_mac", "dst_mac", "sender_ip", "sender_mac", "target_ip"):
        q.add_argument("--" + f, required=True)
    q.add_argument("--count", type=int, default=5)
    q = sub.add_parser("nd")
    for f in ("iface", "src_mac", "dst_mac", "src_ip", "dst_ip", "target", "ll_mac"):
        q.add_argument("--" + f, required=True)
    q.add_argument("--kind", choices=("ns", "na"), required=True)
    q.add_argument("--count", type=int, default=5)
    q = sub.add_parser("unknown")
    q.add_argument("--control", required=True)
    q.add_argument("--count", type=int, default=1000)
    q.add_argument("--pps", type=float, default=0)
    q = sub.add_parser("seal")
    for f in ("key_file", "control_key", "peer"):
        q.add_argument("--" + f, required=True)
    q = sub.add_parser("payload")
    q.add_argument("--pcap", required=True)
    q = sub.add_parser("send")
    q.add_argument("--hex", required=True)
    q.add_argument("--control", required=True)
    q.add_argument("--count", type=int, default=1)
    q.add_argument("--wait", type=float, default=1)
    q = sub.add_parser("alloc")
    for f in ("key_file", "control_key", "peers_file", "control", "sources"):
        q.add_argument("--" + f, required=True)
    q.add_argument("--per_source", type=int, default=50)
    q.add_argument("--window", type=int, default=100)
    q.add_argument("--wait", type=float, default=2)
    q = sub.add_parser("echo")
    q.add_argument("--dst", required=True)
    q.add_argument("--pps", type=float, default=2000)
    q.add_argument("--seconds", type=float, default=2)
    q = sub.add_parser("keys")
    q.add_argument("--count", type=int, default=1)
    q = sub.add_parser("idle")
    q.add_argument("--tcp")
    q.add_argument("--unix")
    q.add_argument("--count", type=int, default=100)
    q.add_argument("--seconds", type=float, default=30)
    a = p.parse_args()
    globals()["cmd_" + a.cmd](a)


if __name__ == "__main__":
    main()
