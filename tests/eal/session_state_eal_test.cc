// The main lcore's compact session state (DECISIONS.md "Memory per session"): activity inferred
// from the leg counters once a second, pooled records reused after expiry, interned install
// parameters.
#include "tests/eal/relay_fixture.h"
#include "tests/testutil/eal_main.h"

namespace dprelay {
namespace {

constexpr uint64_t kMs = 1'000'000;

class SessionStateEalTest : public RelayEalTest {
 protected:
  std::vector<ipc::SessionRecord> Dump() {
    uint32_t next = 0;
    return main_->sessions().DumpPage(0, 256, 65536, &next, now_ns_);
  }
  // Data from c, forwarded by the worker; the main lcore runs too (housekeeping if due).
  void SendData(const Client& c) {
    Inject(FromClient(c, Data(kVni, {0x42})).Build());
    Step();
    ASSERT_EQ(Sent(0).size(), 1u);
  }
  // Both clients' ARP requests keep their neighbour entries fresh (and forwarding possible).
  void RefreshNeighbours() {
    Inject(ArpRequest(a_, kRelayIp));
    Inject(ArpRequest(b_, kRelayIp));
    Step();
    Sent(1);
  }
  int LegOf(const Client& c) const {
    return SortedPair(a_.key.pub, b_.key.pub)[0] == c.key.pub ? 0 : 1;
  }
};

TEST_F(SessionStateEalTest, IdleTimeIsInferredFromCountersAtEachHousekeeping) {
  OpenSession();
  SendData(a_);
  SendData(b_);
  // The next housekeeping sees both counters moved: both legs were seen then.
  now_ns_ += kSecond;
  Step();
  now_ns_ += 2500 * kMs;
  std::vector<ipc::SessionRecord> page = Dump();
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].idle_ns, (std::array<uint64_t, 2>{2500 * kMs, 2500 * kMs}));
  // A sends again, and this pass runs housekeeping (2.5 s since the last one): A is seen now,
  // B is still idle since the previous housekeeping.
  SendData(a_);
  page = Dump();
  EXPECT_EQ(page[0].idle_ns[LegOf(a_)], 0u);
  EXPECT_EQ(page[0].idle_ns[LegOf(b_)], 2500 * kMs);
  // Between housekeeping runs, a leg whose counter moved counts as seen now.
  now_ns_ += 300 * kMs;
  SendData(b_);  // no housekeeping: the last one was 300 ms ago
  page = Dump();
  EXPECT_EQ(page[0].idle_ns[LegOf(a_)], 300 * kMs);
  EXPECT_EQ(page[0].idle_ns[LegOf(b_)], 0u);
}

TEST_F(SessionStateEalTest, SteadyStateLifetimeCountsFromTheHousekeepingThatSawTraffic) {
  OpenSession();
  now_ns_ += 10 * kSecond;
  SendData(a_);  // housekeeping in the same pass notices it: A seen at this instant
  SendData(b_);  // within the same second: noticed at the next housekeeping
  now_ns_ += kSecond;
  Step();  // B seen here, one second after A
  now_ns_ += 299 * kSecond;
  Step();  // A idle for exactly 300 s: not more than the lifetime
  EXPECT_EQ(main_->sessions().size(), 1u);
  now_ns_ += kSecond;
  Step();  // A idle for 301 s
  EXPECT_EQ(main_->sessions().size(), 0u);
  EXPECT_TRUE(main_->sessions().NextHopsInUse().empty());
}

TEST_F(SessionStateEalTest, OneBusyLegDoesNotKeepAnIdlePeerAlive) {
  OpenSession();
  for (int i = 0; i < 300; ++i) {
    now_ns_ += kSecond;
    if (i % 30 == 0) {
      RefreshNeighbours();
    }
    SendData(a_);
  }
  EXPECT_EQ(main_->sessions().size(), 1u);  // B answered 300 s ago, to the millisecond or so
  now_ns_ += 2 * kSecond;
  SendData(a_);
  EXPECT_EQ(main_->sessions().size(), 0u);
}

TEST_F(SessionStateEalTest, ExpiredRecordsAreReusedWithoutGrowth) {
  auto install_all = [&] {
    for (uint32_t vni = 1; vni <= 1000; ++vni) {
      ipc::InstallSession m = InstallMessage();
      m.vni = vni;
      ASSERT_TRUE(main_->sessions().Install(m, now_ns_).ok());
    }
  };
  install_all();
  EXPECT_EQ(main_->sessions().size(), 1000u);
  const size_t bytes = main_->sessions().MemoryBytes();
  // Records, the VNI index and interned parameters; no per-session hash slack.
  EXPECT_LE(bytes, 1000 * sizeof(SessionState) + 4096 * sizeof(SessionState) + 1025 * 4 + 4096);
  now_ns_ += 31 * kSecond;  // unbound: the bind lifetime ran out
  Step();
  EXPECT_EQ(main_->sessions().size(), 0u);
  EXPECT_TRUE(Dump().empty());
  install_all();
  EXPECT_EQ(main_->sessions().size(), 1000u);
  // The records are reused; only the free list kept its capacity (4 bytes per freed record).
  const size_t churned = main_->sessions().MemoryBytes();
  EXPECT_LE(churned, bytes + 1024 * sizeof(uint32_t));
  now_ns_ += 31 * kSecond;
  Step();
  EXPECT_EQ(main_->sessions().size(), 0u);
  install_all();
  EXPECT_EQ(main_->sessions().MemoryBytes(), churned);  // churn does not grow anything
  // A reused record starts clean: no round trip, idle since this install.
  now_ns_ += kSecond;
  std::vector<ipc::SessionRecord> page = Dump();
  ASSERT_EQ(page.size(), 256u);
  EXPECT_EQ(page[0].handshake_rtt_ns, (std::array<uint64_t, 2>{0, 0}));
  EXPECT_EQ(page[0].idle_ns, (std::array<uint64_t, 2>{kSecond, kSecond}));
  EXPECT_EQ(page[0].bound, (std::array<AddrPort, 2>{}));
}

TEST_F(SessionStateEalTest, ServerKeysAndLifetimesAreInternedPerConfiguration) {
  ipc::InstallSession m = InstallMessage();
  for (uint32_t vni : {1u, 2u, 3u}) {
    m.vni = vni;
    ASSERT_TRUE(main_->sessions().Install(m, now_ns_).ok());
  }
  EXPECT_EQ(main_->sessions().interned_params(), 1u);
  ipc::InstallSession other = InstallMessage();
  other.vni = 4;
  other.server_key = a_.key.pub;  // another control process's server key
  ASSERT_TRUE(main_->sessions().Install(other, now_ns_).ok());
  other.vni = 5;
  other.bind_lifetime_ns = 10 * kSecond;
  ASSERT_TRUE(main_->sessions().Install(other, now_ns_).ok());
  EXPECT_EQ(main_->sessions().interned_params(), 3u);
  // Each session keeps its own lifetimes: VNI 5's 10 s bind lifetime runs out first.
  now_ns_ += 11 * kSecond;
  Step();
  EXPECT_EQ(main_->sessions().size(), 4u);
  EXPECT_EQ(main_->sessions().interned_params(), 2u);
  main_->sessions().Remove(4);
  EXPECT_EQ(main_->sessions().interned_params(), 1u);
  // A re-install with the other configuration moves the session's reference.
  other.vni = 1;
  ASSERT_TRUE(main_->sessions().Install(other, now_ns_).ok());
  EXPECT_EQ(main_->sessions().interned_params(), 2u);
}

TEST_F(SessionStateEalTest, LifetimesOutOfRangeAreRefusedAndChangeNothing) {
  ipc::InstallSession m = InstallMessage();
  ASSERT_TRUE(main_->sessions().Install(m, now_ns_).ok());
  for (int64_t bad : {int64_t{0}, int64_t{-1}, 25 * 3600 * int64_t{kSecond}}) {
    ipc::InstallSession again = m;
    again.steady_state_lifetime_ns = bad;
    again.lamport_id = 99;
    absl::Status st = main_->sessions().Install(again, now_ns_);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
    ipc::InstallSession fresh = again;
    fresh.vni = kVni + 1;
    EXPECT_EQ(main_->sessions().Install(fresh, now_ns_).code(), absl::StatusCode::kInvalidArgument);
  }
  std::vector<ipc::SessionRecord> page = Dump();
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].lamport_id, m.lamport_id);
  EXPECT_EQ(main_->sessions().interned_params(), 1u);
}

}  // namespace
}  // namespace dprelay

int main(int argc, char** argv) { return dprelay::testing::RunEalTests(argc, argv, "0"); }
