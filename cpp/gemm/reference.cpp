#include "fastmlp/gemm.hpp"

namespace fastmlp {

void gemm_reference(index_t m, index_t n, index_t k, float alpha, ConstStrided a, ConstStrided b, float beta,
                    Strided c) {
  for (index_t i = 0; i < m; ++i) {
    for (index_t j = 0; j < n; ++j) {
      double sum = 0.0;
      for (index_t p = 0; p < k; ++p) sum += static_cast<double>(a(i, p)) * static_cast<double>(b(p, j));
      const float product = static_cast<float>(alpha * sum);
      c(i, j) = beta == 0.0f ? product : product + beta * c(i, j);
    }
  }
}

}  // namespace fastmlp
