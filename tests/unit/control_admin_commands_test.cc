// The admin command table (control/admin_commands.h) as both ends use it: argument checks,
// the wire form, help and completion; who may run what (control/admin_access.h); the
// sessions filters and the renderers of the new commands.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/admin_access.h"
#include "control/admin_commands.h"
#include "control/admin_protocol.h"
#include "control/admin_render.h"
#include "control/admin_server.h"
#include "control/session_filter.h"
#include "gtest/gtest.h"
#include "proto/key.h"
#include "tests/unit/temp_dir.h"

namespace dprelay::control {
namespace {

absl::StatusOr<AdminCall> Parse(const std::string& name, std::vector<std::string> words) {
  const AdminCommand* c = FindAdminCommand(name);
  EXPECT_NE(c, nullptr) << name;
  return ParseAdminArgs(*c, words);
}

TEST(AdminCommandsTest, ArgumentsAreCheckedByTheTable) {
  absl::StatusOr<AdminCall> s = Parse(
      "sessions", {"--key=discokey:AB12", "--client=192.0.2.1:5", "--vni=7", "--format=tailscale"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->Get("key"), "discokey:AB12");
  EXPECT_EQ(s->Get("client"), "192.0.2.1:5");
  EXPECT_EQ(s->Get("vni"), "7");
  EXPECT_EQ(s->Get("format"), "tailscale");
  EXPECT_TRUE(Parse("sessions", {"--client=2001:db8::1"}).ok());
  EXPECT_TRUE(Parse("sessions", {"--client=[2001:db8::1]:41641"}).ok());
  EXPECT_TRUE(Parse("evict", {"17"}).ok());
  EXPECT_TRUE(Parse("evict", {FormatDiscoKey(GenerateKeyPair().pub)}).ok());
  EXPECT_TRUE(Parse("evict", {FormatDiscoKey(GenerateKeyPair().pub).substr(9)}).ok());
  EXPECT_TRUE(Parse("reload", {"--evict-removed"}).ok());
  EXPECT_TRUE(Parse("set-static-endpoints", {"none"}).ok());

  const std::vector<std::pair<std::string, std::vector<std::string>>> bad = {
      {"ping", {"x3"}},
      {"ping", {}},
      {"ping", {"16777216"}},
      {"status", {"extra"}},
      {"sessions", {"--bogus=1"}},
      {"sessions", {"--vni=0"}},
      {"sessions", {"--vni"}},
      {"sessions", {"--key=xyz"}},
      {"sessions", {"--client=somewhere"}},
      {"sessions", {"--format=yaml"}},
      {"sessions", {"--vni=1", "--vni=2"}},
      {"evict", {}},
      {"evict", {"0"}},
      {"evict", {"discokey:abc"}},
      {"evict", {"1", "2"}},
      {"reload", {"--evict-removed=yes"}},
      {"set-static-endpoints", {}},
  };
  for (const auto& [name, words] : bad) {
    absl::StatusOr<AdminCall> r = Parse(name, words);
    EXPECT_FALSE(r.ok()) << name << " " << absl::StrJoin(words, " ");
  }
  absl::StatusOr<AdminCall> x3 = Parse("ping", {"x3"});
  EXPECT_EQ(x3.status().message(), "ping: \"x3\" is not a VNI (1..16777215)");
  absl::StatusOr<AdminCall> bogus = Parse("sessions", {"--bogus=1"});
  EXPECT_EQ(bogus.status().message(), "sessions: unknown option \"--bogus\"");
}

// What dprelayctl sends is what the server parses back: several words on one line.
TEST(AdminCommandsTest, TheArgumentsSurviveTheWire) {
  absl::StatusOr<AdminCall> call = Parse("sessions", {"--vni=3", "--key=ab"});
  ASSERT_TRUE(call.ok());
  const AdminRequest request{
      .json = true, .command = "sessions", .argument = absl::StrJoin(FormatAdminArgs(*call), " ")};
  std::string line = FormatAdminRequest(request);
  EXPECT_EQ(line, "DPRELAY-ADMIN/1 json sessions --vni=3 --key=ab\n");
  line.pop_back();
  absl::StatusOr<AdminRequest> back = ParseAdminRequest(line);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->argument, "--vni=3 --key=ab");
}

// counters: --all goes to the server; --watch is dprelayctl's own and never on the wire. An
// option's value may also be the next word, as command lines are typed ("--watch 2").
TEST(AdminCommandsTest, CountersWatchIsLocalAndTakesItsValueEitherWay) {
  absl::StatusOr<AdminCall> call = Parse("counters", {"--watch", "2", "--all"});
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->Get("watch"), "2");
  EXPECT_TRUE(call->Has("all"));
  EXPECT_EQ(absl::StrJoin(FormatAdminArgs(*call), " "), "--all");
  EXPECT_EQ(Parse("counters", {"--watch=5"})->Get("watch"), "5");
  EXPECT_EQ(Parse("sessions", {"--vni", "9"})->Get("vni"), "9");
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"--watch"}, {"--watch", "--all"}, {"--watch=0"}, {"--watch=3601"}, {"--all=1"}}) {
    EXPECT_FALSE(Parse("counters", bad).ok()) << absl::StrJoin(bad, " ");
  }
}

TEST(AdminCommandsTest, TheCommandLineFindsTwoWordCommands) {
  size_t words = 0;
  const std::vector<std::string> set = {"set", "static-endpoints", "none"};
  const AdminCommand* c = MatchAdminCommand(set, &words);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->name, "set-static-endpoints");
  EXPECT_EQ(words, 2u);
  const std::vector<std::string> nothing = {"frobnicate"};
  EXPECT_EQ(MatchAdminCommand(nothing, &words), nullptr);
}

// help and the bash completion are generated from the table: every command and option.
TEST(AdminCommandsTest, HelpAndCompletionListEveryCommandAndOption) {
  const std::string help = AdminHelpText();
  const std::string completion = AdminBashCompletion();
  for (const AdminCommand& c : AdminCommands()) {
    EXPECT_NE(help.find(absl::StrCat("  ", c.cli)), std::string::npos) << c.cli;
    EXPECT_NE(help.find(std::string(c.help)), std::string::npos) << c.cli;
    const std::string first(c.cli.substr(0, c.cli.find(' ')));
    EXPECT_NE(completion.find(absl::StrCat(first, " ")), std::string::npos) << first;
    for (const AdminOption& o : c.options) {
      EXPECT_NE(help.find(absl::StrCat("--", o.name)), std::string::npos) << o.name;
      EXPECT_NE(completion.find(absl::StrCat("--", o.name)), std::string::npos) << o.name;
    }
  }
  for (const char* cmd :
       {"status", "sessions", "ping", "refusals", "reload", "set", "evict", "version", "help"}) {
    EXPECT_NE(help.find(absl::StrCat("\n  ", cmd)), std::string::npos) << cmd;
  }
}

const AdminCommand& Command(const char* name) { return *FindAdminCommand(name); }

TEST(AdminAccessTest, WithoutAGroupTheSocketModeDecides) {
  const AdminAccessPolicy open{.self_uid = 0};
  const AdminCaller anyone{.uid = 1234, .gid = 1234, .groups = {1234}};
  EXPECT_TRUE(CheckAdminAccess(Command("reload"), anyone, open).ok());
}

TEST(AdminAccessTest, OperatorsRunReadOnlyCommandsOnly) {
  const AdminAccessPolicy policy{.self_uid = 999,
                                 .group = AdminGroup{.name = "dprelay-ops", .gid = 555}};
  const AdminCaller root{.uid = 0, .gid = 0, .groups = {0}};
  const AdminCaller self{.uid = 999, .gid = 999, .groups = {999}};
  const AdminCaller by_gid{.uid = 1000, .gid = 555, .groups = {555}};
  const AdminCaller by_group_list{.uid = 1001, .gid = 1001, .groups = {1001, 27, 555}};
  const AdminCaller stranger{.uid = 1002, .gid = 1002, .groups = {1002, 27}};
  for (const AdminCommand& c : AdminCommands()) {
    const bool mutating = c.access == AdminAccess::kMutating;
    EXPECT_TRUE(CheckAdminAccess(c, root, policy).ok()) << c.cli;
    EXPECT_TRUE(CheckAdminAccess(c, self, policy).ok()) << c.cli;
    EXPECT_EQ(CheckAdminAccess(c, by_gid, policy).ok(), !mutating) << c.cli;
    EXPECT_EQ(CheckAdminAccess(c, by_group_list, policy).ok(), !mutating) << c.cli;
    EXPECT_FALSE(CheckAdminAccess(c, stranger, policy).ok()) << c.cli;
  }
  for (const char* ro : {"status", "sessions", "ping", "refusals", "version", "help"}) {
    EXPECT_EQ(Command(ro).access, AdminAccess::kReadOnly) << ro;
  }
  for (const char* rw : {"reload", "set-static-endpoints", "evict"}) {
    EXPECT_EQ(Command(rw).access, AdminAccess::kMutating) << rw;
  }
  absl::Status refused = CheckAdminAccess(Command("evict"), by_gid, policy);
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.message(),
            "evict: permission denied: it changes the relay, which needs root or "
            "dprelay-control's uid 999; uid 1000 is in the operator group dprelay-ops, which may "
            "run read-only commands only");
}

TEST(AdminAccessTest, GroupsAndCallersAreLookedUp) {
  absl::StatusOr<AdminGroup> root = LookupAdminGroup("root");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(root->gid, 0u);
  absl::StatusOr<AdminGroup> none = LookupAdminGroup("no-such-group-dprelay");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("--admin_group=no-such-group-dprelay: no such group"),
            std::string::npos);
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  absl::StatusOr<AdminCaller> me = AdminCallerOf(sv[0], /*with_groups=*/true);
  close(sv[0]);
  close(sv[1]);
  ASSERT_TRUE(me.ok()) << me.status();
  EXPECT_EQ(me->uid, geteuid());
  EXPECT_EQ(me->gid, getegid());
  EXPECT_NE(std::find(me->groups.begin(), me->groups.end(), getegid()), me->groups.end());
}

// --admin_group: the socket is 0660 with that group from the start of listening.
TEST(AdminAccessTest, TheSocketIsOpenedToTheGroup) {
  // Debian's base-passwd (Essential: on every Debian system) has group operator, gid 37.
  absl::StatusOr<AdminGroup> group = LookupAdminGroup("operator");
  ASSERT_TRUE(group.ok()) << group.status();
  dprelay::testing::ScratchDir tmp;
  const std::string path = tmp.File("control.sock");
  absl::StatusOr<std::unique_ptr<AdminServer>> server = AdminServer::Listen(
      path, [](const AdminRequest&, const AdminCaller&, AdminServer::Reply reply) { reply(""); },
      *group);
  ASSERT_TRUE(server.ok()) << server.status();
  struct stat st {};
  ASSERT_EQ(lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  EXPECT_EQ(st.st_gid, group->gid);
  EXPECT_EQ(st.st_uid, geteuid());
}

ipc::SessionRecord Session(uint32_t vni, const DiscoKey& k0, const DiscoKey& k1, const char* leg0) {
  ipc::SessionRecord r{.vni = vni, .client_keys = SortedPair(k0, k1)};
  if (leg0 != nullptr) {
    r.bound[0] = *ParseAddrPort(leg0);
  }
  return r;
}

TEST(SessionFilterTest, KeyPrefixClientAndVni) {
  const DiscoKey a = GenerateKeyPair().pub;
  const DiscoKey b = GenerateKeyPair().pub;
  const DiscoKey c = GenerateKeyPair().pub;
  const std::vector<ipc::SessionRecord> all = {Session(1, a, b, "192.0.2.1:100"),
                                               Session(2, b, c, "192.0.2.1:200"),
                                               Session(3, a, c, "[2001:db8::1]:300")};
  auto vnis = [&](std::vector<std::string> words) {
    absl::StatusOr<AdminCall> call = Parse("sessions", words);
    EXPECT_TRUE(call.ok()) << call.status();
    absl::StatusOr<SessionFilter> f = SessionFilter::FromCall(*call);
    EXPECT_TRUE(f.ok()) << f.status();
    std::vector<uint32_t> out;
    for (const ipc::SessionRecord& r : f->Apply(all)) {
      out.push_back(r.vni);
    }
    return out;
  };
  const std::string a_hex = FormatDiscoKey(a).substr(9);
  EXPECT_EQ(vnis({}), (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(vnis({"--key=" + a_hex.substr(0, 10)}), (std::vector<uint32_t>{1, 3}));
  EXPECT_EQ(vnis({"--key=discokey:" + a_hex}), (std::vector<uint32_t>{1, 3}));
  std::string upper = a_hex.substr(0, 8);
  for (char& ch : upper) {
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  EXPECT_EQ(vnis({"--key=" + upper}), (std::vector<uint32_t>{1, 3}));
  EXPECT_EQ(vnis({"--client=192.0.2.1"}), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(vnis({"--client=192.0.2.1:200"}), (std::vector<uint32_t>{2}));
  EXPECT_EQ(vnis({"--client=2001:db8::1"}), (std::vector<uint32_t>{3}));
  EXPECT_EQ(vnis({"--vni=2"}), (std::vector<uint32_t>{2}));
  EXPECT_EQ(vnis({"--vni=2", "--key=" + a_hex.substr(0, 10)}), (std::vector<uint32_t>{}));
}

TEST(AdminRenderTest, TailscaleServerStatusShape) {
  const DiscoKey a = GenerateKeyPair().pub;
  const DiscoKey b = GenerateKeyPair().pub;
  ipc::SessionRecord r = Session(7, a, b, "192.0.2.1:41641");
  r.packets = {5, 0};
  r.bytes = {640, 0};
  EXPECT_EQ(RenderSessionsTailscale({r}, 7777),
            absl::StrCat("{\"UDPPort\":7777,\"Sessions\":[{\"VNI\":7,\"Client1\":{\"Endpoint\":"
                         "\"192.0.2.1:41641\",\"ShortDisco\":\"",
                         ShortDisco(r.client_keys[0]),
                         "\",\"PacketsTx\":5,\"BytesTx\":640},\"Client2\":{\"Endpoint\":\"\","
                         "\"ShortDisco\":\"",
                         ShortDisco(r.client_keys[1]), "\",\"PacketsTx\":0,\"BytesTx\":0}}]}\n"));
  EXPECT_EQ(RenderSessionsTailscale({}, std::nullopt), "{\"UDPPort\":null,\"Sessions\":[]}\n");
}

TEST(AdminRenderTest, JsonStringsAreEscaped) {
  EXPECT_EQ(RenderReload("/etc/\"dprelay\"\n", 2, 0, {}, false, true),
            "{\"reloaded\":\"/etc/\\\"dprelay\\\"\\n\",\"keys\":2,\"disallowed_sessions\":[]}\n");
}

}  // namespace
}  // namespace dprelay::control
