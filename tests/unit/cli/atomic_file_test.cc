#include "atomic_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace sotto::cli {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(AtomicFileTest, WritesAndReplacesLeavingNoTemporaryFile) {
  char pattern[] = "/tmp/sotto-atomic-test-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  const std::string path = dir + "/port";
  ASSERT_TRUE(WriteFileAtomically(path, "1234\n").ok());
  EXPECT_EQ(Read(path), "1234\n");
  const std::string binary("\0\x01\xff", 3);
  ASSERT_TRUE(WriteFileAtomically(path, binary).ok());
  EXPECT_EQ(Read(path), binary);
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  struct stat st {};
  EXPECT_NE(::stat(temp.c_str(), &st), 0) << "temporary file left behind";
  std::remove(path.c_str());
  ::rmdir(dir.c_str());
}

TEST(AtomicFileTest, MissingDirectoryIsAnError) {
  Status s = WriteFileAtomically("/nonexistent-sotto-dir/x", "x");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("/nonexistent-sotto-dir/x"), std::string::npos) << s;
}

}  // namespace
}  // namespace sotto::cli
