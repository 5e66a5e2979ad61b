#include "sotto/core/learn/libsvm.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace sotto::learn {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

StatusOr<Dataset> Parse(std::string_view text, const LibsvmOptions& options = {}) {
  return ParseLibsvm(text, options, "t.svm");
}

// Expects InvalidArgument whose message starts with `where` and contains `what`.
void ExpectBad(std::string_view text, const std::string& where, const std::string& what,
               const LibsvmOptions& options = {}) {
  const StatusOr<Dataset> data = Parse(text, options);
  ASSERT_FALSE(data.ok()) << "accepted: " << text;
  EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument) << data.status();
  EXPECT_THAT(std::string(data.status().message()), AllOf(HasSubstr(where + ": "), HasSubstr(what)))
      << "input: " << text;
  EXPECT_EQ(data.status().message().substr(0, where.size() + 2), where + ": ") << data.status();
}

TEST(LibsvmTest, ParsesDenseValuesCommentsAndBlankLines) {
  const std::string text =
      "# a header comment\n"
      "2 1:0.5 3:-1.25\n"
      "\n"
      "0 2:3e2   4:1 # trailing comment\r\n"
      "   \t\n"
      "1\n"
      "1 qid:7 4:-0.5";  // no final newline; SVMlight qid ignored
  const StatusOr<Dataset> data = Parse(text);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->num_samples, 4u);
  EXPECT_EQ(data->dim, 4u);
  EXPECT_EQ(data->num_classes, 3);
  EXPECT_EQ(data->labels, std::vector<int32_t>({2, 0, 1, 1}));
  EXPECT_EQ(data->features, std::vector<float>({0.5f, 0, -1.25f, 0,  //
                                                0, 300.0f, 0, 1.0f,  //
                                                0, 0, 0, 0,          //
                                                0, 0, 0, -0.5f}));
  EXPECT_TRUE(data->Validate().ok()) << data->Validate();
}

TEST(LibsvmTest, PlusMinusOneLabelsBecomeBinary) {
  const StatusOr<Dataset> data = Parse("+1 1:1\n-1 2:1\n1 1:2\n-1.0 2:2\n");
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->num_classes, 2);
  EXPECT_EQ(data->labels, std::vector<int32_t>({1, 0, 1, 0}));
  // Only -1 present still maps to class 0 of 2.
  const StatusOr<Dataset> negatives = Parse("-1 1:1\n-1 1:2\n");
  ASSERT_TRUE(negatives.ok()) << negatives.status();
  EXPECT_EQ(negatives->num_classes, 2);
  EXPECT_EQ(negatives->labels, std::vector<int32_t>({0, 0}));
}

TEST(LibsvmTest, ZeroOneLabelsStayAsIs) {
  const StatusOr<Dataset> data = Parse("0 1:1\n1 1:2\n");
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->num_classes, 2);
  EXPECT_EQ(data->labels, std::vector<int32_t>({0, 1}));
}

TEST(LibsvmTest, GivenNumClassesAndDim) {
  LibsvmOptions options;
  options.num_classes = 7;
  options.dim = 6;
  const StatusOr<Dataset> data = Parse("3 2:1\n0 1:1\n", options);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->num_classes, 7);
  EXPECT_EQ(data->dim, 6u);
  EXPECT_EQ(data->features.size(), 12u);
  EXPECT_EQ(data->features[1], 1.0f);
  EXPECT_EQ(data->features[6], 1.0f);
}

TEST(LibsvmTest, Regression) {
  LibsvmOptions options;
  options.regression = true;
  const StatusOr<Dataset> data = Parse("0.25 1:1\n-3e1 2:2\n+7 1:-1\n", options);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->num_classes, 0);
  EXPECT_TRUE(data->labels.empty());
  EXPECT_EQ(data->targets, std::vector<float>({0.25f, -30.0f, 7.0f}));
  EXPECT_TRUE(data->Validate().ok()) << data->Validate();
  ExpectBad("nan 1:1\n", "t.svm:1", "not finite", options);
  ExpectBad("1 1:1\ninf 1:1\n", "t.svm:2", "not finite", options);
  ExpectBad("1e39 1:1\n", "t.svm:1", "overflows a float", options);
}

TEST(LibsvmTest, BadIndices) {
  ExpectBad("1 0:1\n", "t.svm:1", "index 0");
  ExpectBad("1 1:1\n1 -2:1\n", "t.svm:2", "negative index");
  ExpectBad("1 1:1\n\n1 3:1 2:1\n", "t.svm:3", "strictly ascending");
  ExpectBad("1 3:1 3:2\n", "t.svm:1", "duplicate index 3");
  ExpectBad("1 x:1\n", "t.svm:1", "cannot parse index 'x'");
  ExpectBad("1 :1\n", "t.svm:1", "cannot parse index");
  ExpectBad("1 2.5:1\n", "t.svm:1", "cannot parse index");
  ExpectBad("1 99999999999999999999999:1\n", "t.svm:1", "out of range");
  ExpectBad("1 7\n", "t.svm:1", "expected index:value");
  LibsvmOptions options;
  options.dim = 3;
  ExpectBad("1 1:1\n1 4:1\n", "t.svm:2", "exceeds dim 3", options);
}

TEST(LibsvmTest, BadValues) {
  ExpectBad("1 1:abc\n", "t.svm:1", "cannot parse value 'abc'");
  ExpectBad("1 1:\n", "t.svm:1", "cannot parse value");
  ExpectBad("1 1:1:2\n", "t.svm:1", "cannot parse value '1:2'");
  ExpectBad("1 1:1.5x\n", "t.svm:1", "cannot parse value");
  ExpectBad("1 1:+-1\n", "t.svm:1", "cannot parse value");
  ExpectBad("1 1:nan\n", "t.svm:1", "not finite");
  ExpectBad("1 1:-inf\n", "t.svm:1", "not finite");
  ExpectBad("1 1:1e400\n", "t.svm:1", "out of range");
  ExpectBad("1 1:1e39\n", "t.svm:1", "overflows a float");
}

TEST(LibsvmTest, BadLabels) {
  ExpectBad("1 1:1\n1:1 2:1\n", "t.svm:2", "missing label");
  ExpectBad("abc 1:1\n", "t.svm:1", "cannot parse label");
  ExpectBad("0 1:1\n1.5 1:1\n", "t.svm:2", "not an integer");
  ExpectBad("0 1:1\nnan 1:1\n", "t.svm:2", "not finite");
  ExpectBad("0 1:1\n2 1:1\n-2 1:1\n", "t.svm:3", "negative class label -2");
  ExpectBad("0 1:1\n-1 1:1\n", "t.svm:2", "negative class label -1");
  ExpectBad("1e300 1:1\n", "t.svm:1", "too large");
  LibsvmOptions options;
  options.num_classes = 3;
  ExpectBad("0 1:1\n3 1:1\n", "t.svm:2", "outside [0, 3)", options);
  options.num_classes = 1;
  ExpectBad("-1 1:1\n+1 1:1\n", "t.svm:2", "outside [0, 1)", options);
  options.num_classes = -1;
  ExpectBad("0 1:1\n", "t.svm", "num_classes", options);
}

TEST(LibsvmTest, EmptyInputs) {
  ExpectBad("", "t.svm", "no samples");
  ExpectBad("# only a comment\n\n   \n", "t.svm", "no samples");
  ExpectBad("1\n0\n", "t.svm", "no sample has any feature");
  LibsvmOptions options;
  options.dim = 2;
  const StatusOr<Dataset> data = Parse("1\n0\n", options);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->features, std::vector<float>(4, 0.0f));
}

TEST(LibsvmTest, DenseSizeIsCapped) {
  const StatusOr<Dataset> huge = Parse("1 4000000000:1\n");
  EXPECT_EQ(huge.status().code(), StatusCode::kResourceExhausted) << huge.status();
  EXPECT_THAT(std::string(huge.status().message()), HasSubstr("t.svm"));
  LibsvmOptions options;
  options.max_dense_values = 5;
  EXPECT_EQ(Parse("1 1:1\n1 3:1\n", options).status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(Parse("1 1:1\n1 2:1\n", options).ok());
}

class LibsvmFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "sotto_libsvm_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path dir_;
};

TEST_F(LibsvmFileTest, LoadsPlainAndGzipFiles) {
  const std::string text = "+1 1:0.5 2:1\n-1 2:-1\n";
  const std::string plain = (dir_ / "a.svm").string();
  {
    std::ofstream out(plain);
    out << text;
  }
  const std::string gz = (dir_ / "a.svm.gz").string();
  gzFile file = gzopen(gz.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, text.data(), static_cast<unsigned>(text.size())),
            static_cast<int>(text.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
  for (const std::string& path : {plain, gz}) {
    const StatusOr<Dataset> data = LoadLibsvm(path);
    ASSERT_TRUE(data.ok()) << data.status();
    EXPECT_EQ(data->labels, std::vector<int32_t>({1, 0})) << path;
    EXPECT_EQ(data->features, std::vector<float>({0.5f, 1.0f, 0.0f, -1.0f})) << path;
  }
}

TEST_F(LibsvmFileTest, ErrorsNameTheFileAndLine) {
  const std::string path = (dir_ / "bad.svm").string();
  {
    std::ofstream out(path);
    out << "1 1:1\n1 2:1 1:1\n";
  }
  const StatusOr<Dataset> data = LoadLibsvm(path);
  EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument) << data.status();
  EXPECT_THAT(std::string(data.status().message()), HasSubstr(path + ":2: "));
}

TEST_F(LibsvmFileTest, MissingFileIsNotFound) {
  const std::string path = (dir_ / "missing.svm").string();
  const StatusOr<Dataset> data = LoadLibsvm(path);
  EXPECT_EQ(data.status().code(), StatusCode::kNotFound) << data.status();
  EXPECT_THAT(std::string(data.status().message()), HasSubstr(path));
}

}  // namespace
}  // namespace sotto::learn
