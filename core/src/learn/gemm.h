#pragma once

// Gemm: C = op(A) * op(B) for row-major float matrices in caller memory, with the packing
// workspace owned by the object and reused from call to call.
//
// Eigen's own `C.noalias() = A * B` packs its operands into panels that it allocates on the heap
// for every product whose panel exceeds EIGEN_STACK_ALLOCATION_LIMIT (128 KiB): the forward pass
// of a 784 -> 128 layer at batch 32 already does. Models promise that a step of a fixed batch
// size never allocates, so their large products go through a Gemm, which picks the blocking that
// Eigen would pick for the shape (so results do not depend on earlier calls) but packs into
// panels it keeps, growing them only when a product needs more than any before.
//
// A Gemm is not thread-safe; each model owns its own (one per product site).

#include <cstddef>
#include <memory>

namespace sotto::learn {

class Gemm {
 public:
  Gemm();
  ~Gemm();
  Gemm(Gemm&&) noexcept;
  Gemm& operator=(Gemm&&) noexcept;

  // C (m x n, row stride ldc) = op(A) * op(B), or C += op(A) * op(B) when `accumulate`.
  // op(A) is m x k: A itself (m x k, row stride lda) or, when `transpose_a`, the transpose of a
  // stored k x m matrix (row stride lda). Likewise op(B) is k x n. C must not overlap A or B.
  void Multiply(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k, const float* a,
                size_t lda, const float* b, size_t ldb, float* c, size_t ldc,
                bool accumulate = false);

 private:
  class Workspace;
  std::unique_ptr<Workspace> workspace_;
};

}  // namespace sotto::learn
