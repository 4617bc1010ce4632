#include "nn/layer_norm.hpp"

#include <cmath>

namespace fastmlp {

void layer_norm_forward(index_t rows, index_t width, float eps, const float* x, const float* gamma, const float* beta,
                        float* y, double* mean, double* rstd) {
  const double inv_width = 1.0 / static_cast<double>(width);
  for (index_t r = 0; r < rows; ++r) {
    const float* xr = x + r * width;
    float* yr = y + r * width;
    double sum = 0.0;
    for (index_t j = 0; j < width; ++j) sum += xr[j];
    const double m = sum * inv_width;
    double sq = 0.0;
    for (index_t j = 0; j < width; ++j) {
      const double d = xr[j] - m;
      sq += d * d;
    }
    const double s = 1.0 / std::sqrt(sq * inv_width + static_cast<double>(eps));  // biased variance, as PyTorch
    mean[r] = m;
    rstd[r] = s;
    if (gamma) {
      for (index_t j = 0; j < width; ++j) yr[j] = static_cast<float>((xr[j] - m) * s * gamma[j] + beta[j]);
    } else {
      for (index_t j = 0; j < width; ++j) yr[j] = static_cast<float>((xr[j] - m) * s);
    }
  }
}

void layer_norm_backward(index_t rows, index_t width, const float* x, const float* gamma, const double* mean,
                         const double* rstd, const float* dy, float* dx, float* dgamma, float* dbeta) {
  if (dgamma) {
    for (index_t j = 0; j < width; ++j) dgamma[j] = 0.0f;
    for (index_t j = 0; j < width; ++j) dbeta[j] = 0.0f;
  }
  const double inv_width = 1.0 / static_cast<double>(width);
  for (index_t r = 0; r < rows; ++r) {
    const float* xr = x + r * width;
    const float* dyr = dy + r * width;
    const double m = mean[r];
    const double s = rstd[r];
    if (dgamma) {
      for (index_t j = 0; j < width; ++j) {
        dgamma[j] += static_cast<float>(dyr[j] * ((xr[j] - m) * s));
        dbeta[j] += dyr[j];
      }
    }
    if (!dx) continue;
    // g = dy * gamma; a = mean(g); b = mean(g * xhat); dx = rstd * (g - a - xhat * b).
    double sum_g = 0.0;
    double sum_gx = 0.0;
    for (index_t j = 0; j < width; ++j) {
      const double g = gamma ? static_cast<double>(dyr[j]) * gamma[j] : static_cast<double>(dyr[j]);
      sum_g += g;
      sum_gx += g * ((xr[j] - m) * s);
    }
    const double a = sum_g * inv_width;
    const double b = sum_gx * inv_width;
    float* dxr = dx + r * width;
    for (index_t j = 0; j < width; ++j) {
      const double g = gamma ? static_cast<double>(dyr[j]) * gamma[j] : static_cast<double>(dyr[j]);
      dxr[j] = static_cast<float>(s * (g - a - ((xr[j] - m) * s) * b));
    }
  }
}

}  // namespace fastmlp
