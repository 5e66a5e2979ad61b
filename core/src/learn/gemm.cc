#include "learn/gemm.h"

#include <Eigen/Core>
#include <algorithm>
#include <vector>

#include "sotto/base/check.h"

// Eigen 3.4 exposes its blocked GEMM only as internal::general_matrix_matrix_product, which
// takes the packing workspace (a level3_blocking) from its caller; that is what lets a Gemm keep
// the workspace between calls. The internal signature is Eigen 3.4's; any other version takes
// the public `noalias()` path below, which is equally correct but may allocate per product.
#if EIGEN_WORLD_VERSION == 3 && EIGEN_MAJOR_VERSION == 4
#define SOTTO_GEMM_OWNS_WORKSPACE 1
#else
#define SOTTO_GEMM_OWNS_WORKSPACE 0
#endif

namespace sotto::learn {
namespace {

using Index = Eigen::Index;

#if SOTTO_GEMM_OWNS_WORKSPACE

// C += A * B where each operand's storage order is a template argument, as Eigen's product
// evaluator would call it for row-major maps.
template <int kLhsOrder, int kRhsOrder>
void RunGemm(Index m, Index n, Index k, const float* a, Index lda, const float* b, Index ldb,
             float* c, Index ldc, Eigen::internal::level3_blocking<float, float>& blocking) {
  Eigen::internal::general_matrix_matrix_product<Index, float, kLhsOrder, false, float, kRhsOrder,
                                                 false, Eigen::RowMajor, 1>::run(m, n, k, a, lda, b,
                                                                                 ldb, c, 1, ldc,
                                                                                 1.0f, blocking,
                                                                                 nullptr);
}

#else

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstStrided = Eigen::Map<const RowMatrix, Eigen::Unaligned, Eigen::OuterStride<>>;
using Strided = Eigen::Map<RowMatrix, Eigen::Unaligned, Eigen::OuterStride<>>;

#endif

}  // namespace

#if SOTTO_GEMM_OWNS_WORKSPACE
// Eigen's blocking for one product over packing panels that persist between products.
class Gemm::Workspace final : public Eigen::internal::level3_blocking<float, float> {
 public:
  // Picks the blocking Eigen's product evaluator would for an m x n x k row-major product and
  // grows the panels to fit it.
  void Prepare(Index m, Index n, Index k) {
    // A row-major C = A B runs as the column-major C^T = B^T A^T, so the kernel sees n rows and
    // m columns (as gemm_blocking_space<RowMajor> arranges it).
    m_mc = n;
    m_nc = m;
    m_kc = k;
    Eigen::internal::computeProductBlockingSizes<float, float, 1>(m_kc, m_mc, m_nc, Index{1});
    GrowTo(lhs_panel_, static_cast<size_t>(m_mc * m_kc));
    GrowTo(rhs_panel_, static_cast<size_t>(m_kc * m_nc));
    m_blockA = lhs_panel_.data();
    m_blockB = rhs_panel_.data();
  }

 private:
  using Panel = std::vector<float, Eigen::aligned_allocator<float>>;  // packing stores align
  static void GrowTo(Panel& panel, size_t size) {
    if (panel.size() < size) {
      panel = Panel();  // release the old panel before taking the larger one
      panel.resize(size);
    }
  }
  Panel lhs_panel_;
  Panel rhs_panel_;
};
#else
class Gemm::Workspace {};
#endif

Gemm::Gemm() = default;
Gemm::~Gemm() = default;
Gemm::Gemm(Gemm&&) noexcept = default;
Gemm& Gemm::operator=(Gemm&&) noexcept = default;

void Gemm::Multiply(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k,
                    const float* a, size_t lda, const float* b, size_t ldb, float* c, size_t ldc,
                    bool accumulate) {
  SOTTO_DCHECK(ldc >= n);
  SOTTO_DCHECK(lda >= (transpose_a ? m : k));
  SOTTO_DCHECK(ldb >= (transpose_b ? k : n));
  if (m == 0 || n == 0) {
    return;
  }
  if (!accumulate) {
    for (size_t i = 0; i < m; ++i) {
      std::fill_n(c + i * ldc, n, 0.0f);
    }
  }
  if (k == 0) {
    return;
  }
  const Index im = static_cast<Index>(m);
  const Index in = static_cast<Index>(n);
  const Index ik = static_cast<Index>(k);
  const Index ilda = static_cast<Index>(lda);
  const Index ildb = static_cast<Index>(ldb);
  const Index ildc = static_cast<Index>(ldc);
#if SOTTO_GEMM_OWNS_WORKSPACE
  if (workspace_ == nullptr) {
    workspace_ = std::make_unique<Workspace>();
  }
  Workspace& blocking = *workspace_;
  blocking.Prepare(im, in, ik);
  // A row-major matrix read transposed is a column-major one with the same stride.
  constexpr int kRow = Eigen::RowMajor;
  constexpr int kCol = Eigen::ColMajor;
  if (!transpose_a && !transpose_b) {
    RunGemm<kRow, kRow>(im, in, ik, a, ilda, b, ildb, c, ildc, blocking);
  } else if (!transpose_a && transpose_b) {
    RunGemm<kRow, kCol>(im, in, ik, a, ilda, b, ildb, c, ildc, blocking);
  } else if (transpose_a && !transpose_b) {
    RunGemm<kCol, kRow>(im, in, ik, a, ilda, b, ildb, c, ildc, blocking);
  } else {
    RunGemm<kCol, kCol>(im, in, ik, a, ilda, b, ildb, c, ildc, blocking);
  }
#else
  Strided out(c, im, in, Eigen::OuterStride<>(ildc));
  const Index a_rows = transpose_a ? ik : im;
  const Index a_cols = transpose_a ? im : ik;
  const Index b_rows = transpose_b ? in : ik;
  const Index b_cols = transpose_b ? ik : in;
  ConstStrided lhs(a, a_rows, a_cols, Eigen::OuterStride<>(ilda));
  ConstStrided rhs(b, b_rows, b_cols, Eigen::OuterStride<>(ildb));
  if (!transpose_a && !transpose_b) {
    out.noalias() += lhs * rhs;
  } else if (!transpose_a && transpose_b) {
    out.noalias() += lhs * rhs.transpose();
  } else if (transpose_a && !transpose_b) {
    out.noalias() += lhs.transpose() * rhs;
  } else {
    out.noalias() += lhs.transpose() * rhs.transpose();
  }
#endif
}

}  // namespace sotto::learn
