// Tests of GD-SEC (sotto/core/compress/gdsec.h): the server's fixed-point h equals the sum of
// the workers' h_m bit for bit over long runs (through the wire codec), each Encode follows its
// selection rule and conserves v = sent + e exactly, linear convergence on a strongly convex
// quadratic at the rate of full GD with a fraction of the coordinates sent, refused inputs,
// steps pinned bit for bit to a reference hash, and Undo() against restoring a snapshot.
// Every randomized test uses a fixed seed and names it in its failure messages.

#include "sotto/core/compress/gdsec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "sotto/base/random.h"
#include "sotto/core/compress/compressor.h"
#include "sotto/core/compress/sparse_codec.h"

namespace sotto::compress {
namespace {

uint32_t Bits(float x) { return std::bit_cast<uint32_t>(x); }

float Wire(float a, ValueCoding coding) {
  switch (coding) {
    case ValueCoding::kFp16:
      return HalfToFloat(FloatToHalf(a));
    case ValueCoding::kBf16:
      return Bfloat16ToFloat(FloatToBfloat16(a));
    default:
      return a;
  }
}

// The integer sum of the workers' h_m, modulo 2^64 as GD-SEC keeps it.
std::vector<int64_t> SumOfH(const std::vector<std::unique_ptr<GdSecClient>>& clients, size_t dim) {
  std::vector<uint64_t> sum(dim, 0);
  for (const auto& c : clients) {
    for (size_t i = 0; i < dim; ++i) {
      sum[i] += static_cast<uint64_t>(c->h_fixed()[i]);
    }
  }
  return std::vector<int64_t>(sum.begin(), sum.end());
}

enum class RuleVariant { kThreshold, kNormThreshold, kTopK };

std::string RuleName(RuleVariant r) {
  switch (r) {
    case RuleVariant::kThreshold:
      return "threshold";
    case RuleVariant::kNormThreshold:
      return "norm";
    case RuleVariant::kTopK:
      return "topk";
  }
  return "";
}

GdSecOptions OptionsFor(RuleVariant rule, double beta, ValueCoding coding) {
  GdSecOptions o;
  o.beta = beta;
  o.rule = rule == RuleVariant::kTopK ? GdSecRule::kTopK : GdSecRule::kThreshold;
  o.norm_threshold = rule == RuleVariant::kNormThreshold;
  o.xi = 2.0;
  o.density = 0.5;
  o.value_coding = coding;
  return o;
}

// ---- (1) The server's h is the sum of the workers' h_m, bit for bit -------------------------

using SumParam = std::tuple<double, RuleVariant, ValueCoding>;
class GdSecSumTest : public ::testing::TestWithParam<SumParam> {};

TEST_P(GdSecSumTest, ServerHEqualsSumOfWorkerH) {
  const auto [beta, rule, coding] = GetParam();
  constexpr size_t kDim = 48;
  constexpr size_t kWorkers = 10;
  constexpr int kSteps = 200;
  const uint64_t seed = 7000 + static_cast<uint64_t>(beta * 10) * 100 +
                        static_cast<uint64_t>(rule) * 10 + static_cast<uint64_t>(coding);
  SCOPED_TRACE("seed " + std::to_string(seed));
  const GdSecOptions options = OptionsFor(rule, beta, coding);
  Prng rng(seed);

  std::vector<std::unique_ptr<GdSecClient>> clients;
  std::vector<std::vector<float>> offset(kWorkers, std::vector<float>(kDim));
  for (size_t m = 0; m < kWorkers; ++m) {
    auto c = GdSecClient::Create(options, kDim);
    ASSERT_TRUE(c.ok()) << c.status();
    clients.push_back(std::move(*c));
    for (float& v : offset[m]) {
      v = static_cast<float>(rng.Normal());
    }
  }
  GdSecServer server(options, kDim);
  std::vector<float> movement;  // empty in the first step
  std::vector<float> gradient(kDim);
  std::vector<float> estimate(kDim);
  std::vector<int64_t> sum_q(kDim);
  SparseUpdate sent;
  EncodeOptions encode_options;
  encode_options.value_coding = coding;
  const DecodeLimits limits{kDim, kDim};

  for (int step = 0; step < kSteps; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    std::fill(sum_q.begin(), sum_q.end(), 0);
    for (size_t m = 0; m < kWorkers; ++m) {
      // Random gradients: a worker-specific mean, fresh noise every step.
      for (size_t i = 0; i < kDim; ++i) {
        gradient[i] = offset[m][i] + static_cast<float>(0.3 * rng.Normal());
      }
      ASSERT_TRUE(clients[m]->Encode(gradient, movement, &sent).ok());
      // Through the wire, as in a deployment.
      auto bytes = EncodeSparse(kDim, sent.indices, sent.values, encode_options);
      ASSERT_TRUE(bytes.ok()) << bytes.status();
      auto decoded = DecodeSparse(*bytes, limits);
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      ASSERT_TRUE(GdSecServer::AddSent(*decoded, sum_q).ok());
    }
    ASSERT_TRUE(server.Step(sum_q, estimate).ok());
    const std::vector<int64_t> expected = SumOfH(clients, kDim);
    ASSERT_TRUE(std::equal(expected.begin(), expected.end(), server.h_fixed().begin()));
    for (float g : estimate) {
      ASSERT_TRUE(std::isfinite(g));
    }
    movement.resize(kDim);
    for (float& v : movement) {
      v = static_cast<float>(0.2 * rng.Normal());
    }
  }
  // The run went somewhere: h is not all zero.
  EXPECT_TRUE(std::any_of(server.h_fixed().begin(), server.h_fixed().end(),
                          [](int64_t h) { return h != 0; }));
}

INSTANTIATE_TEST_SUITE_P(
    All, GdSecSumTest,
    ::testing::Combine(::testing::Values(0.3, 1.0),
                       ::testing::Values(RuleVariant::kThreshold, RuleVariant::kNormThreshold,
                                         RuleVariant::kTopK),
                       ::testing::Values(ValueCoding::kFp32, ValueCoding::kFp16)),
    [](const ::testing::TestParamInfo<SumParam>& info) {
      return std::string(std::get<0>(info.param) == 1.0 ? "beta1" : "beta03") + "_" +
             RuleName(std::get<1>(info.param)) + "_" +
             (std::get<2>(info.param) == ValueCoding::kFp16 ? "fp16" : "fp32");
    });

// ---- One Encode step follows its rule --------------------------------------------------------

TEST(GdSecTest, EncodeFollowsTheRuleAndConserves) {
  constexpr size_t kDim = 300;
  for (RuleVariant rule :
       {RuleVariant::kThreshold, RuleVariant::kNormThreshold, RuleVariant::kTopK}) {
    for (ValueCoding coding : {ValueCoding::kFp32, ValueCoding::kFp16, ValueCoding::kBf16}) {
      const uint64_t seed = 50 + static_cast<uint64_t>(rule) * 10 + static_cast<uint64_t>(coding);
      SCOPED_TRACE(RuleName(rule) + " seed " + std::to_string(seed));
      const GdSecOptions options = OptionsFor(rule, 0.3, coding);
      auto created = GdSecClient::Create(options, kDim);
      ASSERT_TRUE(created.ok());
      GdSecClient& client = **created;
      const int64_t beta_q = GdSecBetaQ(options.beta);
      Prng rng(seed);
      SparseUpdate out;
      for (int step = 0; step < 6; ++step) {
        std::vector<float> g(kDim);
        std::vector<float> movement;
        for (float& v : g) {
          v = static_cast<float>(rng.Normal() * 3.0);
        }
        if (step > 0) {
          movement.resize(kDim);
          for (float& v : movement) {
            v = static_cast<float>(rng.Normal());
          }
        }
        const std::vector<int64_t> h_old(client.h_fixed().begin(), client.h_fixed().end());
        const std::vector<float> e_old(client.error().begin(), client.error().end());
        ASSERT_TRUE(client.Encode(g, movement, &out).ok());
        EXPECT_EQ(out.dim, kDim);
        EXPECT_EQ(out.format.value_coding, coding);
        ASSERT_EQ(out.values.size(), out.indices.size());

        std::vector<float> v(kDim);
        for (size_t i = 0; i < kDim; ++i) {
          v[i] = static_cast<float>(static_cast<double>(g[i]) -
                                    std::ldexp(static_cast<double>(h_old[i]), -40) +
                                    static_cast<double>(e_old[i]));
        }
        // The selected set.
        std::vector<uint32_t> expected;
        if (rule == RuleVariant::kTopK) {
          EXPECT_EQ(out.indices.size(), KForDensity(kDim, options.density));
          expected = out.indices;
          std::vector<bool> in(kDim, false);
          for (uint32_t i : out.indices) {
            in[i] = true;
          }
          float min_in = std::numeric_limits<float>::infinity();
          float max_out = 0.0f;
          for (size_t i = 0; i < kDim; ++i) {
            (in[i] ? min_in : max_out) =
                in[i] ? std::min(min_in, std::fabs(v[i])) : std::max(max_out, std::fabs(v[i]));
          }
          EXPECT_GE(min_in, max_out);
        } else if (movement.empty()) {
          for (uint32_t i = 0; i < kDim; ++i) {
            expected.push_back(i);  // first round: everything
          }
        } else {
          double sum_sq = 0.0;
          for (float m : movement) {
            sum_sq += static_cast<double>(m) * m;
          }
          const double norm_tau = options.xi * std::sqrt(sum_sq / kDim);
          for (uint32_t i = 0; i < kDim; ++i) {
            const double tau = rule == RuleVariant::kNormThreshold
                                   ? norm_tau
                                   : options.xi * std::fabs(static_cast<double>(movement[i]));
            if (std::fabs(static_cast<double>(v[i])) > tau) {
              expected.push_back(i);
            }
          }
          EXPECT_LT(expected.size(), kDim);
          EXPECT_GT(expected.size(), 0u);
        }
        EXPECT_EQ(out.indices, expected);

        // v = sent + e exactly; h moves by beta_q * q(sent) on the support only.
        std::vector<float> sent(kDim, 0.0f);
        for (size_t j = 0; j < out.indices.size(); ++j) {
          sent[out.indices[j]] = out.values[j];
          EXPECT_EQ(Bits(out.values[j]), Bits(Wire(v[out.indices[j]], coding)));
        }
        std::vector<bool> in(kDim, false);
        for (uint32_t i : out.indices) {
          in[i] = true;
        }
        for (size_t i = 0; i < kDim; ++i) {
          ASSERT_EQ(Bits(sent[i] + client.error()[i]), Bits(v[i])) << "i=" << i;
          const int64_t dh = in[i] ? beta_q * GdSecQuantize(sent[i]) : 0;
          ASSERT_EQ(client.h_fixed()[i], h_old[i] + dh) << "i=" << i;
        }
      }
      std::vector<float> h_float(kDim);
      client.HFloat(h_float);
      for (size_t i = 0; i < kDim; ++i) {
        EXPECT_EQ(h_float[i],
                  static_cast<float>(std::ldexp(static_cast<double>(client.h_fixed()[i]), -40)));
      }
    }
  }
}

TEST(GdSecTest, FixedPointHelpers) {
  EXPECT_EQ(GdSecQuantize(1.0f), int64_t{1} << 24);
  EXPECT_EQ(GdSecQuantize(-2.5f), -(int64_t{5} << 23));
  EXPECT_EQ(GdSecQuantize(0.0f), 0);
  EXPECT_EQ(GdSecQuantize(std::ldexp(1.0f, -26)), 0);
  EXPECT_EQ(GdSecQuantize(std::ldexp(1.0f, -25)), 1);  // a tie rounds away from zero
  EXPECT_EQ(GdSecQuantize(-std::ldexp(3.0f, -26)), -1);
  EXPECT_EQ(GdSecQuantize(std::ldexp(1.0f, 30)), int64_t{1} << 46);  // saturates
  EXPECT_EQ(GdSecQuantize(std::numeric_limits<float>::quiet_NaN()), 0);
  EXPECT_EQ(GdSecBetaQ(1.0), 65536);
  EXPECT_EQ(GdSecBetaQ(0.3), 19661);
  EXPECT_EQ(GdSecBetaQ(0.5), 32768);
  EXPECT_EQ(GdSecBetaQ(1e-9), 1);
}

TEST(GdSecTest, ServerGradientIsHPlusTheSum) {
  GdSecOptions options;
  options.beta = 0.5;
  GdSecServer server(options, 3);
  std::vector<float> g(3);
  const std::vector<int64_t> q1 = {int64_t{1} << 24, -(int64_t{3} << 22), 5};
  ASSERT_TRUE(server.Step(q1, g).ok());
  EXPECT_EQ(g[0], 1.0f);
  EXPECT_EQ(g[1], -0.75f);
  EXPECT_EQ(g[2], std::ldexp(5.0f, -24));
  // h = 0.5 * q1 in units of 2^-40.
  EXPECT_EQ(server.h_fixed()[0], int64_t{1} << 39);
  ASSERT_TRUE(server.Step(std::vector<int64_t>(3, 0), g).ok());
  EXPECT_EQ(g[0], 0.5f);
  EXPECT_EQ(g[1], -0.375f);
}

// ---- (2) Linear convergence on a strongly convex quadratic ------------------------------------

// sum_m f_m(x), f_m(x) = 0.5 x^T A_m x - b_m^T x, with A_m = Q diag(s * w_m) Q^T: a shared random
// rotation Q, the spectrum s log-spaced in [1, kappa] and per-worker positive weights w_m that
// sum to 1 over the workers, so sum_m A_m has eigenvalues exactly [1, kappa] (L = kappa). b_m is
// chosen so that x* is known and grad f_m(x*) = c_m, random with sum_m c_m = 0 (heterogeneous
// workers).
struct Quadratic {
  size_t dim = 0;
  size_t workers = 0;
  double lipschitz = 0.0;
  std::vector<std::vector<double>> a;  // row-major dim x dim, one per worker
  std::vector<std::vector<double>> c;  // grad f_m(x*)
  std::vector<double> x_star;

  // grad f_m(x) = A_m (x - x*) + c_m.
  void Gradient(size_t m, const std::vector<double>& x, std::vector<double>* g) const {
    const std::vector<double>& am = a[m];
    for (size_t i = 0; i < dim; ++i) {
      double sum = c[m][i];
      const double* row = &am[i * dim];
      for (size_t j = 0; j < dim; ++j) {
        sum += row[j] * (x[j] - x_star[j]);
      }
      (*g)[i] = sum;
    }
  }

  double RelativeError(const std::vector<double>& x) const {
    double num = 0.0;
    double den = 0.0;
    for (size_t i = 0; i < dim; ++i) {
      num += (x[i] - x_star[i]) * (x[i] - x_star[i]);
      den += x_star[i] * x_star[i];
    }
    return std::sqrt(num / den);
  }
};

Quadratic MakeQuadratic(uint64_t seed, size_t dim, size_t workers, double kappa) {
  Prng rng(seed);
  Quadratic p;
  p.dim = dim;
  p.workers = workers;
  p.lipschitz = kappa;
  // Q: modified Gram-Schmidt on a Gaussian matrix (columns q_j stored as rows of `q`).
  std::vector<std::vector<double>> q(dim, std::vector<double>(dim));
  for (auto& col : q) {
    for (double& v : col) {
      v = rng.Normal();
    }
  }
  for (size_t j = 0; j < dim; ++j) {
    for (size_t l = 0; l < j; ++l) {
      double dot = 0.0;
      for (size_t i = 0; i < dim; ++i) {
        dot += q[j][i] * q[l][i];
      }
      for (size_t i = 0; i < dim; ++i) {
        q[j][i] -= dot * q[l][i];
      }
    }
    double norm = 0.0;
    for (double v : q[j]) {
      norm += v * v;
    }
    norm = std::sqrt(norm);
    for (double& v : q[j]) {
      v /= norm;
    }
  }
  std::vector<double> s(dim);
  for (size_t j = 0; j < dim; ++j) {
    s[j] = std::pow(kappa, static_cast<double>(j) / static_cast<double>(dim - 1));
  }
  std::vector<std::vector<double>> w(workers, std::vector<double>(dim));
  for (size_t j = 0; j < dim; ++j) {
    double total = 0.0;
    for (size_t m = 0; m < workers; ++m) {
      w[m][j] = 0.5 + rng.Uniform();
      total += w[m][j];
    }
    for (size_t m = 0; m < workers; ++m) {
      w[m][j] /= total;
    }
  }
  p.a.assign(workers, std::vector<double>(dim * dim, 0.0));
  for (size_t m = 0; m < workers; ++m) {
    for (size_t j = 0; j < dim; ++j) {
      const double lambda = s[j] * w[m][j];
      for (size_t r = 0; r < dim; ++r) {
        const double qr = lambda * q[j][r];
        for (size_t col = 0; col < dim; ++col) {
          p.a[m][r * dim + col] += qr * q[j][col];
        }
      }
    }
  }
  p.x_star.resize(dim);
  for (double& v : p.x_star) {
    v = rng.Normal();
  }
  p.c.assign(workers, std::vector<double>(dim));
  for (size_t i = 0; i < dim; ++i) {
    double mean = 0.0;
    for (size_t m = 0; m < workers; ++m) {
      p.c[m][i] = rng.Normal();
      mean += p.c[m][i];
    }
    mean /= static_cast<double>(workers);
    for (size_t m = 0; m < workers; ++m) {
      p.c[m][i] -= mean;
    }
  }
  return p;
}

struct RunResult {
  std::vector<double> error;   // error[t] = ||x_t - x*|| / ||x*||, x_0 = 0
  std::vector<uint64_t> sent;  // coordinates sent (all workers) up to iteration t
};

RunResult RunGd(const Quadratic& p, int iterations) {
  RunResult r;
  std::vector<double> x(p.dim, 0.0);
  std::vector<double> g(p.dim);
  std::vector<double> total(p.dim);
  const double alpha = 1.0 / p.lipschitz;
  r.error.push_back(p.RelativeError(x));
  r.sent.push_back(0);
  for (int t = 0; t < iterations; ++t) {
    std::fill(total.begin(), total.end(), 0.0);
    for (size_t m = 0; m < p.workers; ++m) {
      p.Gradient(m, x, &g);
      for (size_t i = 0; i < p.dim; ++i) {
        total[i] += static_cast<double>(static_cast<float>(g[i]));  // fp32 on the wire
      }
    }
    for (size_t i = 0; i < p.dim; ++i) {
      x[i] -= alpha * total[i];
    }
    r.error.push_back(p.RelativeError(x));
    r.sent.push_back(r.sent.back() + p.workers * p.dim);
  }
  return r;
}

RunResult RunGdSec(const Quadratic& p, const GdSecOptions& options, int iterations) {
  RunResult r;
  std::vector<std::unique_ptr<GdSecClient>> clients;
  for (size_t m = 0; m < p.workers; ++m) {
    auto c = GdSecClient::Create(options, p.dim);
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) {
      return r;
    }
    clients.push_back(std::move(*c));
  }
  GdSecServer server(options, p.dim);
  const double alpha = 1.0 / p.lipschitz;
  std::vector<double> x(p.dim, 0.0);
  std::vector<double> g(p.dim);
  std::vector<float> gf(p.dim);
  std::vector<float> movement;
  std::vector<int64_t> sum_q(p.dim);
  std::vector<float> estimate(p.dim);
  SparseUpdate sent;
  r.error.push_back(p.RelativeError(x));
  r.sent.push_back(0);
  for (int t = 0; t < iterations; ++t) {
    std::fill(sum_q.begin(), sum_q.end(), 0);
    uint64_t count = 0;
    for (size_t m = 0; m < p.workers; ++m) {
      p.Gradient(m, x, &g);
      for (size_t i = 0; i < p.dim; ++i) {
        gf[i] = static_cast<float>(g[i]);
      }
      const Status s = clients[m]->Encode(gf, movement, &sent);
      if (!s.ok()) {
        ADD_FAILURE() << "iteration " << t << ", worker " << m << ": " << s;
        return r;
      }
      EXPECT_TRUE(GdSecServer::AddSent(sent, sum_q).ok());
      count += sent.indices.size();
    }
    EXPECT_TRUE(server.Step(sum_q, estimate).ok());
    movement.resize(p.dim);
    for (size_t i = 0; i < p.dim; ++i) {
      const double step = -alpha * static_cast<double>(estimate[i]);
      x[i] += step;
      movement[i] = static_cast<float>(step);
    }
    r.error.push_back(p.RelativeError(x));
    r.sent.push_back(r.sent.back() + count);
  }
  return r;
}

// First t with error[t] <= target, or -1.
int FirstBelow(const RunResult& r, double target) {
  for (size_t t = 0; t < r.error.size(); ++t) {
    if (r.error[t] <= target) {
      return static_cast<int>(t);
    }
  }
  return -1;
}

struct Rate {
  int start = -1;            // first iteration at 1e-2
  int end = -1;              // first iteration at 1e-6
  double contraction = 1.0;  // per iteration over [start, end]
};

Rate MeasureRate(const RunResult& r) {
  Rate rate;
  rate.start = FirstBelow(r, 1e-2);
  rate.end = FirstBelow(r, 1e-6);
  if (rate.start >= 0 && rate.end > rate.start) {
    rate.contraction = std::pow(r.error[rate.end] / r.error[rate.start],
                                1.0 / static_cast<double>(rate.end - rate.start));
  }
  return rate;
}

struct QuadraticCase {
  const char* name;
  GdSecOptions options;
};

TEST(GdSecTest, ConvergesLinearlyLikeGdWithFewerCoordinates) {
  constexpr uint64_t kSeed = 20220202;
  constexpr size_t kDim = 100;
  constexpr size_t kWorkers = 10;
  constexpr double kKappa = 20.0;
  constexpr int kIterations = 400;
  const Quadratic p = MakeQuadratic(kSeed, kDim, kWorkers, kKappa);

  const RunResult gd = RunGd(p, kIterations);
  const Rate gd_rate = MeasureRate(gd);
  ASSERT_GT(gd_rate.end, 0) << "seed " << kSeed << ": GD did not reach 1e-6";
  const double dense_to_target = static_cast<double>(gd.sent[gd_rate.end]);

  // xi, beta and density chosen with a margin: on this problem the threshold rule diverges
  // from about xi = 2 at beta = 0.5 (xi = 4 at beta = 1), the top-k rule below density 0.2 at
  // beta = 0.3 (0.4 at beta = 1), for the step 1/L used here.
  std::vector<QuadraticCase> cases;
  {
    GdSecOptions o;
    o.rule = GdSecRule::kThreshold;
    o.xi = 1.0;
    o.beta = 0.5;
    cases.push_back({"threshold xi=1 beta=0.5", o});
    o.norm_threshold = true;
    o.beta = 1.0;
    cases.push_back({"norm threshold xi=1 beta=1", o});
  }
  {
    GdSecOptions o;
    o.rule = GdSecRule::kTopK;
    o.density = 0.3;
    o.beta = 0.3;
    cases.push_back({"topk density=0.3 beta=0.3", o});
  }
  std::printf("seed %llu, d=%zu, %zu workers, kappa=%g, alpha=1/L\n",
              static_cast<unsigned long long>(kSeed), kDim, kWorkers, kKappa);
  std::printf(
      "GD: contraction %.5f (1 - 1/kappa = %.5f), 1e-2 -> 1e-6 in %d iterations, "
      "1e-6 at %d\n",
      gd_rate.contraction, 1.0 - 1.0 / kKappa, gd_rate.end - gd_rate.start, gd_rate.end);
  for (const QuadraticCase& c : cases) {
    SCOPED_TRACE(std::string(c.name) + ", seed " + std::to_string(kSeed));
    const RunResult sec = RunGdSec(p, c.options, kIterations);
    ASSERT_EQ(sec.error.size(), static_cast<size_t>(kIterations) + 1);
    const Rate rate = MeasureRate(sec);
    const double per_iteration =
        static_cast<double>(sec.sent.back()) / (static_cast<double>(kIterations) * kWorkers * kDim);
    const double to_target =
        rate.end > 0 ? static_cast<double>(sec.sent[rate.end]) / dense_to_target : -1.0;
    std::printf(
        "%-28s contraction %.5f, 1e-2 -> 1e-6 in %d its, 1e-6 at %d, final error %.3g, "
        "sent per iteration %.3f of dense, sent to reach 1e-6 %.3f of GD's\n",
        c.name, rate.contraction, rate.end - rate.start, rate.end, sec.error.back(), per_iteration,
        to_target);
    ASSERT_GT(rate.end, 0) << "did not reach 1e-6";
    // Linear convergence at GD's rate: at least 80% of GD's log-rate, and it stays converged.
    EXPECT_GE(std::log(rate.contraction) / std::log(gd_rate.contraction), 0.8);
    EXPECT_LE(rate.end, gd_rate.end + gd_rate.end / 4);
    EXPECT_LT(sec.error.back(), 1e-6);
    // With a clear fraction of the coordinates.
    EXPECT_LT(per_iteration, 0.45);
    EXPECT_LT(to_target, 0.45);
  }
}

// ---- (3) Refused inputs ----------------------------------------------------------------------

TEST(GdSecTest, EncodeRefusesBadInputsWithTheStateUntouched) {
  constexpr size_t kDim = 40;
  for (RuleVariant rule :
       {RuleVariant::kThreshold, RuleVariant::kNormThreshold, RuleVariant::kTopK}) {
    SCOPED_TRACE(RuleName(rule));
    auto created = GdSecClient::Create(OptionsFor(rule, 0.5, ValueCoding::kFp16), kDim);
    ASSERT_TRUE(created.ok());
    GdSecClient& client = **created;
    Prng rng(90);
    std::vector<float> g(kDim);
    std::vector<float> movement(kDim);
    for (size_t i = 0; i < kDim; ++i) {
      g[i] = static_cast<float>(rng.Normal());
      movement[i] = static_cast<float>(0.1 * rng.Normal());
    }
    SparseUpdate out;
    ASSERT_TRUE(client.Encode(g, {}, &out).ok());
    ASSERT_TRUE(client.Encode(g, movement, &out).ok());
    const std::vector<int64_t> h_before(client.h_fixed().begin(), client.h_fixed().end());
    const std::vector<float> e_before(client.error().begin(), client.error().end());
    const SparseUpdate out_before = out;
    auto untouched = [&] {
      return std::equal(h_before.begin(), h_before.end(), client.h_fixed().begin()) &&
             std::equal(e_before.begin(), e_before.end(), client.error().begin(),
                        [](float a, float b) { return Bits(a) == Bits(b); }) &&
             out.indices == out_before.indices && out.values == out_before.values;
    };

    for (float bad :
         {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
          -std::numeric_limits<float>::infinity(), 1.0e7f}) {
      std::vector<float> bad_g = g;
      bad_g[kDim - 1] = bad;
      const Status s = client.Encode(bad_g, movement, &out);
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
      EXPECT_NE(s.message().find(std::to_string(kDim - 1)), std::string_view::npos) << s;
      EXPECT_TRUE(untouched()) << bad;
    }
    std::vector<float> bad_movement = movement;
    bad_movement[3] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_EQ(client.Encode(g, bad_movement, &out).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(client.Encode(std::vector<float>(kDim - 1, 0.0f), movement, &out).code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(client.Encode(std::vector<float>(kDim + 1, 0.0f), {}, &out).code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(client.Encode(g, std::vector<float>(kDim - 1, 0.0f), &out).code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(client.Encode(g, movement, nullptr).code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(untouched());
    // Still usable afterwards.
    EXPECT_TRUE(client.Encode(g, movement, &out).ok());
  }
}

TEST(GdSecTest, BadOptionsNameTheField) {
  struct Case {
    const char* field;
    void (*mutate)(GdSecOptions&);
  };
  const Case cases[] = {
      {"beta", [](GdSecOptions& o) { o.beta = 0.0; }},
      {"beta", [](GdSecOptions& o) { o.beta = -0.5; }},
      {"beta", [](GdSecOptions& o) { o.beta = 1.01; }},
      {"beta", [](GdSecOptions& o) { o.beta = std::nan(""); }},
      {"xi", [](GdSecOptions& o) { o.xi = -1.0; }},
      {"xi", [](GdSecOptions& o) { o.xi = std::nan(""); }},
      {"xi", [](GdSecOptions& o) { o.xi = std::numeric_limits<double>::infinity(); }},
      {"density", [](GdSecOptions& o) { o.density = 0.0; }},
      {"density", [](GdSecOptions& o) { o.density = 1.5; }},
      {"density", [](GdSecOptions& o) { o.density = std::nan(""); }},
      {"value_coding", [](GdSecOptions& o) { o.value_coding = ValueCoding::kRing64; }},
      {"rule", [](GdSecOptions& o) { o.rule = static_cast<GdSecRule>(5); }},
  };
  for (const Case& c : cases) {
    GdSecOptions o;
    c.mutate(o);
    const Status s = ValidateGdSecOptions(o);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.field;
    EXPECT_NE(s.message().find(c.field), std::string_view::npos) << s;
    EXPECT_EQ(GdSecClient::Create(o, 10).status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(ValidateGdSecOptions(GdSecOptions{}).ok());
  EXPECT_EQ(GdSecClient::Create(GdSecOptions{}, 0).status().code(), StatusCode::kInvalidArgument);
}

TEST(GdSecTest, ServerRefusesMismatchesWithTheSumUntouched) {
  GdSecServer server(GdSecOptions{}, 8);
  std::vector<float> g(8);
  EXPECT_EQ(server.Step(std::vector<int64_t>(7, 0), g).code(), StatusCode::kInvalidArgument);
  std::vector<float> short_g(7);
  EXPECT_EQ(server.Step(std::vector<int64_t>(8, 0), short_g).code(), StatusCode::kInvalidArgument);

  std::vector<int64_t> sum(8, 3);
  SparseUpdate good;
  good.dim = 8;
  good.indices = {1, 5};
  good.values = {0.5f, -2.0f};
  ASSERT_TRUE(GdSecServer::AddSent(good, sum).ok());
  EXPECT_EQ(sum[1], 3 + (int64_t{1} << 23));
  EXPECT_EQ(sum[5], 3 - (int64_t{1} << 25));
  const std::vector<int64_t> before = sum;

  std::vector<SparseUpdate> bad(6, good);
  bad[0].dim = 9;                                             // dimension
  bad[1].values.pop_back();                                   // count
  bad[2].indices = {5, 1};                                    // order
  bad[3].indices = {1, 8};                                    // range
  bad[4].values[1] = std::numeric_limits<float>::infinity();  // value
  bad[5].format.value_coding = ValueCoding::kRing32;          // coding
  for (size_t j = 0; j < bad.size(); ++j) {
    EXPECT_EQ(GdSecServer::AddSent(bad[j], sum).code(), StatusCode::kInvalidArgument) << j;
    EXPECT_EQ(sum, before) << j;
  }
}

}  // namespace
}  // namespace sotto::compress

namespace sotto::compress {
namespace {

// Secure aggregation delivers only the sum of the workers' ring integers on a shared support;
// GD-SEC's server h must still equal the sum of the workers' h_m bit for bit, and what the clip
// cut off must stay in e_m.
TEST(GdSecOnSupportTest, ServerHEqualsSumOfWorkerHThroughIntegerSums) {
  constexpr uint64_t kSeed = 90210;
  constexpr size_t kDim = 500;
  constexpr size_t kWorkers = 6;
  constexpr double kClip = 0.75;
  Prng rng(kSeed);
  GdSecOptions options;
  options.beta = 0.3;
  std::vector<std::unique_ptr<GdSecClient>> workers;
  for (size_t m = 0; m < kWorkers; ++m) {
    auto w = GdSecClient::Create(options, kDim);
    ASSERT_TRUE(w.ok()) << w.status();
    workers.push_back(std::move(w).value());
  }
  GdSecServer server(options, kDim);
  std::vector<float> gradient(kDim), estimate(kDim);
  const int64_t max_q = static_cast<int64_t>(std::ceil(kClip * 0x1p24));
  for (int step = 0; step < 60; ++step) {
    // A fresh support each step, as a shared_random policy gives.
    std::vector<uint32_t> support;
    for (uint32_t i = 0; i < kDim; ++i) {
      if (rng.Uniform() < 0.2) support.push_back(i);
    }
    std::vector<int64_t> sum_q(kDim, 0);
    for (size_t m = 0; m < kWorkers; ++m) {
      for (float& g : gradient) g = static_cast<float>(rng.Normal());
      const std::vector<float> e_old(workers[m]->error().begin(), workers[m]->error().end());
      std::vector<float> h_old(kDim);
      workers[m]->HFloat(h_old);
      std::vector<int64_t> q(support.size());
      ASSERT_TRUE(workers[m]->EncodeOnSupport(gradient, support, kClip, q).ok());
      for (size_t j = 0; j < support.size(); ++j) {
        ASSERT_LE(std::llabs(q[j]), max_q) << "seed " << kSeed << ", step " << step;
        sum_q[support[j]] += q[j];
      }
    }
    ASSERT_TRUE(server.Step(sum_q, estimate).ok());
    std::vector<int64_t> total(kDim, 0);
    for (const auto& w : workers) {
      for (size_t i = 0; i < kDim; ++i) total[i] += w->h_fixed()[i];
    }
    ASSERT_EQ(std::vector<int64_t>(server.h_fixed().begin(), server.h_fixed().end()), total)
        << "seed " << kSeed << ", step " << step;
  }
}

TEST(GdSecOnSupportTest, ClippedExcessStaysInTheError) {
  GdSecOptions options;
  options.beta = 1.0;
  auto w = GdSecClient::Create(options, 4);
  ASSERT_TRUE(w.ok());
  const std::vector<float> gradient = {3.0f, -0.25f, 5.0f, -7.0f};
  const std::vector<uint32_t> support = {0, 1, 3};
  std::vector<int64_t> q(3);
  ASSERT_TRUE((*w)->EncodeOnSupport(gradient, support, 1.0, q).ok());
  EXPECT_EQ(q[0], int64_t{1} << 24);     // 3 clipped to 1
  EXPECT_EQ(q[1], -(int64_t{1} << 22));  // -0.25 exactly
  EXPECT_EQ(q[2], -(int64_t{1} << 24));  // -7 clipped to -1
  const auto e = (*w)->error();
  EXPECT_EQ(e[0], 2.0f);
  EXPECT_EQ(e[1], 0.0f);
  EXPECT_EQ(e[2], 5.0f);  // off the support: all of it
  EXPECT_EQ(e[3], -6.0f);
  EXPECT_EQ((*w)->h_fixed()[0], (int64_t{1} << 24) << kGdSecBetaBits);
  EXPECT_EQ((*w)->h_fixed()[2], 0);
}

TEST(GdSecOnSupportTest, RefusesBadInputsAndRestoresSnapshots) {
  GdSecOptions options;
  auto w = GdSecClient::Create(options, 8);
  ASSERT_TRUE(w.ok());
  std::vector<float> gradient(8, 0.5f);
  std::vector<int64_t> q(2);
  const GdSecClient::Snapshot before = (*w)->Save();
  EXPECT_EQ((*w)->EncodeOnSupport(gradient, std::vector<uint32_t>{3, 3}, 1.0, q).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ((*w)->EncodeOnSupport(gradient, std::vector<uint32_t>{3, 8}, 1.0, q).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ((*w)->EncodeOnSupport(gradient, std::vector<uint32_t>{3}, 1.0, q).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ((*w)->EncodeOnSupport(gradient, std::vector<uint32_t>{1, 3}, 0.0, q).code(),
            StatusCode::kInvalidArgument);
  std::vector<float> nan = gradient;
  nan[6] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ((*w)->EncodeOnSupport(nan, std::vector<uint32_t>{1, 3}, 1.0, q).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ((*w)->Save().h, before.h);
  EXPECT_EQ((*w)->Save().error, before.error);

  // A round that does not count: the state goes back to the snapshot.
  ASSERT_TRUE((*w)->EncodeOnSupport(gradient, std::vector<uint32_t>{1, 3}, 1.0, q).ok());
  EXPECT_NE((*w)->Save().h, before.h);
  ASSERT_TRUE((*w)->Restore(before).ok());
  EXPECT_EQ((*w)->Save().h, before.h);
  EXPECT_EQ((*w)->Save().error, before.error);
  GdSecClient::Snapshot wrong = before;
  wrong.h.pop_back();
  EXPECT_EQ((*w)->Restore(wrong).code(), StatusCode::kInvalidArgument);
  wrong = before;
  wrong.error[0] = INFINITY;
  EXPECT_EQ((*w)->Restore(wrong).code(), StatusCode::kInvalidArgument);
}

// ---- (4) Bit-for-bit pins and Undo ----------------------------------------------------------

// Platform-exact inputs (no libm): 24 random bits scaled by a power of two.
float ExactRandom(Prng& rng, int log2_scale) {
  const int32_t m = static_cast<int32_t>(rng.Next() >> 40) - (int32_t{1} << 23);
  return std::ldexp(static_cast<float>(m), log2_scale - 23);
}

uint64_t Fnv1a(uint64_t hash, const void* data, size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) {
    hash = (hash ^ p[i]) * 0x100000001b3ull;
  }
  return hash;
}
template <typename T>
uint64_t HashSpan(uint64_t hash, std::span<const T> v) {
  const uint64_t n = v.size();
  hash = Fnv1a(hash, &n, sizeof(n));
  return Fnv1a(hash, v.data(), v.size_bytes());
}

struct PinCase {
  const char* name;
  GdSecRule rule;
  ValueCoding coding;
  double beta;
  bool on_support;
  uint64_t hash;
};

// 60 steps of one client of dimension 1031 from a large random h (|h| up to 2^60, so that its
// double view rounds), the view of that h plus fresh noise as the gradient, a random movement
// (threshold rule; none in the first step) or a random support of about 30 %; hashes every
// output and the state after every step. Only exactly rounded arithmetic and integer
// randomness: the hash is the same on every IEEE platform.
uint64_t RunPinned(const PinCase& c, uint64_t seed) {
  constexpr size_t kDim = 1031;
  GdSecOptions options;
  options.rule = c.rule;
  options.value_coding = c.coding;
  options.beta = c.beta;
  options.xi = 1.5;
  options.density = 0.1;
  auto created = GdSecClient::Create(options, kDim);
  if (!created.ok()) {
    return 0;
  }
  GdSecClient& client = **created;
  Prng rng(seed);
  GdSecClient::Snapshot start;
  std::vector<float> offset(kDim);
  for (size_t i = 0; i < kDim; ++i) {
    const uint64_t shift = 4 + rng.UniformInt(20);
    start.h.push_back(static_cast<int64_t>(rng.Next() >> shift) - (int64_t{1} << (63 - shift)));
    start.error.push_back(ExactRandom(rng, -4));
    offset[i] = static_cast<float>(std::ldexp(static_cast<double>(start.h[i]), -40));
  }
  if (!client.Restore(start).ok()) {
    return 0;
  }
  uint64_t hash = 0xcbf29ce484222325ull;
  std::vector<float> gradient(kDim);
  std::vector<float> movement;
  std::vector<uint32_t> support;
  std::vector<int64_t> q;
  SparseUpdate out;
  for (int step = 0; step < 60; ++step) {
    for (size_t i = 0; i < kDim; ++i) {
      gradient[i] = offset[i] + ExactRandom(rng, 0);
    }
    Status status;
    if (c.on_support) {
      support.clear();
      for (uint32_t i = 0; i < kDim; ++i) {
        if (rng.UniformInt(10) < 3) {
          support.push_back(i);
        }
      }
      q.assign(support.size(), 0);
      status = client.EncodeOnSupport(gradient, support, 1.0, q);
      hash = HashSpan<int64_t>(hash, q);
    } else {
      status = client.Encode(gradient, movement, &out);
      hash = HashSpan<uint32_t>(hash, out.indices);
      hash = HashSpan<float>(hash, out.values);
    }
    if (!status.ok()) {
      return 0;
    }
    hash = HashSpan<int64_t>(hash, client.h_fixed());
    hash = HashSpan<float>(hash, client.error());
    movement.resize(kDim);
    for (float& m : movement) {
      m = ExactRandom(rng, -1);
    }
  }
  return hash;
}

// The hashes were computed by the implementation before e_m was double-buffered and the
// difference vectorized (single-buffered, scalar int64 -> double): any change to the
// arithmetic of a step shows here.
TEST(GdSecPinTest, StepsAreBitIdenticalToThePinnedReference) {
  const PinCase cases[] = {
      {"threshold_fp32_beta1", GdSecRule::kThreshold, ValueCoding::kFp32, 1.0, false,
       0x1f7afb8e6837977bull},
      {"threshold_fp16_beta03", GdSecRule::kThreshold, ValueCoding::kFp16, 0.3, false,
       0xe6fa9d75495dcad4ull},
      {"topk_fp32_beta05", GdSecRule::kTopK, ValueCoding::kFp32, 0.5, false, 0x047af7fea7e86222ull},
      {"topk_bf16_beta03", GdSecRule::kTopK, ValueCoding::kBf16, 0.3, false, 0x3f005e894374e637ull},
      {"support_beta03", GdSecRule::kTopK, ValueCoding::kFp32, 0.3, true, 0x7b665b3eb5046c61ull},
  };
  uint64_t seed = 4242;
  for (const PinCase& c : cases) {
    const uint64_t hash = RunPinned(c, seed);
    EXPECT_EQ(hash, c.hash) << c.name << ", seed " << seed << ": got 0x" << std::hex << hash;
    ++seed;
  }
}

TEST(GdSecTest, HValueIsTheCastBitForBit) {
  constexpr uint64_t kSeed = 515;
  Prng rng(kSeed);
  std::vector<int64_t> values = {0,
                                 1,
                                 -1,
                                 std::numeric_limits<int64_t>::min(),
                                 std::numeric_limits<int64_t>::min() + 1,
                                 std::numeric_limits<int64_t>::max(),
                                 std::numeric_limits<int64_t>::max() - 1,
                                 (int64_t{1} << 53) + 1,  // ties between doubles
                                 (int64_t{1} << 54) + 2,
                                 (int64_t{1} << 54) + 6,
                                 -(int64_t{1} << 53) - 1,
                                 int64_t{0xffffffff},
                                 int64_t{1} << 32,
                                 -(int64_t{1} << 32)};
  for (int i = 0; i < 200000; ++i) {
    const uint64_t shift = rng.UniformInt(64);  // every magnitude
    values.push_back(static_cast<int64_t>(rng.Next()) >> shift);
  }
  for (const int64_t h : values) {
    ASSERT_EQ(std::bit_cast<uint64_t>(GdSecHValue(h)),
              std::bit_cast<uint64_t>(static_cast<double>(h) * 0x1p-40))
        << "h = " << h << ", seed " << kSeed;
  }
}

bool SameBits(std::span<const float> a, std::span<const float> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](float x, float y) { return Bits(x) == Bits(y); });
}
bool SameState(const GdSecClient& c, const GdSecClient::Snapshot& s) {
  return std::equal(c.h_fixed().begin(), c.h_fixed().end(), s.h.begin(), s.h.end()) &&
         SameBits(c.error(), s.error);
}
bool SameState(const GdSecClient& a, const GdSecClient& b) {
  return std::equal(a.h_fixed().begin(), a.h_fixed().end(), b.h_fixed().begin(),
                    b.h_fixed().end()) &&
         SameBits(a.error(), b.error());
}

// Two clients see the same seeded steps: `undo` takes a round that does not count back with
// Undo(), `snap` (the client's old way) with Restore of a snapshot taken before the step. Steps
// mix Encode (threshold rules: a fresh first round, with no movement, every 50 steps: every
// coordinate is sent), EncodeOnSupport on random supports, and failing steps; after every step
// and every rollback the two states are identical bit for bit, and the checkpoint pair
// (SaveBeforeStep, Save) restored into a third client with RestoreWithUndo undoes to the same.
using UndoParam = std::tuple<RuleVariant, ValueCoding>;
class GdSecUndoTest : public ::testing::TestWithParam<UndoParam> {};

TEST_P(GdSecUndoTest, UndoEqualsRestoringASnapshot) {
  const auto [rule, coding] = GetParam();
  constexpr size_t kDim = 257;  // an odd size: vector tails
  constexpr int kSteps = 400;
  const uint64_t seed = 31000 + static_cast<uint64_t>(rule) * 10 + static_cast<uint64_t>(coding);
  std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  SCOPED_TRACE("seed " + std::to_string(seed));
  GdSecOptions options = OptionsFor(rule, 0.3, coding);
  options.density = 0.1;
  auto a = GdSecClient::Create(options, kDim);
  auto b = GdSecClient::Create(options, kDim);
  auto c = GdSecClient::Create(options, kDim);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  GdSecClient& undo = **a;
  GdSecClient& snap = **b;
  GdSecClient& mirror = **c;
  Prng rng(seed);
  std::vector<float> offset(kDim);
  for (float& o : offset) {
    o = ExactRandom(rng, 1);
  }
  std::vector<float> gradient(kDim);
  std::vector<float> movement;
  SparseUpdate out_undo;
  SparseUpdate out_snap;
  GdSecClient::Snapshot before_step;
  int steps_ok = 0;
  int undone = 0;
  for (int step = 0; step < kSteps; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    const bool first_round = step % 50 == 0;
    if (first_round) {
      movement.clear();
    } else {
      movement.resize(kDim);
      for (float& m : movement) {
        m = ExactRandom(rng, -1);
      }
    }
    for (size_t i = 0; i < kDim; ++i) {
      gradient[i] = offset[i] + ExactRandom(rng, 0);
    }
    const uint64_t kind = rng.UniformInt(10);  // 0-6 Encode, 7-8 EncodeOnSupport, 9 failing
    const GdSecClient::Snapshot saved = snap.Save();
    Status su;
    Status ss;
    if (kind <= 6) {
      su = undo.Encode(gradient, movement, &out_undo);
      ss = snap.Encode(gradient, movement, &out_snap);
      if (su.ok()) {
        ASSERT_EQ(out_undo.indices, out_snap.indices);
        ASSERT_TRUE(SameBits(out_undo.values, out_snap.values));
      }
    } else if (kind <= 8) {
      std::vector<uint32_t> support;
      for (uint32_t i = 0; i < kDim; ++i) {
        if (rng.UniformInt(4) == 0) {
          support.push_back(i);
        }
      }
      std::vector<int64_t> qu(support.size());
      std::vector<int64_t> qs(support.size());
      su = undo.EncodeOnSupport(gradient, support, 1.0, qu);
      ss = snap.EncodeOnSupport(gradient, support, 1.0, qs);
      ASSERT_EQ(qu, qs);
    } else {
      gradient[rng.UniformInt(kDim)] = std::numeric_limits<float>::quiet_NaN();
      su = undo.Encode(gradient, movement, &out_undo);
      ss = snap.Encode(gradient, movement, &out_snap);
      EXPECT_EQ(su.code(), StatusCode::kInvalidArgument);
    }
    ASSERT_EQ(su.code(), ss.code()) << su << " / " << ss;
    ASSERT_TRUE(SameState(undo, snap));
    if (!su.ok()) {
      // A failed step changes nothing and leaves nothing to undo.
      EXPECT_FALSE(undo.CanUndo());
      EXPECT_EQ(undo.Undo().code(), StatusCode::kFailedPrecondition);
      EXPECT_EQ(undo.SaveBeforeStep(&before_step).code(), StatusCode::kFailedPrecondition);
      ASSERT_TRUE(SameState(undo, saved));
      continue;
    }
    ++steps_ok;
    ASSERT_TRUE(undo.CanUndo());
    // The checkpoint of a pending step: the state before it, without a snapshot.
    ASSERT_TRUE(undo.SaveBeforeStep(&before_step).ok());
    ASSERT_EQ(before_step.h, saved.h);
    ASSERT_TRUE(SameBits(before_step.error, saved.error));
    if (step % 7 == 0) {
      // A restart from that checkpoint: pending state plus undo back to the committed one.
      ASSERT_TRUE(mirror.RestoreWithUndo(before_step, undo.Save()).ok());
      ASSERT_TRUE(SameState(mirror, undo));
      ASSERT_TRUE(mirror.Undo().ok());
      ASSERT_TRUE(SameState(mirror, saved));
    }
    const bool counts = step != 0 && rng.UniformInt(5) < 3;
    if (counts) {
      if (rng.UniformInt(2) == 0) {
        undo.ClearUndo();
        EXPECT_FALSE(undo.CanUndo());
        EXPECT_EQ(undo.Undo().code(), StatusCode::kFailedPrecondition);
      }
    } else {
      ++undone;
      ASSERT_TRUE(undo.Undo().ok());
      ASSERT_TRUE(snap.Restore(saved).ok());
      ASSERT_TRUE(SameState(undo, snap));
      EXPECT_FALSE(undo.CanUndo());
      EXPECT_EQ(undo.Undo().code(), StatusCode::kFailedPrecondition);  // only one step back
      ASSERT_TRUE(SameState(undo, saved));
    }
  }
  // The run was not all failures or all rollbacks.
  EXPECT_GT(steps_ok, kSteps * 3 / 4);
  EXPECT_GT(undone, kSteps / 5);
  EXPECT_LT(undone, steps_ok);
}

INSTANTIATE_TEST_SUITE_P(
    All, GdSecUndoTest,
    ::testing::Combine(
        ::testing::Values(RuleVariant::kThreshold, RuleVariant::kNormThreshold, RuleVariant::kTopK),
        ::testing::Values(ValueCoding::kFp32, ValueCoding::kFp16, ValueCoding::kBf16)),
    [](const ::testing::TestParamInfo<UndoParam>& info) {
      const ValueCoding coding = std::get<1>(info.param);
      return RuleName(std::get<0>(info.param)) + "_" +
             (coding == ValueCoding::kFp16   ? "fp16"
              : coding == ValueCoding::kBf16 ? "bf16"
                                             : "fp32");
    });

TEST(GdSecUndoTest, RefusedWhenThereIsNothingToUndo) {
  constexpr size_t kDim = 40;
  GdSecOptions options;
  options.rule = GdSecRule::kTopK;
  options.density = 0.2;
  options.beta = 0.5;
  auto created = GdSecClient::Create(options, kDim);
  ASSERT_TRUE(created.ok());
  GdSecClient& client = **created;
  std::vector<float> g(kDim);
  for (size_t i = 0; i < kDim; ++i) {
    g[i] = static_cast<float>(i % 7) - 3.0f;
  }
  SparseUpdate out;
  GdSecClient::Snapshot scratch;
  auto refused = [&](const char* when) {
    const GdSecClient::Snapshot state = client.Save();
    EXPECT_FALSE(client.CanUndo()) << when;
    EXPECT_EQ(client.Undo().code(), StatusCode::kFailedPrecondition) << when;
    EXPECT_EQ(client.SaveBeforeStep(&scratch).code(), StatusCode::kFailedPrecondition) << when;
    EXPECT_TRUE(SameState(client, state)) << when;
  };
  refused("fresh");

  ASSERT_TRUE(client.Encode(g, {}, &out).ok());
  const GdSecClient::Snapshot after_first = client.Save();
  EXPECT_TRUE(client.CanUndo());
  client.ClearUndo();
  refused("after ClearUndo");

  // A failed step (whatever the reason) ends the window of the step before it, which stays.
  const std::vector<uint32_t> support = {1, 5, 9};
  std::vector<int64_t> q(support.size());
  std::vector<float> bad = g;
  bad[3] = std::numeric_limits<float>::infinity();
  auto fails_after_a_step = [&](const char* what, const std::function<Status()>& step) {
    const GdSecClient::Snapshot before = client.Save();
    ASSERT_TRUE(client.EncodeOnSupport(g, support, 1.0, q).ok());
    const GdSecClient::Snapshot pending = client.Save();
    EXPECT_TRUE(client.CanUndo());
    EXPECT_EQ(step().code(), StatusCode::kInvalidArgument) << what;
    refused(what);
    EXPECT_TRUE(SameState(client, pending)) << what;  // the earlier step was not undone
    ASSERT_TRUE(client.Restore(before).ok());
  };
  fails_after_a_step("non-finite gradient", [&] { return client.Encode(bad, {}, &out); });
  fails_after_a_step("null out", [&] { return client.Encode(g, {}, nullptr); });
  fails_after_a_step("short gradient", [&] {
    return client.Encode(std::span<const float>(g).first(kDim - 1), {}, &out);
  });
  fails_after_a_step("bad support", [&] {
    return client.EncodeOnSupport(g, std::vector<uint32_t>{5, 1, 9}, 1.0, q);
  });
  fails_after_a_step("non-finite gradient on support",
                     [&] { return client.EncodeOnSupport(bad, support, 1.0, q); });
  EXPECT_TRUE(SameState(client, after_first));

  // Restore ends the window; a refused Restore or RestoreWithUndo changes nothing, window
  // included.
  ASSERT_TRUE(client.Encode(g, {}, &out).ok());
  GdSecClient::Snapshot wrong = after_first;
  wrong.error[2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(client.Restore(wrong).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client.RestoreWithUndo(wrong, after_first).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client.RestoreWithUndo(after_first, wrong).code(), StatusCode::kInvalidArgument);
  GdSecClient::Snapshot short_h = after_first;
  short_h.h.pop_back();
  EXPECT_EQ(client.RestoreWithUndo(short_h, after_first).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(client.CanUndo());
  ASSERT_TRUE(client.Restore(after_first).ok());
  refused("after Restore");

  // Undo of EncodeOnSupport after an Encode that counted: back to the Encode's result.
  ASSERT_TRUE(client.Encode(g, {}, &out).ok());
  const GdSecClient::Snapshot counted = client.Save();
  ASSERT_TRUE(client.EncodeOnSupport(g, support, 0.25, q).ok());
  EXPECT_FALSE(SameState(client, counted));
  ASSERT_TRUE(client.Undo().ok());
  EXPECT_TRUE(SameState(client, counted));
  refused("after Undo");
}

TEST(GdSecUndoTest, RestoreWithUndoReachesBothStates) {
  constexpr size_t kDim = 5;
  auto created = GdSecClient::Create(GdSecOptions{}, kDim);
  ASSERT_TRUE(created.ok());
  GdSecClient& client = **created;
  // Any two states, not only one step apart; h wraps modulo 2^64.
  const GdSecClient::Snapshot before{{0, std::numeric_limits<int64_t>::max(), -7, 3, 0},
                                     {0.5f, -0.0f, 1.0f, 2.0f, 3.0f}};
  const GdSecClient::Snapshot after{{0, std::numeric_limits<int64_t>::min(), 9, 3, -1},
                                    {0.25f, 0.0f, -1.0f, 2.0f, 4.0f}};
  ASSERT_TRUE(client.RestoreWithUndo(before, after).ok());
  EXPECT_TRUE(SameState(client, after));
  EXPECT_TRUE(client.CanUndo());
  GdSecClient::Snapshot saved;
  ASSERT_TRUE(client.SaveBeforeStep(&saved).ok());
  EXPECT_EQ(saved.h, before.h);
  EXPECT_TRUE(SameBits(saved.error, before.error));
  ASSERT_TRUE(client.Undo().ok());
  EXPECT_TRUE(SameState(client, before));
  EXPECT_FALSE(client.CanUndo());
}

}  // namespace
}  // namespace sotto::compress
