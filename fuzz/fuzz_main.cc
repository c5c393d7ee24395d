// The everyday runner of a fuzz target, linked in libFuzzer's place (gcc, the ASan build), as
// systemd's fuzz-main: every file named, and every file in each directory named, goes once to
// LLVMFuzzerTestOneInput. A crash, a sanitizer report or a broken invariant (__builtin_trap) ends
// the run and fails the test; so does a corpus with no inputs, which would test nothing.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    std::error_code ec;
    if (!fs::is_directory(argv[i], ec)) {
      inputs.emplace_back(argv[i]);
      continue;
    }
    for (const auto& e : fs::directory_iterator(argv[i], ec))
      if (e.is_regular_file()) inputs.push_back(e.path());
    if (ec) {
      std::fprintf(stderr, "%s: %s\n", argv[i], ec.message().c_str());
      return 1;
    }
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "usage: %s CORPUS-DIR|FILE...: no inputs given\n", argv[0]);
    return 1;
  }
  std::sort(inputs.begin(), inputs.end());
  for (const auto& p : inputs) {
    std::ifstream in(p, std::ios::binary);
    std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (!in.good() && !in.eof()) {
      std::fprintf(stderr, "%s: cannot be read\n", p.c_str());
      return 1;
    }
    std::printf("%s (%zu bytes)\n", p.c_str(), bytes.size());
    std::fflush(stdout);  // the last name printed is the input that crashed
    // An allocation of exactly the input's size, as libFuzzer gives, so ASan sees a read past it.
    auto copy = std::make_unique<uint8_t[]>(bytes.size());
    std::copy(bytes.begin(), bytes.end(), copy.get());
    LLVMFuzzerTestOneInput(copy.get(), bytes.size());
  }
  std::printf("%zu inputs, no failures\n", inputs.size());
  return 0;
}
