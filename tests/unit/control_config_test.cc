#include "control/control_config.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dprelay::control {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

ControlFlags Defaults() {
  return ControlFlags{
      .state_dir = "/var/lib/dprelay",
      .listen = "0.0.0.0:40001",
      .policy = "/etc/dprelay/allow",
      .dataplane_socket = "/run/dprelay/dataplane.sock",
      .bind_lifetime = "30s",
      .steady_state_lifetime = "5m",
  };
}

TEST(ControlConfigTest, DefaultsValidate) {
  absl::StatusOr<ControlConfig> c = ValidateControlFlags(Defaults());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->state_dir, "/var/lib/dprelay");
  EXPECT_EQ(FormatAddrPort(c->listen), "0.0.0.0:40001");
  EXPECT_EQ(c->policy_path, "/etc/dprelay/allow");
  EXPECT_EQ(c->dataplane_socket, "/run/dprelay/dataplane.sock");
  EXPECT_EQ(c->bind_lifetime, absl::Seconds(30));
  EXPECT_EQ(c->steady_state_lifetime, absl::Minutes(5));
  EXPECT_FALSE(c->print_only());
}

TEST(ControlConfigTest, AcceptsIpv6ListenAndOtherDurations) {
  ControlFlags f = Defaults();
  f.listen = "[::]:40001";
  f.bind_lifetime = "1m30s";
  f.steady_state_lifetime = "2h";
  absl::StatusOr<ControlConfig> c = ValidateControlFlags(f);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->listen.ip.is_v6());
  EXPECT_EQ(c->listen.port, 40001);
  EXPECT_EQ(c->bind_lifetime, absl::Seconds(90));
  EXPECT_EQ(c->steady_state_lifetime, absl::Hours(2));
}

TEST(ControlConfigTest, ErrorsNameTheFlag) {
  struct Case {
    void (*mutate)(ControlFlags&);
    const char* flag;
  } cases[] = {
      {[](ControlFlags& f) { f.listen = "nope"; }, "--listen"},
      {[](ControlFlags& f) { f.listen = "1.2.3.4"; }, "--listen"},
      {[](ControlFlags& f) { f.policy = ""; }, "--policy"},
      {[](ControlFlags& f) { f.bind_lifetime = "30"; }, "--bind_lifetime"},
      {[](ControlFlags& f) { f.bind_lifetime = "0s"; }, "--bind_lifetime"},
      {[](ControlFlags& f) { f.bind_lifetime = "-5s"; }, "--bind_lifetime"},
      {[](ControlFlags& f) { f.steady_state_lifetime = "inf"; }, "--steady_state_lifetime"},
      {[](ControlFlags& f) { f.steady_state_lifetime = "48h"; }, "--steady_state_lifetime"},
      {[](ControlFlags& f) { f.dataplane_socket = ""; }, "--dataplane_socket"},
      {[](ControlFlags& f) { f.dataplane_socket = "/" + std::string(200, 'x'); },
       "--dataplane_socket"},
      {[](ControlFlags& f) { f.state_dir = ""; }, "--state_dir"},
  };
  for (const Case& c : cases) {
    ControlFlags f = Defaults();
    c.mutate(f);
    absl::StatusOr<ControlConfig> config = ValidateControlFlags(f);
    ASSERT_FALSE(config.ok()) << c.flag;
    EXPECT_THAT(std::string(config.status().message()), StartsWith(std::string(c.flag) + ":"));
  }
}

TEST(ControlConfigTest, PrintingAKeyNeedsNoPolicy) {
  ControlFlags f = Defaults();
  f.policy = "";
  f.listen = "garbage";
  f.print_public_key = true;
  absl::StatusOr<ControlConfig> c = ValidateControlFlags(f);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->print_only());
  f.print_public_key = false;
  f.print_server_key = true;
  EXPECT_TRUE(ValidateControlFlags(f).ok());
}

}  // namespace
}  // namespace dprelay::control

namespace dprelay::control {
namespace {

TEST(ControlConfigTest, StaticEndpointsAndAdminSocketFlags) {
  ControlFlags f = Defaults();
  f.static_endpoints = "203.0.113.9:40000,[2001:db8::9]:40000";
  f.static_only = true;
  f.admin_socket = "/run/x/control.sock";
  absl::StatusOr<ControlConfig> c = ValidateControlFlags(f);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->static_endpoints.size(), 2u);
  EXPECT_EQ(FormatAddrPort(c->static_endpoints[0]), "203.0.113.9:40000");
  EXPECT_TRUE(c->static_only);
  EXPECT_EQ(c->admin_socket, "/run/x/control.sock");

  f.static_endpoints = "203.0.113.9:40000,203.0.113.10";
  c = ValidateControlFlags(f);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("--static_endpoints: endpoint \"203.0.113.10\""),
            std::string::npos)
      << c.status();
  f = Defaults();
  f.admin_socket = std::string(200, 'x');
  c = ValidateControlFlags(f);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("--admin_socket"), std::string::npos);
}

}  // namespace
}  // namespace dprelay::control
