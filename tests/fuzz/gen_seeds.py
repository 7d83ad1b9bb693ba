#!/usr/bin/env python3
"""Seed corpora of the frame-handler, martian, worker, admin and state-file fuzzers.

Not run by the build; run it by hand after changing a format: python3 tests/fuzz/gen_seeds.py
(writes tests/fuzz/corpus/<target>/). Each seed is one well-formed input of a path the target
should reach; the fuzzers mutate from there. Addresses match the identities in the targets.
"""
import ipaddress
import os
import struct
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
OUR_MAC = bytes([0x02, 0xDD, 0, 0, 0, 0x01])
PEER_MAC = bytes([0x02, 0xAA, 0, 0, 0, 0x0A])


def ip4(s):
    return ipaddress.IPv4Address(s).packed


def ip6(s):
    return ipaddress.IPv6Address(s).packed


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def eth(dst, src, ethertype):
    return dst + src + struct.pack("!H", ethertype)


def ipv4(src, dst, proto, payload, ttl=64):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, ttl, proto, 0,
                    ip4(src), ip4(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ipv6(src, dst, nh, payload, hlim=64):
    return struct.pack("!IHBB", 6 << 28, len(payload), nh, hlim) + ip6(src) + ip6(dst) + payload


def udp4(src, dst, sport, dport, payload, checksum=True):
    u = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    if checksum:
        pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 17, len(u))
        c = csum(pseudo + u) or 0xFFFF
        u = u[:6] + struct.pack("!H", c) + u[8:]
    return ipv4(src, dst, 17, u)


def l4v6(src, dst, nh, body):
    pseudo = ip6(src) + ip6(dst) + struct.pack("!IxxxB", len(body), nh)
    c = csum(pseudo + body)
    if nh == 17:
        c = c or 0xFFFF
        return body[:6] + struct.pack("!H", c) + body[8:]
    return body[:2] + struct.pack("!H", c) + body[4:]


def udp6(src, dst, sport, dport, payload):
    u = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return ipv6(src, dst, 17, l4v6(src, dst, 17, u))


def geneve(vni, control=False, proto=0x6558, body=b"\x04" + b"\0" * 31):
    flags = 0x80 if control else 0
    return struct.pack("!BBH", 0, flags, proto) + struct.pack("!I", vni << 8) + body


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def frame_handlers():
    t = "fuzz_frame_handlers"
    arp = eth(b"\xff" * 6, PEER_MAC, 0x0806) + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1)
    write(t, "arp_request", b"\x00" + arp + PEER_MAC + ip4("10.77.0.9") + b"\0" * 6 +
          ip4("10.77.0.1"))
    arp_reply = arp[:20] + b"\x00\x02"
    write(t, "arp_reply", b"\x00" + arp_reply + PEER_MAC + ip4("10.77.0.9") + OUR_MAC +
          ip4("10.77.0.1"))
    icmp = b"\x08\x00\x00\x00\x12\x34\x00\x01" + b"ping" * 8
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    write(t, "echo4", b"\x01" + eth(OUR_MAC, PEER_MAC, 0x0800) +
          ipv4("10.77.0.9", "10.77.0.1", 1, icmp))
    unreach = b"\x03\x04\x00\x00\x00\x00\x05\xdc" + b"\0" * 28
    write(t, "frag_needed4", b"\x01" + eth(OUR_MAC, PEER_MAC, 0x0800) +
          ipv4("10.77.0.9", "10.77.0.1", 1, unreach))
    peer6, ours6 = "fd77::9", "fd77::1"
    echo6 = l4v6(peer6, ours6, 58, b"\x80\x00\x00\x00\x12\x34\x00\x01" + b"ping" * 4)
    write(t, "echo6", b"\x02" + eth(OUR_MAC, PEER_MAC, 0x86DD) + ipv6(peer6, ours6, 58, echo6))
    # Control 0x06 | room << 3: ICMPv6, checksum fixed by the target, 8 bytes of room.
    ns = b"\x87\x00\x00\x00\x00\x00\x00\x00" + ip6(ours6) + b"\x01\x01" + PEER_MAC
    snm = "ff02::1:ff00:1"
    write(t, "ns", bytes([0x06 | 8 << 3]) + eth(bytes([0x33, 0x33, 0xFF, 0, 0, 1]), PEER_MAC,
          0x86DD) + ipv6(peer6, snm, 58, l4v6(peer6, snm, 58, ns), hlim=255))
    dad = b"\x87\x00\x00\x00\x00\x00\x00\x00" + ip6(ours6)
    write(t, "ns_dad_no_room", b"\x06" + eth(bytes([0x33, 0x33, 0xFF, 0, 0, 1]), PEER_MAC,
          0x86DD) + ipv6("::", snm, 58, l4v6("::", snm, 58, dad), hlim=255))
    write(t, "ns_dad", bytes([0x06 | 8 << 3]) + eth(bytes([0x33, 0x33, 0xFF, 0, 0, 1]), PEER_MAC,
          0x86DD) + ipv6("::", snm, 58, l4v6("::", snm, 58, dad), hlim=255))
    na = b"\x88\x00\x00\x00\x60\x00\x00\x00" + ip6(peer6) + b"\x02\x01" + PEER_MAC
    write(t, "na", b"\x06" + eth(OUR_MAC, PEER_MAC, 0x86DD) +
          ipv6(peer6, ours6, 58, l4v6(peer6, ours6, 58, na), hlim=255))
    # What the fuzzer found (tests/unit/dataplane_frame_handlers_test.cc): an echo to another
    # address was answered, group senders were learned.
    write(t, "echo4_not_ours", b"\x01" + eth(OUR_MAC, PEER_MAC, 0x0800) +
          ipv4("10.77.0.9", "10.77.0.2", 1, icmp))
    write(t, "arp_multicast_sender", b"\x00" + arp + PEER_MAC + ip4("224.0.0.5") + b"\0" * 6 +
          ip4("10.77.0.1"))
    write(t, "ns_multicast_source", bytes([0x06 | 8 << 3]) +
          eth(bytes([0x33, 0x33, 0xFF, 0, 0, 1]), PEER_MAC, 0x86DD) +
          ipv6("ff02::1", snm, 58, l4v6("ff02::1", snm, 58, ns), hlim=255))
    ptb = l4v6(peer6, ours6, 58, b"\x02\x00\x00\x00\x00\x00\x05\x00" + b"\0" * 48)
    write(t, "packet_too_big6", b"\x02" + eth(OUR_MAC, PEER_MAC, 0x86DD) +
          ipv6(peer6, ours6, 58, ptb))


def martians():
    t = "fuzz_martians"
    head = ip4("203.0.113.5") + bytes([24]) + ip6("2001:db8::5")

    def rec(fam, addr, port):
        a = ip4(addr) + b"\0" * 12 if fam == 1 else ip6(addr)
        return bytes([fam]) + a + struct.pack("!H", port)

    adv = rec(1, "198.51.100.1", 443)
    for name, r in [("client4", rec(1, "198.51.100.9", 41641)),
                    ("self4", rec(1, "203.0.113.5", 41641)),
                    ("subnet_broadcast", rec(1, "203.0.113.255", 41641)),
                    ("multicast4", rec(1, "224.0.0.1", 41641)),
                    ("loopback4", rec(1, "127.0.0.1", 41641)),
                    ("port_zero", rec(1, "198.51.100.9", 0)),
                    ("advertised", rec(1, "198.51.100.1", 443)),
                    ("client6", rec(2, "2001:db8:1::9", 41641)),
                    ("self_ll6", rec(2, "fe80::ff:fe00:1", 41641)),
                    ("mapped", rec(2, "::ffff:198.51.100.9", 41641)),
                    ("multicast6", rec(2, "ff02::1", 41641)),
                    ("none", rec(0, "::", 41641))]:
        write(t, name, head + r + adv)


def worker():
    t = "fuzz_worker"
    relay4, relay6, port = "203.0.113.1", "2001:db8::1", 40000
    e4 = eth(OUR_MAC, PEER_MAC, 0x0800)
    e6 = eth(OUR_MAC, PEER_MAC, 0x86DD)
    data = lambda vni: geneve(vni, body=b"\x04" + b"wg" * 40)
    write(t, "v4_to_v4", b"\0" + e4 + udp4("198.51.100.10", relay4, 41641, port, data(1)))
    write(t, "v4_to_v4_no_csum", b"\0" + e4 + udp4("198.51.100.20", relay4, 41642, port, data(1),
                                                   checksum=False))
    write(t, "v4_to_v6", b"\0" + e4 + udp4("198.51.100.11", relay4, 41643, port, data(2)))
    write(t, "v4_to_v6_no_csum", b"\0" + e4 + udp4("198.51.100.11", relay4, 41643, port, data(2),
                                                   checksum=False))
    write(t, "v6_to_v4", b"\0" + e6 + udp6("2001:db8::21", relay6, 41644, port, data(2)))
    write(t, "v6_to_v6", b"\0" + e6 + udp6("2001:db8::12", relay6, 41645, port, data(3)))
    write(t, "unbound", b"\0" + e4 + udp4("198.51.100.13", relay4, 41647, port, data(4)))
    write(t, "unresolved", b"\0" + e4 + udp4("198.51.100.14", relay4, 41649, port, data(5)))
    write(t, "not_live", b"\0" + e4 + udp4("198.51.100.15", relay4, 41651, port, data(6)))
    write(t, "padded", b"\0" + e4 + udp4("198.51.100.10", relay4, 41641, port, data(1))[:-4] +
          b"\0" * 4)
    write(t, "control4", b"\0" + e4 + udp4("198.51.100.10", relay4, 41641, port,
                                           geneve(1, control=True, proto=0x7A11)))
    write(t, "stun", b"\0" + e4 + udp4("198.51.100.10", relay4, 41641, port,
                                       b"\x00\x01\x00\x00\x21\x12\xa4\x42" + b"\0" * 12))
    write(t, "other_port", b"\x01" + e4 + udp4("198.51.100.10", relay4, 41641, 22, data(1)))
    write(t, "tcp", b"\x01" + e4 + ipv4("198.51.100.10", relay4, 6, b"\0" * 20))
    write(t, "icmp4", b"\0" + e4 + ipv4("198.51.100.10", relay4, 1, b"\x08" + b"\0" * 7))
    write(t, "arp", b"\0" + eth(b"\xff" * 6, PEER_MAC, 0x0806) + b"\0" * 28)
    write(t, "ns6", b"\0" + e6 + ipv6("fe80::9", "ff02::1:ff00:1", 58, b"\x87" + b"\0" * 31,
                                      hlim=255))
    write(t, "fragment4", b"\0" + e4 + ipv4("198.51.100.10", relay4, 17, b"\0" * 40)[:6] +
          b"\x20\x00" + ipv4("198.51.100.10", relay4, 17, b"\0" * 40)[8:])


def admin():
    t = "fuzz_admin"
    for name, line in [("status", b"DPRELAY-ADMIN/1 text status"),
                       ("sessions_json", b"DPRELAY-ADMIN/1 json sessions\r"),
                       ("ping", b"DPRELAY-ADMIN/1 text ping 17"),
                       ("set_static", b"DPRELAY-ADMIN/1 text set-static-endpoints "
                                      b"198.51.100.1:443,[2001:db8::1]:443"),
                       ("version2", b"DPRELAY-ADMIN/2 text status"),
                       ("ok_response", b"OK\n{\"sessions\":[]}\n"),
                       ("error_response", b"ERROR no such command\n")]:
        write(t, name, line)


def state_files():
    t = "fuzz_state_files"
    key = b"privkey:" + b"5f" * 32 + b"\n"
    write(t, "client_key", b"\x00" + key)
    write(t, "control_key", b"\x01" + key)
    write(t, "control_key_upper", b"\x01  privkey:" + b"A0" * 32 + b"  \n")
    write(t, "lamport", b"\x02" + b"1733140000123\n")
    write(t, "lamport_plus", b"\x02+5\n")
    write(t, "static_endpoints", b"\x03198.51.100.1:443,[2001:db8::1]:443\n")
    write(t, "static_endpoints_empty", b"\x03\n")
    write(t, "policy", b"\x04" + open(os.path.join(OUT, "..", "..", "..", "conf", "policy.example"), "rb").read())


if __name__ == "__main__":
    frame_handlers()
    martians()
    worker()
    admin()
    state_files()
    sys.exit(0)
