// Replays a fuzz corpus as an ordinary test: feeds every regular file in the directories (or
// the files) named on the command line to LLVMFuzzerTestOneInput. A target aborts on a bug, so
// reaching the end is a pass. Fails when no input was found, so a missing corpus cannot pass
// silently.
//
//   sparse_codec_fuzz_corpus tests/fuzz/corpus/sparse_codec

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool RunFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return false;
  }
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  // A copy of exactly the file's length, so a sanitizer sees any overread.
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  size_t count = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::error_code error;
    if (std::filesystem::is_directory(arg, error)) {
      for (const auto& entry : std::filesystem::directory_iterator(arg, error)) {
        if (entry.is_regular_file() && RunFile(entry.path())) {
          ++count;
        }
      }
    } else if (std::filesystem::is_regular_file(arg, error) && RunFile(arg)) {
      ++count;
    }
    if (error) {
      std::fprintf(stderr, "%s: %s\n", argv[i], error.message().c_str());
      return 1;
    }
  }
  std::printf("%zu inputs replayed\n", count);
  return count > 0 ? 0 : 1;
}
