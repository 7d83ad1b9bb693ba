// The exporter over real HTTP on loopback: the reference's names and labels, and dataplane
// counters mirrored (including across a dataplane restart).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "control/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/http_client.h"

namespace dprelay::control {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Scrape(uint16_t port) {
  return dprelay::testing::HttpExchange(port, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n");
}

TEST(MetricsTest, ExportsReferenceNamesAndMirrorsDataplaneCounters) {
  absl::StatusOr<std::unique_ptr<Metrics>> m = Metrics::Start(*ParseAddrPort("127.0.0.1:0"));
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_NE((*m)->port(), 0);

  ControlMetricsSnapshot s;
  s.requests = 9;
  s.allocated = 2;
  s.reallocated = 3;
  s.refusals[static_cast<size_t>(Refusal::kNotAllowed)] = 4;
  s.sessions = 2;
  s.sessions_open = 1;
  s.capacity = 4096;
  s.dataplane_up = true;
  s.health_connections[static_cast<size_t>(net::StreamCounter::kRefusedSourceCap)] = 92;
  s.admin_connections[static_cast<size_t>(net::StreamCounter::kHeaderTimeout)] = 3;
  (*m)->UpdateControl(s);
  using C = DataplaneCounter;
  ipc::StatsReply stats;
  stats.counters[C::kForwardedPackets] = 103;
  stats.counters[C::kForwardedBytes] = 12300;
  stats.counters[C::kForwardedPackets44] = 100;
  stats.counters[C::kForwardedBytes44] = 12000;
  stats.counters[C::kForwardedPackets64] = 3;
  stats.counters[C::kForwardedBytes64] = 300;
  stats.counters[C::kRxPackets] = 150;
  stats.counters[C::kLegsBound] = 2;
  stats.counters[C::kExceptionToKernel] = 9;
  stats.counters[C::kIpcPendingMessages] = 6;
  auto drop = [&](DropReason r) -> uint64_t& {
    return stats.counters.drops[static_cast<size_t>(r)];
  };
  drop(DropReason::kUnknownVni) = 5;
  drop(DropReason::kHandshakeRingFull) = 1;
  drop(DropReason::kIcmpRingFull) = 2;
  drop(DropReason::kExceptionRingFull) = 3;
  stats.nic = {{.port = 0, .name = "rx_q1_packets", .value = 42}};
  (*m)->UpdateDataplane(stats);
  stats.counters[C::kForwardedPackets44] = 110;
  stats.counters[C::kForwardedBytes44] = 13000;
  (*m)->UpdateDataplane(stats);
  stats.counters[C::kIpcPendingMessages] = 4;  // a level: not summed
  (*m)->UpdateDataplane(stats);
  // The dataplane restarted: counting from zero again, its new figures are added.
  stats.counters = {};
  stats.counters[C::kIpcPendingMessages] = 5;
  stats.counters[C::kForwardedPackets44] = 7;
  stats.counters[C::kForwardedBytes44] = 700;
  stats.nic[0].value = 4;
  (*m)->UpdateDataplane(stats);

  const std::string text = Scrape((*m)->port());
  EXPECT_THAT(text, HasSubstr("tailscaled_peer_relay_forwarded_packets_total{transport_in=\"udp4\","
                              "transport_out=\"udp4\"} 117\n"));
  EXPECT_THAT(text, HasSubstr("tailscaled_peer_relay_forwarded_packets_total{transport_in=\"udp4\","
                              "transport_out=\"udp6\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("tailscaled_peer_relay_forwarded_bytes_total{transport_in=\"udp4\","
                              "transport_out=\"udp4\"} 13700\n"));
  EXPECT_THAT(text, HasSubstr("tailscaled_peer_relay_forwarded_packets_total{transport_in=\"udp6\","
                              "transport_out=\"udp4\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("tailscaled_peer_relay_forwarded_bytes_total{transport_in=\"udp6\","
                              "transport_out=\"udp4\"} 300\n"));
  EXPECT_THAT(text, HasSubstr("tailscaled_peer_relay_endpoints{state=\"open\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tailscaled_peer_relay_endpoints{state=\"connecting\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE tailscaled_peer_relay_endpoints gauge\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_session_capacity 4096\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_dataplane_drops_total{reason=\"unknown_vni\"} 5\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_ring_overflows_total{ring=\"main_handshake\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_ring_overflows_total{ring=\"main_icmp\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_ring_overflows_total{ring=\"exception\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_dataplane_exception_to_kernel_total 9\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_dataplane_rx_packets_total 150\n"));
  // A gauge of the catalogue is the last value, not a sum (name kept for the dashboards).
  EXPECT_THAT(text, HasSubstr("# TYPE dprelay_dataplane_ipc_pending_messages_total gauge\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_dataplane_ipc_pending_messages_total 5\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_handshakes_total{outcome=\"bound\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_allocations_total{result=\"new\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_allocations_total{result=\"existing\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_allocation_refusals_total{reason=\"not_allowed\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_allocation_refusals_total{reason=\"capacity\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_sessions 2\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_nic_xstats_total{name=\"rx_q1_packets\",port=\"0\"} 46\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_dataplane_up 1\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_endpoint_connections_total{endpoint=\"health\","
                              "event=\"refused_source_cap\"} 92\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_endpoint_connections_total{endpoint=\"admin\","
                              "event=\"header_timeout\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_endpoint_connections_total{endpoint=\"health\","
                              "event=\"evicted\"} 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("dprelay_dataplane_forwarded")));
}

TEST(MetricsTest, AnAddressInUseIsAnErrorNamingTheFlag) {
  absl::StatusOr<std::unique_ptr<Metrics>> first = Metrics::Start(*ParseAddrPort("127.0.0.1:0"));
  ASSERT_TRUE(first.ok());
  const std::string taken = "127.0.0.1:" + std::to_string((*first)->port());
  absl::StatusOr<std::unique_ptr<Metrics>> second = Metrics::Start(*ParseAddrPort(taken));
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("--metrics_listen=" + taken));
}

}  // namespace
}  // namespace dprelay::control
