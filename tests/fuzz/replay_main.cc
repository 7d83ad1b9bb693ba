// Runs a fuzz target without libFuzzer, so any compiler can exercise it in CI: every file of
// the corpus directory (argv[1]), then pseudo-random inputs from a fixed seed, half of them
// mutations of corpus entries. Each input sits in its own exactly-sized heap block so that
// sanitizers (when enabled) catch reads past the end.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

// Enough to mutate every corpus entry many times while keeping the test well under a second.
constexpr int kDefaultRandomInputs = 5000;
constexpr size_t kMaxRandomLen = 512;

void RunOne(const std::vector<uint8_t>& input) {
  std::unique_ptr<uint8_t[]> copy(new uint8_t[input.size()]);
  std::copy(input.begin(), input.end(), copy.get());
  LLVMFuzzerTestOneInput(copy.get(), input.size());
}

std::vector<uint8_t> Mutate(std::vector<uint8_t> b, std::mt19937_64& rng) {
  static constexpr uint8_t kInteresting[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff};
  const int n = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < n; ++i) {
    const size_t at = b.empty() ? 0 : rng() % b.size();
    switch (rng() % 6) {
      case 0:  // flip a bit
        if (!b.empty()) {
          b[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
        }
        break;
      case 1:  // truncate
        b.resize(at);
        break;
      case 2:  // insert a byte
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), static_cast<uint8_t>(rng()));
        break;
      case 3:  // erase a byte
        if (!b.empty()) {
          b.erase(b.begin() + static_cast<std::ptrdiff_t>(at));
        }
        break;
      case 4:  // an interesting value
        if (!b.empty()) {
          b[at] = kInteresting[rng() % std::size(kInteresting)];
        }
        break;
      default:  // append random bytes
        for (size_t k = rng() % 40; k > 0; --k) {
          b.push_back(static_cast<uint8_t>(rng()));
        }
        break;
    }
  }
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [RANDOM_INPUTS]\n", argv[0]);
    return 2;
  }
  const int random_inputs = argc > 2 ? std::atoi(argv[2]) : kDefaultRandomInputs;

  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1], ec)) {
    if (entry.is_regular_file()) {
      files.push_back(entry.path());
    }
  }
  if (ec || files.empty()) {
    std::fprintf(stderr, "no corpus files in %s\n", argv[1]);
    return 1;
  }
  std::sort(files.begin(), files.end());

  std::vector<std::vector<uint8_t>> corpus;
  for (const auto& path : files) {
    std::ifstream f(path, std::ios::binary);
    corpus.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    RunOne(corpus.back());
  }

  std::mt19937_64 rng(0x64707265'6c617921);  // fixed seed: failures reproduce
  for (int i = 0; i < random_inputs; ++i) {
    if (i % 2 == 0) {
      RunOne(Mutate(corpus[rng() % corpus.size()], rng));
    } else {
      std::vector<uint8_t> b(rng() % kMaxRandomLen);
      for (uint8_t& x : b) {
        x = static_cast<uint8_t>(rng());
      }
      RunOne(b);
    }
  }
  RunOne({});
  std::printf("%zu corpus files and %d generated inputs: ok\n", corpus.size(), random_inputs);
  return 0;
}
