// proto/secret_box.h: the value is kept, moves without copying, is locked into RAM and is
// read-only (a stray write faults).
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "proto/key.h"
#include "proto/secret_box.h"

namespace dprelay {
namespace {

// The process's locked memory (VmLck in /proc/self/status), in kB.
long LockedKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmLck:", 0) == 0) {
      return std::stol(line.substr(6));
    }
  }
  return -1;
}

TEST(SecretBoxTest, HoldsTheValueAndMovesWithoutCopying) {
  const DiscoKeyPair kp = GenerateKeyPair();
  absl::StatusOr<SecretBox<DiscoKeyPair>> box = SecretBox<DiscoKeyPair>::Make(kp);
  ASSERT_TRUE(box.ok()) << box.status();
  EXPECT_EQ((*box)->priv.bytes, kp.priv.bytes);
  const DiscoKeyPair* where = &**box;
  SecretBox<DiscoKeyPair> moved = std::move(*box);
  EXPECT_EQ(&*moved, where);
  EXPECT_EQ(moved->pub, kp.pub);
}

TEST(SecretBoxTest, IsLockedIntoMemory) {
#if defined(__SANITIZE_ADDRESS__)
  // ASan intercepts mlock() and makes it a no-op (it cannot lock its shadow memory), so VmLck
  // stays 0 in the sanitizer build (scripts/sanitize.sh); the normal build checks this.
  GTEST_SKIP() << "mlock is a no-op under AddressSanitizer";
#endif
  const long before = LockedKb();
  absl::StatusOr<SecretBox<DiscoKeyPair>> box = SecretBox<DiscoKeyPair>::Make(GenerateKeyPair());
  ASSERT_TRUE(box.ok());
  EXPECT_GE(LockedKb(), before + 4) << "one locked page";
}

TEST(SecretBoxDeathTest, IsReadOnly) {
  absl::StatusOr<SecretBox<DiscoKeyPair>> box = SecretBox<DiscoKeyPair>::Make(GenerateKeyPair());
  ASSERT_TRUE(box.ok());
  EXPECT_DEATH(const_cast<DiscoKeyPair&>(**box).priv.bytes[0] ^= 1, "");
}

TEST(SecretBoxTest, WipeZeroes) {
  DiscoPrivateKey k = GenerateKeyPair().priv;
  Wipe(&k);
  EXPECT_EQ(k.bytes, DiscoPrivateKey{}.bytes);
  std::string text = "privkey:0123";
  Wipe(&text);
  EXPECT_TRUE(text.empty());
}

}  // namespace
}  // namespace dprelay
