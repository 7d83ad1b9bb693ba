#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <variant>
#include <vector>

#include "control/dataplane_link.h"
#include "control/registry.h"
#include "control/session_params.h"
#include "control_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/ipc.h"
#include "tests/unit/foreign_peer.h"

namespace dprelay::control {
namespace {

using ::testing::ElementsAre;
using testing::FakeDataplane;
using testing::MemoryLamportStore;
using testing::Pair;
using testing::TempDir;

class DataplaneLinkTest : public ::testing::Test {
 protected:
  DataplaneLinkTest()
      : path_(tmp_.File("dp.sock")),
        registry_({}, &lamport_),
        params_{.server_key =
                    [] {
                      DiscoKey k;
                      k.bytes[0] = 0x33;
                      return k;
                    }(),
                .bind_lifetime = absl::Seconds(30),
                .steady_state_lifetime = absl::Minutes(5)} {}

  std::unique_ptr<DataplaneLink> MakeLink(DataplaneLinkConfig config = {}) {
    config.socket_path = path_;
    return std::make_unique<DataplaneLink>(
        config, params_, &registry_,
        [](const KeyPair& keys) -> absl::StatusOr<std::array<SharedKey, 2>> {
          std::array<SharedKey, 2> shared{};
          shared[0].bytes[0] = keys[0].bytes[1];  // recognisable, like Allocate's
          shared[1].bytes[0] = static_cast<uint8_t>(keys[1].bytes[1] + 100);
          return shared;
        });
  }

  uint32_t Allocate(int i) {
    std::array<SharedKey, 2> shared{};
    shared[0].bytes[0] = static_cast<uint8_t>(i);
    shared[1].bytes[0] = static_cast<uint8_t>(i + 100);
    absl::StatusOr<Allocation> a = registry_.Allocate(Pair(i), shared, now_);
    EXPECT_TRUE(a.ok());
    return a->endpoint.vni;
  }

  // Connects link to dp, delivers a Hello and answers the sync's dump with `dump`, one
  // session per page.
  void ConnectAndHello(DataplaneLink& link, FakeDataplane& dp, uint32_t capacity = 1000,
                       const std::vector<ipc::SessionRecord>& dump = {}) {
    link.Tick(now_);
    ASSERT_EQ(link.state(), DataplaneLink::State::kConnected);
    ASSERT_TRUE(dp.Accept());
    EXPECT_FALSE(link.ready());
    EXPECT_TRUE(link.relay_addrs().empty());
    dp.Send(ipc::Hello{.relay_addrs = relay_addrs_, .capacity = capacity});
    link.OnEvents(POLLIN, now_);
    for (size_t page = 0; page <= dump.size(); ++page) {
      // Allocations wait for the sync: nothing to advertise yet.
      EXPECT_EQ(link.state(), DataplaneLink::State::kSyncing);
      EXPECT_TRUE(link.relay_addrs().empty());
      std::optional<ipc::Message> m = dp.Receive(1000);
      ASSERT_TRUE(m.has_value());
      const auto* req = std::get_if<ipc::DumpRequest>(&*m);
      ASSERT_NE(req, nullptr) << "message index " << m->index();
      ipc::DumpReply reply{.request_id = req->request_id};
      if (page < dump.size()) {
        EXPECT_EQ(req->from_vni, page == 0 ? 0 : dump[page - 1].vni + 1);
        reply.sessions = {dump[page]};
        reply.next_vni = dump[page].vni + 1;
      } else if (page == 0) {
        EXPECT_EQ(req->from_vni, 0u);
      }
      if (page + 1 == dump.size()) {
        reply.next_vni = 0;
        page = dump.size();  // that was the last page
      }
      dp.Send(reply);
      link.OnEvents(POLLIN, now_);
    }
    ASSERT_TRUE(link.ready());
  }

  TempDir tmp_;
  const std::string path_;
  MemoryLamportStore lamport_;
  Registry registry_;
  const SessionParams params_;
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  const std::vector<AddrPort> relay_addrs_ = {*ParseAddrPort("203.0.113.5:40000"),
                                              *ParseAddrPort("[2001:db8::5]:40000")};
};

TEST_F(DataplaneLinkTest, RetriesEverySecondWhileTheDataplaneIsAway) {
  auto link = MakeLink();
  EXPECT_EQ(link->next_deadline(), absl::InfinitePast());  // connect at once
  link->Tick(now_);
  EXPECT_EQ(link->state(), DataplaneLink::State::kDisconnected);
  EXPECT_EQ(link->fd(), -1);
  EXPECT_EQ(link->next_deadline(), now_ + absl::Seconds(1));
  EXPECT_TRUE(link->relay_addrs().empty());

  FakeDataplane dp(path_);
  link->Tick(now_ + absl::Milliseconds(500));  // not due yet
  EXPECT_EQ(link->state(), DataplaneLink::State::kDisconnected);
  EXPECT_FALSE(dp.HasPendingConnection());
  link->Tick(now_ + absl::Seconds(1));
  EXPECT_EQ(link->state(), DataplaneLink::State::kConnected);
  EXPECT_GE(link->fd(), 0);
  EXPECT_EQ(link->poll_events() & POLLIN, POLLIN);
  EXPECT_EQ(link->next_deadline(), absl::InfiniteFuture());
  EXPECT_TRUE(dp.Accept());
}

TEST_F(DataplaneLinkTest, HelloReinstallsEveryLiveEndpointWithBoundLegs) {
  uint32_t v1 = Allocate(1);
  uint32_t v2 = Allocate(2);
  uint32_t v3 = Allocate(3);
  registry_.Remove(v2);
  AddrPort leg = *ParseAddrPort("198.51.100.7:41641");
  registry_.RecordBound(v3, 1, leg);

  FakeDataplane dp(path_);
  auto link = MakeLink();
  ConnectAndHello(*link, dp, 500);
  EXPECT_EQ(link->relay_addrs(), relay_addrs_);
  EXPECT_EQ(registry_.capacity(), 500u);

  std::vector<ipc::InstallSession> installs = dp.ReceiveInstalls();
  ASSERT_EQ(installs.size(), 2u);
  EXPECT_EQ(installs[0].vni, v1);
  EXPECT_EQ(installs[0].client_keys, Pair(1));
  EXPECT_EQ(installs[0].shared[0].bytes[0], 1);
  EXPECT_EQ(installs[0].shared[1].bytes[0], 101);
  EXPECT_EQ(installs[0].server_key, params_.server_key);
  EXPECT_EQ(installs[0].bind_lifetime_ns, 30'000'000'000);
  EXPECT_EQ(installs[0].steady_state_lifetime_ns, 300'000'000'000);
  EXPECT_FALSE(installs[0].bound[0].valid());
  EXPECT_FALSE(installs[0].bound[1].valid());
  EXPECT_EQ(installs[1].vni, v3);
  EXPECT_FALSE(installs[1].bound[0].valid());
  EXPECT_EQ(installs[1].bound[1], leg);
  EXPECT_FALSE(link->reinstall_in_progress());
}

TEST_F(DataplaneLinkTest, ARestartedControlRestoresTheDataplanesSessions) {
  // Control starts empty (it was restarted); the dataplane has two sessions, one bound.
  lamport_.StoreLamport(2000).IgnoreError();  // persisted mark of the previous process
  Registry fresh({}, &lamport_);
  const AddrPort leg = *ParseAddrPort("198.51.100.7:41641");
  const std::vector<ipc::SessionRecord> dump = {
      {.vni = 5,
       .client_keys = Pair(5),
       .bound = {leg, AddrPort{}},
       .lamport_id = 1500,
       .allocated_at_unix_ns = absl::ToUnixNanos(now_ - absl::Minutes(3)),
       .packets = {10, 0},
       .bytes = {1000, 0}},
      {.vni = 9, .client_keys = Pair(9), .lamport_id = 1600},
  };
  FakeDataplane dp(path_);
  auto link = std::make_unique<DataplaneLink>(
      DataplaneLinkConfig{.socket_path = path_}, params_, &fresh,
      [](const KeyPair& keys) -> absl::StatusOr<std::array<SharedKey, 2>> {
        std::array<SharedKey, 2> shared{};
        shared[0].bytes[0] = keys[0].bytes[1];
        return shared;
      });
  link->Tick(now_);
  ASSERT_TRUE(dp.Accept());
  dp.Send(ipc::Hello{.relay_addrs = relay_addrs_, .capacity = 1000});
  link->OnEvents(POLLIN, now_);
  auto req = std::get<ipc::DumpRequest>(*dp.Receive(1000));
  dp.Send(ipc::DumpReply{.request_id = req.request_id, .sessions = {dump[0]}, .next_vni = 6});
  link->OnEvents(POLLIN, now_);
  EXPECT_FALSE(link->ready());
  req = std::get<ipc::DumpRequest>(*dp.Receive(1000));
  EXPECT_EQ(req.from_vni, 6u);
  dp.Send(ipc::DumpReply{.request_id = req.request_id, .sessions = {dump[1]}, .next_vni = 0});
  link->OnEvents(POLLIN, now_);
  ASSERT_TRUE(link->ready());

  ASSERT_EQ(fresh.size(), 2u);
  const Endpoint* ep = fresh.FindByPair(Pair(5));
  ASSERT_NE(ep, nullptr);
  EXPECT_EQ(ep->vni, 5u);
  EXPECT_EQ(ep->lamport_id, 1500u);
  EXPECT_EQ(ep->allocated_at, now_ - absl::Minutes(3));
  EXPECT_EQ(ep->bound[0], leg);
  EXPECT_EQ(ep->shared[0].bytes[0], 5);
  EXPECT_EQ(link->stats().sessions_restored, 2u);
  // The dataplane has them: nothing is reinstalled.
  EXPECT_TRUE(dp.ReceiveInstalls().empty());
  // The same pair still gets its endpoint; a new pair gets a higher LamportID and a free VNI.
  absl::StatusOr<Allocation> again = fresh.Allocate(Pair(5), {}, now_);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->endpoint.vni, 5u);
  EXPECT_EQ(again->endpoint.lamport_id, 1500u);
  absl::StatusOr<Allocation> other = fresh.Allocate(Pair(7), {}, now_);
  ASSERT_TRUE(other.ok());
  EXPECT_GT(other->endpoint.lamport_id, 2000u);
}

TEST_F(DataplaneLinkTest, DumpSessionsCollectsEveryPage) {
  FakeDataplane dp(path_);
  auto link = MakeLink();
  std::optional<absl::StatusOr<std::vector<ipc::SessionRecord>>> result;
  link->DumpSessions([&](auto r) { result = std::move(r); }, now_);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status().code(), absl::StatusCode::kUnavailable);  // not connected
  result.reset();

  ConnectAndHello(*link, dp);
  link->DumpSessions([&](auto r) { result = std::move(r); }, now_);
  auto req = std::get<ipc::DumpRequest>(*dp.Receive(1000));
  dp.Send(ipc::DumpReply{
      .request_id = req.request_id, .sessions = {{.vni = 1, .packets = {3, 4}}}, .next_vni = 2});
  link->OnEvents(POLLIN, now_);
  EXPECT_FALSE(result.has_value());
  req = std::get<ipc::DumpRequest>(*dp.Receive(1000));
  EXPECT_EQ(req.from_vni, 2u);
  dp.Send(ipc::DumpReply{.request_id = req.request_id, .sessions = {{.vni = 8}}, .next_vni = 0});
  link->OnEvents(POLLIN, now_);
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->ok()) << result->status();
  ASSERT_EQ((*result)->size(), 2u);
  EXPECT_EQ((**result)[0].packets[1], 4u);
  EXPECT_EQ((**result)[1].vni, 8u);

  // One VNI: one page from there, narrowed to it, even if the dataplane says there is more.
  result.reset();
  link->DumpSessions([&](auto r) { result = std::move(r); }, now_, 8);
  req = std::get<ipc::DumpRequest>(*dp.Receive(1000));
  EXPECT_EQ(req.from_vni, 8u);
  dp.Send(ipc::DumpReply{
      .request_id = req.request_id, .sessions = {{.vni = 9}, {.vni = 10}}, .next_vni = 11});
  link->OnEvents(POLLIN, now_);
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->ok()) << result->status();
  EXPECT_TRUE((*result)->empty());  // 8 is not live
  EXPECT_EQ(link->pending_dumps(), 0u);

  // A dump in flight when the dataplane goes away fails instead of hanging.
  result.reset();
  link->DumpSessions([&](auto r) { result = std::move(r); }, now_);
  dp.CloseConn();
  link->OnEvents(POLLIN | POLLHUP, now_);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(DataplaneLinkTest, EventsFromTheDataplaneUpdateTheRegistry) {
  uint32_t v1 = Allocate(1);
  uint32_t v2 = Allocate(2);
  uint32_t v3 = Allocate(3);
  FakeDataplane dp(path_);
  auto link = MakeLink();
  ConnectAndHello(*link, dp);
  EXPECT_EQ(dp.ReceiveInstalls().size(), 3u);

  AddrPort a = *ParseAddrPort("198.51.100.7:41641");
  AddrPort b = *ParseAddrPort("[2001:db8::9]:5555");
  dp.Send(ipc::LegBound{.vni = v2, .leg = 0, .addr = a});
  dp.Send(ipc::LegBound{.vni = v2, .leg = 1, .addr = b});
  dp.Send(ipc::LegBound{.vni = 999, .leg = 0, .addr = a});  // unknown: counted only
  dp.SendRaw({0xde, 0xad, 0xbe, 0xef});                     // undecodable: counted only
  dp.Send(ipc::SessionExpired{.vni = v1});
  dp.Send(ipc::InstallResult{.vni = v3, .ok = false, .error = "table full"});
  dp.Send(ipc::InstallResult{.vni = v2, .ok = true});
  link->OnEvents(POLLIN, now_);

  ASSERT_TRUE(link->ready());
  const Endpoint* ep = registry_.FindByVni(v2);
  ASSERT_NE(ep, nullptr);
  EXPECT_EQ(ep->bound[0], a);
  EXPECT_EQ(ep->bound[1], b);
  EXPECT_EQ(registry_.FindByVni(v1), nullptr);  // expired: VNI freed
  EXPECT_EQ(registry_.FindByPair(Pair(1)), nullptr);
  EXPECT_EQ(registry_.FindByVni(v3), nullptr);  // refused: removed
  EXPECT_EQ(registry_.size(), 1u);
  EXPECT_EQ(link->stats().legs_bound, 2u);
  EXPECT_EQ(link->stats().sessions_expired, 1u);
  EXPECT_EQ(link->stats().installs_refused, 1u);
  EXPECT_EQ(link->stats().unknown_vni, 1u);
  EXPECT_EQ(link->stats().undecodable, 1u);

  // A new allocation goes straight out.
  absl::StatusOr<Allocation> fresh = registry_.Allocate(Pair(9), {}, now_);
  ASSERT_TRUE(fresh.ok());
  link->InstallNew(MakeInstallSession(fresh->endpoint, params_), now_);
  std::vector<ipc::InstallSession> installs = dp.ReceiveInstalls();
  ASSERT_EQ(installs.size(), 1u);
  EXPECT_EQ(installs[0].vni, fresh->endpoint.vni);
}

TEST_F(DataplaneLinkTest, DisconnectKeepsTheRegistryAndReconnectResyncs) {
  uint32_t v1 = Allocate(1);
  auto dp = std::make_unique<FakeDataplane>(path_);
  auto link = MakeLink();
  ConnectAndHello(*link, *dp);
  EXPECT_EQ(dp->ReceiveInstalls().size(), 1u);
  AddrPort a = *ParseAddrPort("198.51.100.7:41641");
  dp->Send(ipc::LegBound{.vni = v1, .leg = 1, .addr = a});
  link->OnEvents(POLLIN, now_);

  // The dataplane restarts.
  dp.reset();
  link->OnEvents(POLLIN | POLLHUP, now_);
  EXPECT_EQ(link->state(), DataplaneLink::State::kDisconnected);
  EXPECT_TRUE(link->relay_addrs().empty());
  EXPECT_EQ(registry_.size(), 1u);
  EXPECT_EQ(link->stats().disconnects, 1u);
  // Installs while away are dropped (the next Hello resends everything).
  link->InstallNew(MakeInstallSession(*registry_.FindByVni(v1), params_), now_);

  dp = std::make_unique<FakeDataplane>(path_);
  link->Tick(now_ + absl::Milliseconds(999));
  EXPECT_EQ(link->state(), DataplaneLink::State::kDisconnected);
  now_ += absl::Seconds(1);
  ConnectAndHello(*link, *dp);
  std::vector<ipc::InstallSession> installs = dp->ReceiveInstalls();
  ASSERT_EQ(installs.size(), 1u);
  EXPECT_EQ(installs[0].vni, v1);
  EXPECT_FALSE(installs[0].bound[0].valid());
  EXPECT_EQ(installs[0].bound[1], a);
  EXPECT_EQ(link->stats().connects, 2u);
}

// dprelayctl evict: the dataplane is told at once (RemoveSession) and the session is gone from
// the registry, so a restarted dataplane does not get it back.
TEST_F(DataplaneLinkTest, EvictRemovesTheSessionInTheDataplaneAndItIsNotReinstalled) {
  const uint32_t v1 = Allocate(1);
  const uint32_t v2 = Allocate(2);
  auto dp = std::make_unique<FakeDataplane>(path_);
  auto link = MakeLink();
  ConnectAndHello(*link, *dp);
  EXPECT_EQ(dp->ReceiveInstalls().size(), 2u);

  EXPECT_TRUE(link->Evict(v1, now_));
  EXPECT_FALSE(link->Evict(v1, now_));  // gone already
  std::optional<ipc::Message> m = dp->Receive(1000);
  ASSERT_TRUE(m.has_value());
  const auto* remove = std::get_if<ipc::RemoveSession>(&*m);
  ASSERT_NE(remove, nullptr) << "message index " << m->index();
  EXPECT_EQ(remove->vni, v1);
  EXPECT_EQ(registry_.FindByVni(v1), nullptr);
  EXPECT_EQ(registry_.size(), 1u);
  EXPECT_EQ(link->stats().sessions_evicted, 1u);
  EXPECT_EQ(link->pending_evictions(), 0u);  // sent to a synced dataplane

  // The dataplane restarts: only the other session is reinstalled.
  dp.reset();
  link->OnEvents(POLLIN | POLLHUP, now_);
  dp = std::make_unique<FakeDataplane>(path_);
  now_ += absl::Seconds(1);
  ConnectAndHello(*link, *dp);
  std::vector<ipc::InstallSession> installs = dp->ReceiveInstalls();
  ASSERT_EQ(installs.size(), 1u);
  EXPECT_EQ(installs[0].vni, v2);
}

// Evicted while the link is down (the dataplane keeps forwarding meanwhile): the sync after the
// reconnect finds the session in the dataplane's dump and ends it there instead of restoring it.
TEST_F(DataplaneLinkTest, ASessionEvictedWhileTheDataplaneIsAwayIsEndedThereOnReconnect) {
  const uint32_t v1 = Allocate(1);
  const uint32_t v2 = Allocate(2);
  auto dp = std::make_unique<FakeDataplane>(path_);
  auto link = MakeLink();
  ConnectAndHello(*link, *dp);
  EXPECT_EQ(dp->ReceiveInstalls().size(), 2u);
  dp.reset();
  link->OnEvents(POLLIN | POLLHUP, now_);
  ASSERT_EQ(link->state(), DataplaneLink::State::kDisconnected);

  EXPECT_TRUE(link->Evict(v1, now_));
  EXPECT_EQ(registry_.size(), 1u);
  EXPECT_EQ(link->pending_evictions(), 1u);

  dp = std::make_unique<FakeDataplane>(path_);
  now_ += absl::Seconds(1);
  ConnectAndHello(*link, *dp, 1000, {{.vni = v1, .client_keys = Pair(1)}});
  std::optional<ipc::Message> m = dp->Receive(1000);
  ASSERT_TRUE(m.has_value());
  const auto* remove = std::get_if<ipc::RemoveSession>(&*m);
  ASSERT_NE(remove, nullptr) << "message index " << m->index();
  EXPECT_EQ(remove->vni, v1);
  EXPECT_EQ(registry_.FindByVni(v1), nullptr);  // not restored
  EXPECT_NE(registry_.FindByVni(v2), nullptr);
  EXPECT_EQ(link->stats().sessions_restored, 0u);
  EXPECT_EQ(link->pending_evictions(), 0u);
  std::vector<ipc::InstallSession> installs = dp->ReceiveInstalls();  // the one it lacks
  ASSERT_EQ(installs.size(), 1u);
  EXPECT_EQ(installs[0].vni, v2);
}

TEST_F(DataplaneLinkTest, HelloWithASmallerTableDropsEndpointsAboveIt) {
  for (int i = 0; i < 5; ++i) {
    Allocate(i);
  }
  FakeDataplane dp(path_);
  auto link = MakeLink();
  ConnectAndHello(*link, dp, 3);
  std::vector<uint32_t> vnis;
  for (const auto& in : dp.ReceiveInstalls()) {
    vnis.push_back(in.vni);
  }
  EXPECT_THAT(vnis, ElementsAre(1, 2, 3));
  EXPECT_EQ(registry_.size(), 3u);
}

// A registry larger than the socket buffer streams out as the dataplane reads, and an endpoint
// allocated during the sweep is installed exactly once.
TEST_F(DataplaneLinkTest, LargeReinstallStreamsWithoutDuplicates) {
  constexpr int kEndpoints = 3000;
  for (int i = 0; i < kEndpoints; ++i) {
    Allocate(i);
  }
  FakeDataplane dp(path_);
  auto link = MakeLink({.reinstall_batch = 16});
  ConnectAndHello(*link, dp, kMaxVni);
  ASSERT_TRUE(link->reinstall_in_progress()) << "socket buffer larger than expected";

  absl::StatusOr<Allocation> during = registry_.Allocate(Pair(kEndpoints), {}, now_);
  ASSERT_TRUE(during.ok());
  link->InstallNew(MakeInstallSession(during->endpoint, params_), now_);

  std::vector<uint32_t> vnis;
  for (int round = 0; round < 10000 && static_cast<int>(vnis.size()) < kEndpoints + 1; ++round) {
    for (const auto& in : dp.ReceiveInstalls()) {
      vnis.push_back(in.vni);
    }
    if (link->poll_events() & POLLOUT) {
      link->OnEvents(POLLOUT, now_);
    }
  }
  for (const auto& in : dp.ReceiveInstalls()) {
    vnis.push_back(in.vni);
  }
  ASSERT_EQ(vnis.size(), static_cast<size_t>(kEndpoints + 1));
  for (size_t i = 0; i < vnis.size(); ++i) {
    EXPECT_EQ(vnis[i], i + 1);
  }
  EXPECT_FALSE(link->reinstall_in_progress());
}

// SO_PEERCRED: whoever listens on the dataplane socket gets session keys, so a listener that is
// neither root nor our uid is refused (and retried later), never sent anything.
TEST_F(DataplaneLinkTest, TheAdvertisedEndpointsReachTheDataplaneOnSyncAndOnEveryChange) {
  FakeDataplane dp(path_);
  auto link = MakeLink();
  const std::vector<AddrPort> nlb = {*ParseAddrPort("198.51.100.50:40000")};
  link->SetAdvertised(nlb, now_);  // before the link is up: kept for the sync
  ConnectAndHello(*link, dp);
  std::optional<ipc::Message> m = dp.Receive(1000);
  ASSERT_TRUE(m.has_value());
  ASSERT_TRUE(std::holds_alternative<ipc::Advertised>(*m)) << "message index " << m->index();
  EXPECT_EQ(std::get<ipc::Advertised>(*m).addrs, nlb);
  link->SetAdvertised(nlb, now_);  // unchanged: nothing sent
  EXPECT_FALSE(dp.Receive(50).has_value());
  link->SetAdvertised({}, now_);  // cleared: the dataplane must forget it too
  m = dp.Receive(1000);
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(std::get<ipc::Advertised>(*m).addrs.empty());
}

TEST_F(DataplaneLinkTest, AListenerOfAnotherUidIsRefused) {
  ASSERT_EQ(geteuid(), 0u) << "the unit tier runs as root (scripts/test.sh)";
  ASSERT_EQ(chmod(tmp_.path().c_str(), 0777), 0);  // so that nobody can bind there
  dprelay::testing::ForeignPeer impostor(dprelay::testing::ForeignPeer::Role::kListen, path_,
                                         SOCK_SEQPACKET);
  ASSERT_TRUE(impostor.ok());
  std::unique_ptr<DataplaneLink> link = MakeLink();
  link->Tick(now_);
  EXPECT_EQ(link->state(), DataplaneLink::State::kDisconnected);
  EXPECT_EQ(link->fd(), -1);
  EXPECT_EQ(link->stats().peers_refused, 1u);
  EXPECT_EQ(link->stats().connects, 0u);
  // Retried after the reconnect interval, and refused again.
  link->Tick(now_ + absl::Seconds(1));
  EXPECT_EQ(link->stats().peers_refused, 2u);
}

}  // namespace
}  // namespace dprelay::control
