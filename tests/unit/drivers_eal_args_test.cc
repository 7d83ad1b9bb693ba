// The dataplane's port spec and EAL arguments: pci: ports imply their allow-list entry, EAL
// options come from one place, and --check's host checks against a fake sysfs. No EAL.
#include <sched.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "drivers/eal_args.h"
#include "drivers/host_check.h"
#include "drivers/port_spec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/temp_dir.h"

namespace dprelay {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Args = std::vector<std::string>;

PortSpec Pci(const char* text) {
  absl::StatusOr<PortSpec> spec = ParsePortSpec(text);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.value_or(PortSpec{});
}

TEST(PortSpecTest, PciAddressIsWrittenAsDpdkNamesTheDevice) {
  PortSpec p = Pci("pci:3b:00.1");
  EXPECT_EQ(p.kind, PortKind::kPci);
  EXPECT_EQ(p.arg, "0000:3b:00.1");
  EXPECT_EQ(Pci("pci:0000:AF:00.0").arg, "0000:af:00.0");
  absl::StatusOr<PortSpec> bad = ParsePortSpec("pci:eth1");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("'eth1' is not a PCI address"));
  EXPECT_EQ(VdevFor(p, 0, 2).name, "");
}

TEST(EalArgsTest, PciPortAddsItsAllowListEntryOnce) {
  const PortSpec port = Pci("pci:0000:3b:00.1");
  EXPECT_THAT(*ComposeEalArgs({"-l", "2-3"}, "", port), ElementsAre("-l", "2-3", "-a", "0000:3b:00.1"));
  // Already allowed, in any spelling: nothing added.
  EXPECT_THAT(*ComposeEalArgs({"-a", "3b:00.1"}, "", port), ElementsAre("-a", "3b:00.1"));
  EXPECT_THAT(*ComposeEalArgs({}, "--allow=0000:3b:00.1,rxq_cqe_comp_en=0", port),
              ElementsAre("--allow=0000:3b:00.1,rxq_cqe_comp_en=0"));
  EXPECT_THAT(*ComposeEalArgs({"-a0000:3b:00.1"}, "", port), ElementsAre("-a0000:3b:00.1"));
  // Another device allowed: ours is added too.
  EXPECT_THAT(*ComposeEalArgs({"-a", "0000:3b:00.0"}, "", port),
              ElementsAre("-a", "0000:3b:00.0", "-a", "0000:3b:00.1"));
}

TEST(EalArgsTest, OtherPortsGetTheOptionsAsGiven) {
  PortSpec xdp{PortKind::kAfXdp, "eth1"};
  EXPECT_THAT(*ComposeEalArgs({}, " -l 0-1\t--no-huge  -m 512 ", xdp),
              ElementsAre("-l", "0-1", "--no-huge", "-m", "512"));
  EXPECT_THAT(*ComposeEalArgs({"--no-pci"}, "", xdp), ElementsAre("--no-pci"));
  EXPECT_TRUE(ComposeEalArgs({}, "", xdp)->empty());
}

TEST(EalArgsTest, RefusesWhatCannotWork) {
  const PortSpec port = Pci("pci:0000:3b:00.1");
  absl::StatusOr<Args> both = ComposeEalArgs({"-l", "0"}, "-l 1", port);
  ASSERT_FALSE(both.ok());
  EXPECT_THAT(both.status().message(), HasSubstr("give them in one place"));
  absl::StatusOr<Args> no_pci = ComposeEalArgs({}, "-l 1 --no-pci", port);
  ASSERT_FALSE(no_pci.ok());
  EXPECT_THAT(no_pci.status().message(), HasSubstr("--no-pci"));
  absl::StatusOr<Args> blocked = ComposeEalArgs({"-b", "3b:00.1"}, "", port);
  ASSERT_FALSE(blocked.ok());
  EXPECT_THAT(blocked.status().message(), HasSubstr("block this device"));
  absl::StatusOr<Args> quoted = ComposeEalArgs({}, "--huge-dir='/mnt/huge pages'", port);
  ASSERT_FALSE(quoted.ok());
  EXPECT_THAT(quoted.status().message(), HasSubstr("quotes"));
}

TEST(EalArgsTest, OptionValuesInEveryForm) {
  Args a = {"-l", "0-1", "-l2", "--lcores=3", "--lcores", "4", "-m", "512"};
  EXPECT_THAT(EalOptionValues(a, "l", "lcores"), ElementsAre("0-1", "2", "3", "4"));
  EXPECT_THAT(EalOptionValues(a, "l", ""), ElementsAre("0-1", "2"));
  EXPECT_THAT(EalOptionValues({"-l"}, "l", ""), ElementsAre());
}

// A fake /sys/bus/pci/devices and /sys/kernel/mm/hugepages.
class HostCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    paths_.pci_devices = dir_.File("devices");
    paths_.hugepages = dir_.File("hugepages");
    paths_.mounts = dir_.File("mounts");
    std::filesystem::create_directories(paths_.pci_devices);
    std::filesystem::create_directories(dir_.File("drivers/vfio-pci"));
    std::filesystem::create_directories(dir_.File("drivers/ixgbe"));
    std::filesystem::create_directories(paths_.hugepages + "/hugepages-2048kB");
    SetHugepages(0);
    SetMounts("");
  }
  void SetMounts(const std::string& text) { std::ofstream(paths_.mounts) << text; }
  void AddDevice(const std::string& addr, const char* driver) {
    std::filesystem::create_directories(paths_.pci_devices + "/" + addr);
    if (driver != nullptr) {
      std::filesystem::create_directory_symlink(dir_.File(std::string("drivers/") + driver),
                                                paths_.pci_devices + "/" + addr + "/driver");
    }
  }
  void SetHugepages(int n) {
    std::ofstream(paths_.hugepages + "/hugepages-2048kB/nr_hugepages") << n << "\n";
  }

  testing::ScratchDir dir_;
  HostPaths paths_;
};

TEST_F(HostCheckTest, PciPortMustExistAndBeBoundToADriverDpdkUses) {
  absl::StatusOr<std::string> missing = DescribePortOnHost(Pci("pci:0000:3b:00.1"), paths_);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("no such PCI device"));

  AddDevice("0000:3b:00.1", nullptr);
  absl::StatusOr<std::string> unbound = DescribePortOnHost(Pci("pci:0000:3b:00.1"), paths_);
  ASSERT_FALSE(unbound.ok());
  EXPECT_THAT(unbound.status().message(), HasSubstr("bound to no driver"));

  AddDevice("0000:3b:00.0", "ixgbe");
  absl::StatusOr<std::string> kernel = DescribePortOnHost(Pci("pci:0000:3b:00.0"), paths_);
  ASSERT_FALSE(kernel.ok());
  EXPECT_THAT(kernel.status().message(), HasSubstr("kernel driver ixgbe"));
  EXPECT_THAT(kernel.status().message(), HasSubstr("scripts/bind_nic.sh"));

  AddDevice("0000:5e:00.0", "vfio-pci");
  absl::StatusOr<std::string> ok = DescribePortOnHost(Pci("pci:5e:00.0"), paths_);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_THAT(*ok, HasSubstr("driver vfio-pci"));
}

TEST_F(HostCheckTest, KernelInterfacePortsMustExist) {
  EXPECT_TRUE(DescribePortOnHost({PortKind::kAfPacket, "lo"}, paths_).ok());
  absl::StatusOr<std::string> missing =
      DescribePortOnHost({PortKind::kAfXdp, "dprelay-nonesuch"}, paths_);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("no interface dprelay-nonesuch"));
}

TEST_F(HostCheckTest, HugepagesAreNeededReservedAndMountedUnlessNoHuge) {
  std::vector<std::string> none = CheckEalArgsOnHost({}, paths_);
  ASSERT_EQ(none.size(), 2u);
  EXPECT_THAT(none[0], HasSubstr("no hugepages are reserved"));
  EXPECT_THAT(none[1], HasSubstr("no hugetlbfs is mounted"));
  EXPECT_TRUE(CheckEalArgsOnHost({"--no-huge"}, paths_).empty());
  SetHugepages(512);
  SetMounts("sysfs /sys sysfs rw 0 0\nhugetlbfs /dev/hugepages hugetlbfs rw,pagesize=2M 0 0\n");
  EXPECT_TRUE(CheckEalArgsOnHost({}, paths_).empty());
  EXPECT_TRUE(CheckEalArgsOnHost({"--huge-dir", "/dev/hugepages"}, paths_).empty());
  std::vector<std::string> elsewhere = CheckEalArgsOnHost({"--huge-dir=/mnt/huge"}, paths_);
  ASSERT_EQ(elsewhere.size(), 1u);
  EXPECT_THAT(elsewhere[0], HasSubstr("--huge-dir=/mnt/huge is not a hugetlbfs mount"));
}

TEST_F(HostCheckTest, LcoresMustBeCpusWeMayRunOn) {
  cpu_set_t set;
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  int first = 0;
  while (!CPU_ISSET(first, &set)) {
    ++first;
  }
  EXPECT_TRUE(CheckEalArgsOnHost({"--no-huge", "-l", std::to_string(first)}, paths_).empty());
  std::vector<std::string> far = CheckEalArgsOnHost({"--no-huge", "-l", "1000"}, paths_);
  ASSERT_EQ(far.size(), 1u);
  EXPECT_THAT(far[0], HasSubstr("CPU 1000 is not one this process may run on"));
  std::vector<std::string> junk = CheckEalArgsOnHost({"--no-huge", "-l", "2-x"}, paths_);
  ASSERT_EQ(junk.size(), 1u);
  EXPECT_THAT(junk[0], HasSubstr("not a CPU list"));
}

}  // namespace
}  // namespace dprelay
