#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "control/key_store.h"
#include "control/registry.h"
#include "control_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/key.h"

namespace dprelay::control {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using testing::TempDir;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path) << content;
}

int Mode(const std::string& path) {
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(KeyStoreTest, GeneratesKeysOnFirstStart) {
  TempDir tmp;
  const std::string dir = tmp.File("state/nested");
  absl::StatusOr<std::unique_ptr<KeyStore>> store = KeyStore::Open({.state_dir = dir});
  ASSERT_TRUE(store.ok()) << store.status();

  EXPECT_EQ(Mode(dir), 0700);
  for (const char* name : {kControlKeyFile, kServerDiscoKeyFile}) {
    const std::string path = dir + "/" + name;
    EXPECT_EQ(Mode(path), 0600) << name;
    EXPECT_THAT(ReadFile(path), MatchesRegex("privkey:[0-9a-f]{64}\n")) << name;
  }
  const KeyStore& ks = **store;
  EXPECT_NE(ks.control_key().pub, ks.server_disco_key().pub);
  EXPECT_EQ(ks.control_key().pub, KeyPairFromPrivate(ks.control_key().priv).pub);
  EXPECT_EQ(ReadFile(dir + "/" + kControlKeyFile), FormatPrivateKey(ks.control_key().priv) + "\n");
  EXPECT_EQ(ks.LoadLamport(), 0u);
  // No temp files left behind.
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    EXPECT_THAT(e.path().filename().string(), ::testing::Not(HasSubstr(".tmp"))) << e.path();
    ++entries;
  }
  EXPECT_EQ(entries, 2);
}

TEST(KeyStoreTest, LoadsTheSameKeysAfterwards) {
  TempDir tmp;
  auto first = KeyStore::Open({.state_dir = tmp.path()});
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = KeyStore::Open({.state_dir = tmp.path() + "/"});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*first)->control_key().pub, (*second)->control_key().pub);
  EXPECT_EQ((*first)->control_key().priv.bytes, (*second)->control_key().priv.bytes);
  EXPECT_EQ((*first)->server_disco_key().pub, (*second)->server_disco_key().pub);
}

TEST(KeyStoreTest, LoadsAHandWrittenKeyFile) {
  TempDir tmp;
  DiscoKeyPair kp = GenerateKeyPair();
  WriteFile(tmp.File(kControlKeyFile), "  " + FormatPrivateKey(kp.priv) + "\n\n");
  chmod(tmp.File(kControlKeyFile).c_str(), 0600);
  auto store = KeyStore::Open({.state_dir = tmp.path()});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->control_key().pub, kp.pub);
}

TEST(KeyStoreTest, MalformedKeyFileIsAnErrorNamingIt) {
  TempDir tmp;
  ASSERT_TRUE(KeyStore::Open({.state_dir = tmp.path()}).ok());
  WriteFile(tmp.File(kServerDiscoKeyFile), "privkey:1234\n");
  auto store = KeyStore::Open({.state_dir = tmp.path()});
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(tmp.File(kServerDiscoKeyFile)));
  // The bad file is not silently replaced.
  EXPECT_EQ(ReadFile(tmp.File(kServerDiscoKeyFile)), "privkey:1234\n");
}

TEST(KeyStoreTest, UnreadableKeyFileIsAnErrorNamingIt) {
  TempDir tmp;
  // A directory where the key file should be: open works, read fails (even as root).
  ASSERT_EQ(mkdir(tmp.File(kControlKeyFile).c_str(), 0700), 0);
  auto store = KeyStore::Open({.state_dir = tmp.path()});
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(tmp.File(kControlKeyFile)));
}

TEST(KeyStoreTest, StateDirThatIsAFileIsAnError) {
  TempDir tmp;
  WriteFile(tmp.File("file"), "x");
  auto store = KeyStore::Open({.state_dir = tmp.File("file")});
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(tmp.File("file")));
}

// Issue 10 item 8: a private key others can read is refused (it used to be a warning), with
// the file, its mode and the fix in the error; nothing is loaded from it or rewritten.
TEST(KeyStoreTest, KeyFileOthersCanReadIsRefused) {
  TempDir tmp;
  ASSERT_TRUE(KeyStore::Open({.state_dir = tmp.path()}).ok());
  const std::string key = tmp.File(kServerDiscoKeyFile);
  const std::string before = ReadFile(key);
  ASSERT_EQ(chmod(key.c_str(), 0644), 0);
  auto store = KeyStore::Open({.state_dir = tmp.path()});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(store.status().message(),
            key + ": mode 0644 gives group or others access to a private key; chmod 600 " + key);
  EXPECT_EQ(ReadFile(key), before);
  EXPECT_EQ(Mode(key), 0644);
  // Group-writable is as bad; 0400 is fine.
  ASSERT_EQ(chmod(key.c_str(), 0620), 0);
  EXPECT_FALSE(KeyStore::Open({.state_dir = tmp.path()}).ok());
  ASSERT_EQ(chmod(key.c_str(), 0400), 0);
  EXPECT_TRUE(KeyStore::Open({.state_dir = tmp.path()}).ok());
}

TEST(KeyStoreTest, GroupWritableStateDirIsRefused) {
  TempDir tmp;
  const std::string dir = tmp.File("state");
  ASSERT_TRUE(KeyStore::Open({.state_dir = dir}).ok());
  ASSERT_EQ(chmod(dir.c_str(), 0770), 0);
  auto store = KeyStore::Open({.state_dir = dir});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().message(), "state directory " + dir +
                                          ": mode 0770 lets group or others write into it; "
                                          "chmod go-w " +
                                          dir);
}

TEST(KeyStoreTest, StateDirOwnedByAnotherUserIsRefused) {
  ASSERT_EQ(geteuid(), 0u) << "the unit tier runs as root (scripts/test.sh)";
  TempDir tmp;
  const std::string dir = tmp.File("state");
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(chown(dir.c_str(), 65534, 65534), 0);
  auto store = KeyStore::Open({.state_dir = dir});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().message(), "state directory " + dir +
                                          ": owned by uid 65534, not by us (uid 0) or root; "
                                          "chown it or choose another directory");
  EXPECT_NE(access((dir + "/" + kControlKeyFile).c_str(), F_OK), 0) << "no key written there";
}

// The keys live in guarded read-only memory (proto/secret_box.h): a stray write faults rather
// than silently changing a key.
TEST(KeyStoreDeathTest, KeysAreInReadOnlyMemory) {
  TempDir tmp;
  auto store = KeyStore::Open({.state_dir = tmp.path()});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_DEATH(const_cast<DiscoKeyPair&>((*store)->control_key()).priv.bytes[0] ^= 1, "");
  EXPECT_DEATH(const_cast<DiscoKeyPair&>((*store)->server_disco_key()).priv.bytes[0] ^= 1, "");
}

TEST(KeyStoreTest, LamportPersistsAcrossReopen) {
  TempDir tmp;
  {
    auto store = KeyStore::Open({.state_dir = tmp.path()});
    ASSERT_TRUE(store.ok());
    EXPECT_EQ((*store)->LoadLamport(), 0u);
    ASSERT_TRUE((*store)->StoreLamport(1234).ok());
    EXPECT_EQ((*store)->LoadLamport(), 1234u);
  }
  EXPECT_EQ(ReadFile(tmp.File(kLamportFile)), "1234\n");
  EXPECT_EQ(Mode(tmp.File(kLamportFile)), 0600);
  auto store = KeyStore::Open({.state_dir = tmp.path()});
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->LoadLamport(), 1234u);
}

TEST(KeyStoreTest, MalformedLamportIsAnErrorNamingIt) {
  TempDir tmp;
  for (const char* bad : {"abc\n", "-5\n", "+5\n", "99999999999999999999999\n", "\n"}) {
    WriteFile(tmp.File(kLamportFile), bad);
    auto store = KeyStore::Open({.state_dir = tmp.path()});
    ASSERT_FALSE(store.ok()) << bad;
    EXPECT_THAT(std::string(store.status().message()), HasSubstr(tmp.File(kLamportFile))) << bad;
  }
}

// The registry never hands out a LamportID at or below one that may have been used before a
// restart, even though it reserves them in blocks.
TEST(KeyStoreTest, RegistryLamportIdsIncreaseAcrossRestarts) {
  TempDir tmp;
  auto key = [](uint8_t i) {
    DiscoKey k;
    k.bytes[0] = i;
    return k;
  };
  uint64_t last = 0;
  for (int run = 0; run < 3; ++run) {
    auto store = KeyStore::Open({.state_dir = tmp.path()});
    ASSERT_TRUE(store.ok());
    Registry registry({.lamport_reserve_block = 5}, store->get());
    for (uint8_t i = 0; i < 7; ++i) {
      auto a = registry.Allocate({key(2 * i + 1), key(2 * i + 2)}, {}, absl::Now());
      ASSERT_TRUE(a.ok()) << a.status();
      EXPECT_GT(a->endpoint.lamport_id, last);
      last = a->endpoint.lamport_id;
      // Persisted before handed out.
      EXPECT_GE((*store)->LoadLamport(), last);
      EXPECT_EQ(ReadFile(tmp.File(kLamportFile)), std::to_string((*store)->LoadLamport()) + "\n");
    }
  }
}

TEST(KeyStoreTest, WriteFileAtomicallyReplacesContent) {
  TempDir tmp;
  const std::string path = tmp.File("f");
  ASSERT_TRUE(WriteFileAtomically(path, "one", 0600).ok());
  ASSERT_TRUE(WriteFileAtomically(path, "two", 0640).ok());
  EXPECT_EQ(ReadFile(path), "two");
  EXPECT_EQ(Mode(path), 0640);
  absl::Status s = WriteFileAtomically(tmp.File("missing/f"), "x", 0600);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr(tmp.File("missing/f")));
}

}  // namespace
}  // namespace dprelay::control
