#include "sotto/base/file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace sotto {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

mode_t CurrentUmask() {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return mask;
}

TEST(FileTest, WritesAndReplacesLeavingNoTemporaryFile) {
  char pattern[] = "/tmp/sotto-atomic-test-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  const std::string path = dir + "/port";
  ASSERT_TRUE(WriteFileAtomically(path, "1234\n").ok());
  EXPECT_EQ(Read(path), "1234\n");
  const std::string binary("\0\x01\xff", 3);
  ASSERT_TRUE(WriteFileAtomically(path, binary).ok());
  EXPECT_EQ(Read(path), binary);
  struct stat mode {};
  ASSERT_EQ(::stat(path.c_str(), &mode), 0);
  EXPECT_EQ(mode.st_mode & 0077, 0044 & ~CurrentUmask());
  ASSERT_TRUE(WriteFileAtomically(path, "private", 0600).ok());
  ASSERT_EQ(::stat(path.c_str(), &mode), 0);
  EXPECT_EQ(mode.st_mode & 0777, 0600u);
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  struct stat st {};
  EXPECT_NE(::stat(temp.c_str(), &st), 0) << "temporary file left behind";
  std::remove(path.c_str());
  ::rmdir(dir.c_str());
}

TEST(FileTest, MissingDirectoryIsAnError) {
  Status s = WriteFileAtomically("/nonexistent-sotto-dir/x", "x");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("/nonexistent-sotto-dir/x"), std::string::npos) << s;
}

TEST(FileTest, ReadFileLimitedReadsRefusesAndNamesTheFile) {
  char pattern[] = "/tmp/sotto-read-test-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  const std::string path = dir + "/state";
  const std::string binary("\0\x01\xff\n", 4);
  ASSERT_TRUE(WriteFileAtomically(path, binary).ok());
  StatusOr<std::string> read = ReadFileLimited(path, 4);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, binary);
  read = ReadFileLimited(path, 3);
  EXPECT_EQ(read.status().code(), StatusCode::kResourceExhausted) << read.status();
  read = ReadFileLimited(dir + "/missing", 100);
  EXPECT_EQ(read.status().code(), StatusCode::kNotFound) << read.status();
  EXPECT_NE(std::string(read.status().message()).find(dir + "/missing"), std::string::npos);
  read = ReadFileLimited(dir, 100);
  EXPECT_EQ(read.status().code(), StatusCode::kInvalidArgument) << read.status();
  std::remove(path.c_str());
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace sotto
