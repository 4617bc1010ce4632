#include "nn/layer_norm.hpp"

#include <cmath>

namespace fastmlp {

void layer_norm_forward(index_t rows, index_t width, float eps, const float* x, const float* gamma, const float* beta,
                        float* y, float* mean, float* rstd) {
  const double inv_width = 1.0 / static_cast<double>(width);
  for (index_t r = 0; r < rows; ++r) {
    const float* xr = x + r * width;
    float* yr = y + r * width;
    double sum = 0.0;
    for (index_t j = 0; j < width; ++j) sum += xr[j];
    const double mu = sum * inv_width;
    double sq = 0.0;
    for (index_t j = 0; j < width; ++j) {
      const double d = static_cast<double>(xr[j]) - mu;
      sq += d * d;
    }
    const double var = sq * inv_width;  // biased, as PyTorch
    const auto m = static_cast<float>(mu);
    const auto s = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
    mean[r] = m;
    rstd[r] = s;
    if (gamma) {
      for (index_t j = 0; j < width; ++j) yr[j] = (xr[j] - m) * s * gamma[j] + beta[j];
    } else {
      for (index_t j = 0; j < width; ++j) yr[j] = (xr[j] - m) * s;
    }
  }
}

void layer_norm_backward(index_t rows, index_t width, const float* x, const float* gamma, const float* mean,
                         const float* rstd, const float* dy, float* dx, float* dgamma, float* dbeta) {
  if (dgamma) {
    for (index_t j = 0; j < width; ++j) dgamma[j] = 0.0f;
    for (index_t j = 0; j < width; ++j) dbeta[j] = 0.0f;
  }
  const double inv_width = 1.0 / static_cast<double>(width);
  for (index_t r = 0; r < rows; ++r) {
    const float* xr = x + r * width;
    const float* dyr = dy + r * width;
    const float m = mean[r];
    const float s = rstd[r];
    if (dgamma) {
      for (index_t j = 0; j < width; ++j) {
        dgamma[j] += dyr[j] * ((xr[j] - m) * s);
        dbeta[j] += dyr[j];
      }
    }
    if (!dx) continue;
    // g = dy * gamma; a = mean(g); b = mean(g * xhat); dx = rstd * (g - a - xhat * b).
    double sum_g = 0.0;
    double sum_gx = 0.0;
    for (index_t j = 0; j < width; ++j) {
      const float g = gamma ? dyr[j] * gamma[j] : dyr[j];
      sum_g += g;
      sum_gx += static_cast<double>(g) * static_cast<double>((xr[j] - m) * s);
    }
    const auto a = static_cast<float>(sum_g * inv_width);
    const auto b = static_cast<float>(sum_gx * inv_width);
    float* dxr = dx + r * width;
    for (index_t j = 0; j < width; ++j) {
      const float g = gamma ? dyr[j] * gamma[j] : dyr[j];
      const float xhat = (xr[j] - m) * s;
      dxr[j] = s * (g - a - xhat * b);
    }
  }
}

}  // namespace fastmlp
