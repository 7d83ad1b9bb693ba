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
  (*m)->UpdateDataplane({{"forwarded_packets", 103},
                         {"forwarded_bytes", 12300},
                         {"forwarded_packets_udp4_udp4", 100},
                         {"forwarded_bytes_udp4_udp4", 12000},
                         {"forwarded_packets_udp6_udp4", 3},
                         {"forwarded_bytes_udp6_udp4", 300},
                         {"rx_packets", 150},
                         {"legs_bound", 2},
                         {"drop_unknown_vni", 5},
                         {"drop_handshake_ring_full", 1},
                         {"drop_icmp_ring_full", 2},
                         {"drop_exception_ring_full", 3},
                         {"exception_to_kernel", 9},
                         {"nic_p0_rx_q1_packets", 42}});
  (*m)->UpdateDataplane(
      {{"forwarded_packets_udp4_udp4", 110}, {"forwarded_bytes_udp4_udp4", 13000}});
  // The dataplane restarted: counting from zero again, its new figures are added.
  (*m)->UpdateDataplane({{"forwarded_packets_udp4_udp4", 7}, {"forwarded_bytes_udp4_udp4", 700}});

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
  EXPECT_THAT(text, HasSubstr("dprelay_handshakes_total{outcome=\"bound\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_allocations_total{result=\"new\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_allocations_total{result=\"existing\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_allocation_refusals_total{reason=\"not_allowed\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_allocation_refusals_total{reason=\"capacity\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_sessions 2\n"));
  EXPECT_THAT(text, HasSubstr("dprelay_nic_xstats_total{name=\"rx_q1_packets\",port=\"0\"} 42\n"));
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
