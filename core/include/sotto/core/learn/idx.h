#pragma once

// Loaders for the IDX format of MNIST and Fashion-MNIST.
//
// An IDX file is a 4-byte magic number, its dimensions as big-endian uint32, then the payload
// as uint8, row-major:
//   images  magic 0x00000803, dims count, rows, cols; count * rows * cols pixels
//   labels  magic 0x00000801, dim count;              count labels
// Files may be gzip-compressed or plain: both are read through zlib, which passes a file
// without a gzip header through unchanged.
//
// Errors name the file and the problem; nothing in a file can crash the loader:
//   NotFound           a file does not exist (LoadFashionMnist also says which Debian package
//                      provides the files)
//   InvalidArgument    wrong magic, a zero dimension, image and label counts that disagree, a
//                      label outside [0, num_classes), bytes after the payload, a directory
//                      given as a file, num_classes <= 0
//   ResourceExhausted  dimensions whose payload exceeds kMaxIdxPayloadBytes (checked before
//                      anything is allocated)
//   DataLoss           a file that ends inside its header or payload, a corrupt gzip stream
//   PermissionDenied / Unavailable  the file cannot be opened or read
//
// The functions are thread-safe (they share no state).

#include <cstdint>
#include <string>

#include "sotto/base/statusor.h"
#include "sotto/core/learn/dataset.h"

namespace sotto::learn {

// Where Debian's `dataset-fashion-mnist` package installs the four gzip'd IDX files.
inline constexpr char kFashionMnistDir[] = "/usr/share/datasets/fashion-mnist";

// The most pixels (bytes) one IDX image file may declare: 2^30, 17x Fashion-MNIST's training
// set. The loaded features take four times as much memory.
inline constexpr uint64_t kMaxIdxPayloadBytes = uint64_t{1} << 30;

// Reads an image file and a label file into a classification Dataset: one sample per image,
// dim = rows * cols, features = pixel / 255.0f (row-major, so in [0, 1]), labels as stored.
// Every label must lie in [0, num_classes). The result passes Dataset::Validate().
StatusOr<Dataset> LoadIdx(const std::string& images_path, const std::string& labels_path,
                          int num_classes = 10);

struct TrainTest {
  Dataset train;
  Dataset test;
};

// Fashion-MNIST from `dir`: train-{images-idx3,labels-idx1}-ubyte.gz (60000 samples) and
// t10k-{images-idx3,labels-idx1}-ubyte.gz (10000 samples), 28x28 = 784 features, 10 classes.
// When a file is missing: NotFound naming it and telling the user to run
// `sudo apt-get install dataset-fashion-mnist`.
StatusOr<TrainTest> LoadFashionMnist(const std::string& dir = kFashionMnistDir);

}  // namespace sotto::learn
