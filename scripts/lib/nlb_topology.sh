# An AWS Network Load Balancer rehearsed in network namespaces (source it after topology.sh).
#
#   ns A (203.0.113.11) ─┐                      ns N: the "NLB"                  ns R: the relay
#   ns B (203.0.113.12) ─┴─ pub (bridge) 203.0.113.1, static IP 203.0.113.10
#                          UDP 40000/40001 to 203.0.113.10 DNAT'ed to 10.77.0.1 (client source kept;
#                          conntrack rewrites the replies' source back to 203.0.113.10)
#                          priv0 10.77.0.254 ══ dp0 (DPDK; relay 10.77.0.1, gateway 10.77.0.254)
#                                                    └ exception interface: kernel 10.77.0.1
#                          mgmt0 10.78.0.1 ════════ mgmt0 10.78.0.2 (the instance's management NIC)
#
# Clients know only 203.0.113.10. The relay sees their real addresses (the handshake MAC binds
# them) and reaches them through the NLB as its gateway, like a VPC route. Health checks come
# from the NLB's private address, as NLB's do. Names carry the per-run suffix of topology.sh and
# topo_down removes them.
#
# Routing in ns R is an AWS instance's (README, "AWS behind a Network Load Balancer"): the
# default route is the management NIC's; a policy rule sends what leaves from the relay address
# through the exception interface to the NLB (table $NLB_TABLE). As a VPC does (source/destination
# check), ns N drops what arrives on an interface with a source that is not that interface's
# address, so a reply with the wrong source or the wrong way out never reaches a client.

NS_N="dpr-n-$TOPO_SUFFIX"
NLB_IP=203.0.113.10
NLB_PUB=203.0.113.1
PUB_A=203.0.113.11
PUB_B=203.0.113.12
NLB_PRIV=10.77.0.254
MGMT_N=10.78.0.1
MGMT_R=10.78.0.2
EXC_IFACE=dpx0  # the dataplane's exception interface in ns R
NLB_TABLE=100   # ns R's routing table for traffic from the relay address

nlb_up() {
  TOPO_EXTRA_NS+=("$NS_N")
  ip netns add "$NS_N"
  ip netns add "$NS_R"
  ip netns add "$NS_A"
  ip netns add "$NS_B"
  local ns
  for ns in "$NS_N" "$NS_R" "$NS_A" "$NS_B"; do
    ip -n "$ns" link set lo up
  done
  # Public side: the clients and the NLB's static address on one bridge.
  ip -n "$NS_N" link add pub type bridge
  ip -n "$NS_N" addr add "$NLB_PUB/24" dev pub
  ip -n "$NS_N" addr add "$NLB_IP/24" dev pub
  ip -n "$NS_N" link set pub up
  local side
  for side in A B; do
    local cns=NS_$side caddr=PUB_$side
    ip link add eth0 netns "${!cns}" type veth peer name "c$side" netns "$NS_N"
    ip -n "$NS_N" link set "c$side" master pub
    ip -n "$NS_N" link set "c$side" up
    ip -n "${!cns}" addr add "${!caddr}/24" dev eth0
    ip -n "${!cns}" link set eth0 up
    # veth would leave UDP checksums to "hardware"; the DPDK port must get finished ones.
    ip netns exec "${!cns}" ethtool -K eth0 tx off >/dev/null 2>&1 || true
  done
  # Private side: the relay's NIC (DPDK) and its management NIC (kernel).
  ip link add dp0 netns "$NS_R" type veth peer name priv0 netns "$NS_N"
  ip -n "$NS_N" addr add "$NLB_PRIV/24" dev priv0
  ip -n "$NS_N" link set priv0 up
  ip -n "$NS_R" link set dp0 up
  ip link add mgmt0 netns "$NS_R" type veth peer name mgmt0 netns "$NS_N"
  ip -n "$NS_N" addr add "$MGMT_N/24" dev mgmt0
  ip -n "$NS_R" addr add "$MGMT_R/24" dev mgmt0
  ip -n "$NS_N" link set mgmt0 up
  ip -n "$NS_R" link set mgmt0 up
  # As on AWS: the instance's default route is the management NIC's, and only traffic from the
  # relay address is routed through the relay NIC (its route: nlb_relay_routes).
  ip -n "$NS_R" route add default via "$MGMT_N" dev mgmt0
  ip -n "$NS_R" rule add from "$RELAY_IP" lookup "$NLB_TABLE"
  for dev in priv0 mgmt0 pub; do
    ip netns exec "$NS_N" ethtool -K "$dev" tx off >/dev/null 2>&1 || true
  done
  ip netns exec "$NS_N" sysctl -qw net.ipv4.ip_forward=1
  ip netns exec "$NS_N" sysctl -qw net.ipv4.conf.all.rp_filter=0
  # The listeners: UDP relay port and allocation port, to the relay's private address. The VPC's
  # source/destination check: each of the relay's NICs may send only from its own address.
  ip netns exec "$NS_N" nft -f - <<NFT
table ip nlb {
  chain srccheck {
    type filter hook prerouting priority raw; policy accept;
    iifname "priv0" ip saddr != $RELAY_IP counter drop
    iifname "mgmt0" ip saddr != $MGMT_R counter drop
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr $NLB_IP udp dport { $RELAY_PORT, $CONTROL_PORT } dnat to $RELAY_IP
  }
}
NFT
}

# nlb_relay_routes: what leaves from the relay address (the kernel side of the exception
# interface, given 10.77.0.1/24 by the dataplane) reaches the clients through the NLB, as an
# instance's relay ENI does through its VPC router; everything else keeps the management NIC's
# default route. Run after every dataplane start: the interface is created anew each time and
# its routes go with it (the rule of nlb_up stays).
nlb_relay_routes() {
  local i
  for i in $(seq 50); do
    ip -n "$NS_R" -4 addr show dev "$EXC_IFACE" 2>/dev/null | grep -q "inet $RELAY_IP/" && break
    sleep 0.1
  done
  ip -n "$NS_R" route replace default via "$NLB_PRIV" dev "$EXC_IFACE" table "$NLB_TABLE"
}

# nlb_source_check_drops: packets ns N dropped for a wrong source (both NICs together).
nlb_source_check_drops() {
  ip netns exec "$NS_N" nft list chain ip nlb srccheck |
    awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) } END { print n + 0 }'
}
