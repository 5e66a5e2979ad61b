#include "sotto/core/learn/idx.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace sotto::learn {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr uint32_t kImagesMagic = 0x00000803;
constexpr uint32_t kLabelsMagic = 0x00000801;

void PutBigEndian32(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v >> 24));
  out.push_back(static_cast<uint8_t>(v >> 16));
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

std::vector<uint8_t> ImageFile(uint32_t count, uint32_t rows, uint32_t cols,
                               const std::vector<uint8_t>& pixels, uint32_t magic = kImagesMagic) {
  std::vector<uint8_t> out;
  PutBigEndian32(out, magic);
  PutBigEndian32(out, count);
  PutBigEndian32(out, rows);
  PutBigEndian32(out, cols);
  out.insert(out.end(), pixels.begin(), pixels.end());
  return out;
}

std::vector<uint8_t> LabelFile(const std::vector<uint8_t>& labels, uint32_t magic = kLabelsMagic,
                               uint32_t count_override = UINT32_MAX) {
  std::vector<uint8_t> out;
  PutBigEndian32(out, magic);
  PutBigEndian32(
      out, count_override == UINT32_MAX ? static_cast<uint32_t>(labels.size()) : count_override);
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

// 3 images of 2x3 pixels, labels 0, 9, 4.
const std::vector<uint8_t> kPixels = {0,   255, 1,   2,  3,   4,   //
                                      10,  20,  30,  40, 50,  60,  //
                                      128, 127, 254, 5,  200, 100};
const std::vector<uint8_t> kLabels = {0, 9, 4};

class IdxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "sotto_idx_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  std::string WritePlain(const std::string& name, const std::vector<uint8_t>& bytes) const {
    const std::string path = Path(name);
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    EXPECT_TRUE(out.good()) << path;
    return path;
  }

  std::string WriteGzip(const std::string& name, const std::vector<uint8_t>& bytes) const {
    const std::string path = Path(name);
    gzFile file = gzopen(path.c_str(), "wb");
    EXPECT_NE(file, nullptr) << path;
    if (file == nullptr) return path;
    if (!bytes.empty()) {
      EXPECT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
                static_cast<int>(bytes.size()));
    }
    EXPECT_EQ(gzclose(file), Z_OK);
    return path;
  }

  std::vector<uint8_t> ReadBytes(const std::string& path) const {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
  }

  std::filesystem::path dir_;
};

void ExpectSmallDataset(const StatusOr<Dataset>& data) {
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->num_samples, 3u);
  EXPECT_EQ(data->dim, 6u);
  EXPECT_EQ(data->num_classes, 10);
  ASSERT_EQ(data->features.size(), kPixels.size());
  for (size_t i = 0; i < kPixels.size(); ++i) {
    EXPECT_EQ(data->features[i], static_cast<float>(kPixels[i]) / 255.0f) << "pixel " << i;
  }
  EXPECT_EQ(data->features[1], 1.0f);
  EXPECT_EQ(data->features[0], 0.0f);
  EXPECT_EQ(data->labels, std::vector<int32_t>({0, 9, 4}));
  EXPECT_TRUE(data->targets.empty());
  EXPECT_TRUE(data->Validate().ok()) << data->Validate();
}

TEST_F(IdxTest, LoadsPlainFiles) {
  const std::string images = WritePlain("img", ImageFile(3, 2, 3, kPixels));
  const std::string labels = WritePlain("lbl", LabelFile(kLabels));
  ExpectSmallDataset(LoadIdx(images, labels));
}

TEST_F(IdxTest, LoadsGzipFiles) {
  const std::string images = WriteGzip("img.gz", ImageFile(3, 2, 3, kPixels));
  const std::string labels = WriteGzip("lbl.gz", LabelFile(kLabels));
  ExpectSmallDataset(LoadIdx(images, labels));
}

TEST_F(IdxTest, LoadsMixedPlainAndGzip) {
  const std::string images = WriteGzip("img.gz", ImageFile(3, 2, 3, kPixels));
  const std::string labels = WritePlain("lbl", LabelFile(kLabels));
  ExpectSmallDataset(LoadIdx(images, labels));
}

TEST_F(IdxTest, MissingImagesFileIsNotFound) {
  const std::string labels = WritePlain("lbl", LabelFile(kLabels));
  const StatusOr<Dataset> data = LoadIdx(Path("nope"), labels);
  EXPECT_EQ(data.status().code(), StatusCode::kNotFound) << data.status();
  EXPECT_THAT(std::string(data.status().message()), HasSubstr(Path("nope")));
}

TEST_F(IdxTest, MissingLabelsFileIsNotFound) {
  const std::string images = WritePlain("img", ImageFile(3, 2, 3, kPixels));
  const StatusOr<Dataset> data = LoadIdx(images, Path("nolabels"));
  EXPECT_EQ(data.status().code(), StatusCode::kNotFound) << data.status();
  EXPECT_THAT(std::string(data.status().message()), HasSubstr(Path("nolabels")));
}

TEST_F(IdxTest, DirectoryIsInvalidArgument) {
  const std::string labels = WritePlain("lbl", LabelFile(kLabels));
  const StatusOr<Dataset> data = LoadIdx(dir_.string(), labels);
  EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument) << data.status();
  EXPECT_THAT(std::string(data.status().message()), HasSubstr("directory"));
}

TEST_F(IdxTest, NonPositiveNumClassesIsInvalidArgument) {
  const std::string images = WritePlain("img", ImageFile(3, 2, 3, kPixels));
  const std::string labels = WritePlain("lbl", LabelFile(kLabels));
  EXPECT_EQ(LoadIdx(images, labels, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadIdx(images, labels, -3).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(IdxTest, TruncatedHeaderIsDataLoss) {
  for (bool gzip : {false, true}) {
    std::vector<uint8_t> bytes = ImageFile(3, 2, 3, kPixels);
    bytes.resize(10);
    const std::string images = gzip ? WriteGzip("img.gz", bytes) : WritePlain("img", bytes);
    const std::string labels = WritePlain("lbl", LabelFile(kLabels));
    const StatusOr<Dataset> data = LoadIdx(images, labels);
    EXPECT_EQ(data.status().code(), StatusCode::kDataLoss) << data.status() << " gzip " << gzip;
    EXPECT_THAT(std::string(data.status().message()),
                AllOf(HasSubstr(images), HasSubstr("truncated header")));
  }
}

TEST_F(IdxTest, TruncatedLabelHeaderIsDataLoss) {
  const std::string images = WritePlain("img", ImageFile(3, 2, 3, kPixels));
  const std::string labels = WritePlain("lbl", {0, 0, 8, 1, 0});
  const StatusOr<Dataset> data = LoadIdx(images, labels);
  EXPECT_EQ(data.status().code(), StatusCode::kDataLoss) << data.status();
  EXPECT_THAT(std::string(data.status().message()),
              AllOf(HasSubstr(labels), HasSubstr("truncated header")));
}

TEST_F(IdxTest, TruncatedPayloadIsDataLoss) {
  for (bool gzip : {false, true}) {
    std::vector<uint8_t> pixels = kPixels;
    pixels.pop_back();
    const std::vector<uint8_t> bytes = ImageFile(3, 2, 3, pixels);
    const std::string images = gzip ? WriteGzip("img.gz", bytes) : WritePlain("img", bytes);
    const std::string labels = WritePlain("lbl", LabelFile(kLabels));
    const StatusOr<Dataset> data = LoadIdx(images, labels);
    EXPECT_EQ(data.status().code(), StatusCode::kDataLoss) << data.status() << " gzip " << gzip;
    EXPECT_THAT(std::string(data.status().message()),
                AllOf(HasSubstr(images), HasSubstr("truncated payload"), HasSubstr("17 of 18")));
  }
}

TEST_F(IdxTest, TruncatedLabelPayloadIsDataLoss) {
  const std::string images = WritePlain("img", ImageFile(3, 2, 3, kPixels));
  const std::string labels = WritePlain("lbl", LabelFile({0, 1}, kLabelsMagic, 3));
  const StatusOr<Dataset> data = LoadIdx(images, labels);
  EXPECT_EQ(data.status().code(), StatusCode::kDataLoss) << data.status();
  EXPECT_THAT(std::string(data.status().message()),
              AllOf(HasSubstr(labels), HasSubstr("truncated payload")));
}

TEST_F(IdxTest, TruncatedGzipStreamIsDataLoss) {
  // Cut the compressed file itself (not the data inside it) in half.
  std::vector<uint8_t> pixels(2000);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 7919 % 251);
  const std::string full = WriteGzip("full.gz", ImageFile(20, 10, 10, pixels));
  std::vector<uint8_t> compressed = ReadBytes(full);
  ASSERT_GT(compressed.size(), 40u);
  compressed.resize(compressed.size() / 2);
  const std::string images = WritePlain("cut.gz", compressed);
  const std::string labels = WritePlain("lbl", LabelFile(std::vector<uint8_t>(20, 1)));
  const StatusOr<Dataset> data = LoadIdx(images, labels);
  EXPECT_EQ(data.status().code(), StatusCode::kDataLoss) << data.status();
  EXPECT_THAT(std::string(data.status().message()), HasSubstr(images));
}

TEST_F(IdxTest, GzipMissingOnlyItsTrailerIsDataLoss) {
  // The whole payload decompresses, but the CRC/length trailer is gone.
  const std::string full = WriteGzip("full.gz", ImageFile(3, 2, 3, kPixels));
  std::vector<uint8_t> compressed = ReadBytes(full);
  compressed.resize(compressed.size() - 8);
  const std::string images = WritePlain("notrailer.gz", compressed);
  const std::string labels = WritePlain("lbl", LabelFile(kLabels));
  const StatusOr<Dataset> data = LoadIdx(images, labels);
  EXPECT_EQ(data.status().code(), StatusCode::kDataLoss) << data.status();
  EXPECT_THAT(std::string(data.status().message()), HasSubstr(images));
}

TEST_F(IdxTest, CorruptGzipStreamIsDataLoss) {
  std::vector<uint8_t> pixels(2000);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 7919 % 251);
  const std::string full = WriteGzip("full.gz", ImageFile(20, 10, 10, pixels));
  const std::vector<uint8_t> good = ReadBytes(full);
  ASSERT_GT(good.size(), 40u);
  const std::string labels = WritePlain("lbl", LabelFile(std::vector<uint8_t>(20, 1)));
  // Damage anywhere past the 10-byte gzip header must be caught, whatever it decodes to.
  // (Damage to the header itself can make zlib read the file as plain bytes, which then
  // fails on the magic instead.) A flipped CRC is certainly DataLoss; damage in the deflate
  // data usually is too, but could in principle decode to a different length.
  for (size_t pos : {size_t{12}, good.size() / 2, good.size() - 6}) {
    std::vector<uint8_t> bad = good;
    bad[pos] ^= 0x5a;
    const std::string images = WritePlain("bad.gz", bad);
    const StatusOr<Dataset> data = LoadIdx(images, labels);
    ASSERT_FALSE(data.ok()) << "flip at byte " << pos;
    EXPECT_THAT(std::string(data.status().message()), HasSubstr(images)) << "byte " << pos;
    if (pos == good.size() - 6) {
      EXPECT_EQ(data.status().code(), StatusCode::kDataLoss) << data.status();
      EXPECT_THAT(std::string(data.status().message()), HasSubstr("corrupt gzip stream"));
    } else {
      EXPECT_TRUE(data.status().code() == StatusCode::kDataLoss ||
                  data.status().code() == StatusCode::kInvalidArgument)
          << data.status() << " byte " << pos;
    }
  }
}

TEST_F(IdxTest, InvalidDeflateDataIsDataLoss) {
  // A valid gzip header followed by a deflate block of the reserved type 3.
  const std::vector<uint8_t> bad = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00,
                                    0x00, 0x00, 0x03, 0x07, 0x00, 0x00, 0x00};
  const std::string images = WritePlain("img.gz", bad);
  const std::string labels = WritePlain("lbl", LabelFile(kLabels));
  const StatusOr<Dataset> data = LoadIdx(images, labels);
  EXPECT_EQ(data.status().code(), StatusCode::kDataLoss) << data.status();
  EXPECT_THAT(std::string(data.status().message()),
              AllOf(HasSubstr(images), HasSubstr("corrupt gzip stream")));
}

TEST_F(IdxTest, WrongMagicIsInvalidArgument) {
  {
    const std::string images = WritePlain("img", ImageFile(3, 2, 3, kPixels, kLabelsMagic));
    const std::string labels = WritePlain("lbl", LabelFile(kLabels));
    const StatusOr<Dataset> data = LoadIdx(images, labels);
    EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument) << data.status();
    EXPECT_THAT(std::string(data.status().message()),
                AllOf(HasSubstr(images), HasSubstr("magic 0x00000801"), HasSubstr("0x00000803")));
  }
  {
    // Swapped files.
    const std::string images = WritePlain("img", ImageFile(3, 2, 3, kPixels));
    const std::string labels = WritePlain("lbl", LabelFile(kLabels));
    const StatusOr<Dataset> data = LoadIdx(labels, images);
    EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument) << data.status();
    EXPECT_THAT(std::string(data.status().message()), HasSubstr("magic"));
  }
  {
    // A gzip'd labels file with a wrong magic.
    const std::string images = WritePlain("img", ImageFile(3, 2, 3, kPixels));
    const std::string labels = WriteGzip("lbl.gz", LabelFile(kLabels, 0x12345678));
    const StatusOr<Dataset> data = LoadIdx(images, labels);
    EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument) << data.status();
    EXPECT_THAT(std::string(data.status().message()),
                AllOf(HasSubstr(labels), HasSubstr("0x12345678")));
  }
}

TEST_F(IdxTest, ZeroDimensionIsInvalidArgument) {
  const struct { uint32_t count, rows, cols; } cases[] = {{0, 2, 3}, {3, 0, 3}, {3, 2, 0}};
  for (const auto& c : cases) {
    const std::string images = WritePlain("img", ImageFile(c.count, c.rows, c.cols, {}));
    const std::string labels = WritePlain("lbl", LabelFile({}, kLabelsMagic, c.count));
    const StatusOr<Dataset> data = LoadIdx(images, labels);
    EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument)
        << data.status() << " dims " << c.count << "x" << c.rows << "x" << c.cols;
    EXPECT_THAT(std::string(data.status().message()),
                AllOf(HasSubstr(images), HasSubstr("zero dimension")));
  }
}

TEST_F(IdxTest, AbsurdDimensionsAreRefusedBeforeAllocating) {
  const struct {
    uint32_t count, rows, cols;
  } cases[] = {{UINT32_MAX, UINT32_MAX, UINT32_MAX},  // would overflow 64 bits
               {1, 1u << 16, (1u << 14) + 1},         // one image above the cap
               {(1u << 20) + 1, 32, 32}};             // just above 2^30 pixels
  for (const auto& c : cases) {
    const std::string images = WritePlain("img", ImageFile(c.count, c.rows, c.cols, kPixels));
    const std::string labels = WritePlain("lbl", LabelFile({}, kLabelsMagic, c.count));
    const StatusOr<Dataset> data = LoadIdx(images, labels);
    EXPECT_EQ(data.status().code(), StatusCode::kResourceExhausted)
        << data.status() << " dims " << c.count << "x" << c.rows << "x" << c.cols;
    EXPECT_THAT(std::string(data.status().message()), HasSubstr(images));
  }
}

TEST_F(IdxTest, LargeButAllowedClaimFailsOnTruncation) {
  // 2^30 pixels declared, 18 present: within the cap, so the loader must find the truncation
  // (reading in blocks) rather than trust the header.
  const std::string images = WritePlain("img", ImageFile(1u << 20, 32, 32, kPixels));
  const std::string labels = WritePlain("lbl", LabelFile(std::vector<uint8_t>(1u << 20, 1)));
  const StatusOr<Dataset> data = LoadIdx(images, labels);
  EXPECT_EQ(data.status().code(), StatusCode::kDataLoss) << data.status();
  EXPECT_THAT(std::string(data.status().message()), HasSubstr("truncated payload"));
}

TEST_F(IdxTest, CountMismatchIsInvalidArgument) {
  const std::string images = WritePlain("img", ImageFile(3, 2, 3, kPixels));
  const std::string labels = WritePlain("lbl", LabelFile({0, 1}));
  const StatusOr<Dataset> data = LoadIdx(images, labels);
  EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument) << data.status();
  EXPECT_THAT(
      std::string(data.status().message()),
      AllOf(HasSubstr(images), HasSubstr(labels), HasSubstr("3 images"), HasSubstr("2 labels")));
}

TEST_F(IdxTest, LabelOutOfRangeIsInvalidArgument) {
  const std::string images = WritePlain("img", ImageFile(3, 2, 3, kPixels));
  const std::string labels = WritePlain("lbl", LabelFile({0, 10, 4}));
  const StatusOr<Dataset> data = LoadIdx(images, labels);
  EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument) << data.status();
  EXPECT_THAT(std::string(data.status().message()),
              AllOf(HasSubstr(labels), HasSubstr("label 10"), HasSubstr("sample 1")));
  // The same file is fine with more classes, and too few classes reject label 9 of kLabels.
  EXPECT_TRUE(LoadIdx(images, labels, 11).ok());
  const std::string good_labels = WritePlain("lbl2", LabelFile(kLabels));
  EXPECT_EQ(LoadIdx(images, good_labels, 9).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(IdxTest, TrailingBytesAreInvalidArgument) {
  for (bool gzip : {false, true}) {
    std::vector<uint8_t> image_bytes = ImageFile(3, 2, 3, kPixels);
    image_bytes.push_back(0);
    const std::string images =
        gzip ? WriteGzip("img.gz", image_bytes) : WritePlain("img", image_bytes);
    const std::string labels = WritePlain("lbl", LabelFile(kLabels));
    const StatusOr<Dataset> data = LoadIdx(images, labels);
    EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument) << data.status();
    EXPECT_THAT(std::string(data.status().message()),
                AllOf(HasSubstr(images), HasSubstr("trailing")));
  }
  {
    std::vector<uint8_t> label_bytes = LabelFile(kLabels);
    label_bytes.insert(label_bytes.end(), {1, 2, 3});
    const std::string images = WritePlain("img", ImageFile(3, 2, 3, kPixels));
    const std::string labels = WriteGzip("lbl.gz", label_bytes);
    const StatusOr<Dataset> data = LoadIdx(images, labels);
    EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument) << data.status();
    EXPECT_THAT(std::string(data.status().message()),
                AllOf(HasSubstr(labels), HasSubstr("trailing")));
  }
}

TEST_F(IdxTest, FashionMnistMissingNamesFileAndPackage) {
  const StatusOr<TrainTest> data = LoadFashionMnist(Path("absent"));
  EXPECT_EQ(data.status().code(), StatusCode::kNotFound) << data.status();
  EXPECT_THAT(std::string(data.status().message()),
              AllOf(HasSubstr("train-images-idx3-ubyte.gz"), HasSubstr("dataset-fashion-mnist"),
                    HasSubstr("sudo apt-get install dataset-fashion-mnist")));
}

TEST_F(IdxTest, FashionMnistNamesTheOneMissingFile) {
  WriteGzip("train-images-idx3-ubyte.gz", ImageFile(3, 2, 3, kPixels));
  WriteGzip("train-labels-idx1-ubyte.gz", LabelFile(kLabels));
  WriteGzip("t10k-images-idx3-ubyte.gz", ImageFile(3, 2, 3, kPixels));
  const StatusOr<TrainTest> data = LoadFashionMnist(dir_.string());
  EXPECT_EQ(data.status().code(), StatusCode::kNotFound) << data.status();
  EXPECT_THAT(std::string(data.status().message()),
              AllOf(HasSubstr("t10k-labels-idx1-ubyte.gz"), HasSubstr("dataset-fashion-mnist")));
}

TEST_F(IdxTest, FashionMnistLayoutFromFixtures) {
  WriteGzip("train-images-idx3-ubyte.gz", ImageFile(3, 2, 3, kPixels));
  WriteGzip("train-labels-idx1-ubyte.gz", LabelFile(kLabels));
  WriteGzip("t10k-images-idx3-ubyte.gz", ImageFile(1, 2, 3, {1, 2, 3, 4, 5, 6}));
  WriteGzip("t10k-labels-idx1-ubyte.gz", LabelFile({7}));
  const StatusOr<TrainTest> data = LoadFashionMnist(dir_.string());
  ASSERT_TRUE(data.ok()) << data.status();
  ExpectSmallDataset(data->train);
  EXPECT_EQ(data->test.num_samples, 1u);
  EXPECT_EQ(data->test.labels, std::vector<int32_t>({7}));
  EXPECT_EQ(data->test.features[5], 6.0f / 255.0f);
}

TEST(FashionMnistTest, LoadsTheInstalledDataset) {
  if (!std::filesystem::is_directory(kFashionMnistDir)) {
    GTEST_SKIP() << kFashionMnistDir << " is missing (sudo apt-get install dataset-fashion-mnist)";
  }
  const StatusOr<TrainTest> data = LoadFashionMnist();
  ASSERT_TRUE(data.ok()) << data.status();
  for (const Dataset* d : {&data->train, &data->test}) {
    EXPECT_TRUE(d->Validate().ok()) << d->Validate();
    EXPECT_EQ(d->dim, 784u);
    EXPECT_EQ(d->num_classes, 10);
    std::vector<size_t> counts(10, 0);
    for (int32_t label : d->labels) ++counts[static_cast<size_t>(label)];
    // Fashion-MNIST is balanced: 6000 per class in training, 1000 in test.
    for (size_t k = 0; k < 10; ++k) EXPECT_EQ(counts[k], d->num_samples / 10) << "class " << k;
    float lo = 1.0f, hi = 0.0f;
    for (float x : d->features) {
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    EXPECT_EQ(lo, 0.0f);
    EXPECT_EQ(hi, 1.0f);
  }
  EXPECT_EQ(data->train.num_samples, 60000u);
  EXPECT_EQ(data->test.num_samples, 10000u);
  // The first training and test images are both ankle boots (class 9).
  EXPECT_EQ(data->train.labels[0], 9);
  EXPECT_EQ(data->test.labels[0], 9);
}

}  // namespace
}  // namespace sotto::learn
