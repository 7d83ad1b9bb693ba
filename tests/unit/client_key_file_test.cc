#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/key_file.h"
#include "gtest/gtest.h"
#include "proto/key.h"

namespace dprelay::client {
namespace {

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dprelay_key_file_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  // A key file written by hand, as an operator would (then chmod 600).
  static void WriteByHand(const std::string& path, const std::string& text, mode_t mode = 0600) {
    std::ofstream(path) << text;
    ASSERT_EQ(chmod(path.c_str(), mode), 0);
  }
  std::string dir_;
};

std::string Message(const absl::Status& s) { return absl::StrCat(s.message()); }

TEST_F(KeyFileTest, RoundTripsWithMode0600) {
  const DiscoKeyPair pair = GenerateKeyPair();
  const std::string path = Path("peer.key");
  // A permissive umask must not leak into the key file's mode.
  mode_t old_mask = umask(0);
  absl::Status written = WriteKeyFile(path, pair.priv, /*overwrite=*/false);
  umask(old_mask);
  ASSERT_TRUE(written.ok()) << written;

  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, FormatPrivateKey(pair.priv) + "\n");
  EXPECT_EQ(content.rfind("privkey:", 0), 0u);

  absl::StatusOr<DiscoKeyPair> read = ReadKeyFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->pub, pair.pub);
  EXPECT_EQ(read->priv.bytes, pair.priv.bytes);
}

TEST_F(KeyFileTest, RefusesToReplaceUnlessAsked) {
  const std::string path = Path("k");
  const DiscoKeyPair first = GenerateKeyPair();
  const DiscoKeyPair second = GenerateKeyPair();
  ASSERT_TRUE(WriteKeyFile(path, first.priv, false).ok());
  absl::Status again = WriteKeyFile(path, second.priv, false);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(Message(again).find(path), std::string::npos) << again;
  EXPECT_EQ(ReadKeyFile(path)->pub, first.pub);

  ASSERT_TRUE(WriteKeyFile(path, second.priv, true).ok());
  EXPECT_EQ(ReadKeyFile(path)->pub, second.pub);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(KeyFileTest, AcceptsMissingTrailingNewline) {
  const DiscoKeyPair pair = GenerateKeyPair();
  const std::string path = Path("bare");
  WriteByHand(path, FormatPrivateKey(pair.priv));
  absl::StatusOr<DiscoKeyPair> read = ReadKeyFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->pub, pair.pub);
}

TEST_F(KeyFileTest, ErrorsNameTheFile) {
  const std::string missing = Path("missing.key");
  absl::StatusOr<DiscoKeyPair> r = ReadKeyFile(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(Message(r.status()).find(missing), std::string::npos) << r.status();

  const std::string garbage = Path("garbage.key");
  WriteByHand(garbage, "discokey:00\n");
  r = ReadKeyFile(garbage);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(Message(r.status()).find(garbage), std::string::npos) << r.status();

  const std::string in_missing_dir = Path("no/such/dir.key");
  absl::Status w = WriteKeyFile(in_missing_dir, GenerateKeyPair().priv, false);
  ASSERT_FALSE(w.ok());
  EXPECT_NE(Message(w).find(in_missing_dir), std::string::npos) << w;
}

// A private key others can read is refused, as ssh refuses one: the error names the file, its
// mode and the fix.
TEST_F(KeyFileTest, RefusesAKeyFileGroupOrOthersCanRead) {
  const DiscoKeyPair pair = GenerateKeyPair();
  for (mode_t mode : {0640, 0604, 0660}) {
    const std::string path = Path(absl::StrCat("loose", mode, ".key"));
    WriteByHand(path, FormatPrivateKey(pair.priv) + "\n", mode);
    absl::StatusOr<DiscoKeyPair> r = ReadKeyFile(path);
    ASSERT_FALSE(r.ok()) << mode;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_NE(Message(r.status()).find(path), std::string::npos) << r.status();
    EXPECT_NE(Message(r.status()).find("chmod 600"), std::string::npos) << r.status();
  }
  const std::string tight = Path("tight.key");
  WriteByHand(tight, FormatPrivateKey(pair.priv) + "\n", 0400);
  EXPECT_TRUE(ReadKeyFile(tight).ok());
}

}  // namespace
}  // namespace dprelay::client
