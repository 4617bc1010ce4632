#include "nn/batch_norm.hpp"

#include <cmath>

namespace fastmlp {

void batch_norm_forward_train(index_t rows, index_t width, float eps, const float* x, const float* gamma,
                              const float* beta, float* y, double* mean, double* var, double* rstd) {
  const double inv_rows = 1.0 / static_cast<double>(rows);
  for (index_t j = 0; j < width; ++j) mean[j] = var[j] = 0.0;
  for (index_t r = 0; r < rows; ++r) {
    const float* xr = x + r * width;
    for (index_t j = 0; j < width; ++j) mean[j] += xr[j];
  }
  for (index_t j = 0; j < width; ++j) mean[j] *= inv_rows;
  for (index_t r = 0; r < rows; ++r) {
    const float* xr = x + r * width;
    for (index_t j = 0; j < width; ++j) {
      const double d = xr[j] - mean[j];
      var[j] += d * d;
    }
  }
  for (index_t j = 0; j < width; ++j) {
    var[j] *= inv_rows;  // biased, as PyTorch normalises with
    rstd[j] = 1.0 / std::sqrt(var[j] + static_cast<double>(eps));
  }
  for (index_t r = 0; r < rows; ++r) {
    const float* xr = x + r * width;
    float* yr = y + r * width;
    if (gamma) {
      for (index_t j = 0; j < width; ++j) yr[j] = static_cast<float>((xr[j] - mean[j]) * rstd[j] * gamma[j] + beta[j]);
    } else {
      for (index_t j = 0; j < width; ++j) yr[j] = static_cast<float>((xr[j] - mean[j]) * rstd[j]);
    }
  }
}

void batch_norm_forward_inference(index_t rows, index_t width, float eps, const float* x, const float* gamma,
                                  const float* beta, const float* mean, const float* var, float* y, double* scale,
                                  double* shift) {
  for (index_t j = 0; j < width; ++j) {
    const double s = 1.0 / std::sqrt(static_cast<double>(var[j]) + static_cast<double>(eps));
    scale[j] = gamma ? s * gamma[j] : s;
    shift[j] = (beta ? static_cast<double>(beta[j]) : 0.0) - mean[j] * scale[j];
  }
  for (index_t r = 0; r < rows; ++r) {
    const float* xr = x + r * width;
    float* yr = y + r * width;
    for (index_t j = 0; j < width; ++j) yr[j] = static_cast<float>(xr[j] * scale[j] + shift[j]);
  }
}

void batch_norm_backward(index_t rows, index_t width, const float* x, const float* gamma, const double* mean,
                         const double* rstd, const float* dy, float* dx, float* dgamma, float* dbeta, double* acc) {
  double* sum_dy = acc;
  double* sum_dy_xhat = acc + width;
  for (index_t j = 0; j < width; ++j) sum_dy[j] = sum_dy_xhat[j] = 0.0;
  for (index_t r = 0; r < rows; ++r) {
    const float* xr = x + r * width;
    const float* dyr = dy + r * width;
    for (index_t j = 0; j < width; ++j) {
      sum_dy[j] += dyr[j];
      sum_dy_xhat[j] += dyr[j] * ((xr[j] - mean[j]) * rstd[j]);
    }
  }
  if (dgamma) {
    for (index_t j = 0; j < width; ++j) {
      dbeta[j] = static_cast<float>(sum_dy[j]);
      dgamma[j] = static_cast<float>(sum_dy_xhat[j]);
    }
  }
  if (!dx) return;
  const double inv_rows = 1.0 / static_cast<double>(rows);
  for (index_t j = 0; j < width; ++j) {
    sum_dy[j] *= inv_rows;
    sum_dy_xhat[j] *= inv_rows;
  }
  for (index_t r = 0; r < rows; ++r) {
    const float* xr = x + r * width;
    const float* dyr = dy + r * width;
    float* dxr = dx + r * width;
    for (index_t j = 0; j < width; ++j) {
      const double xhat = (xr[j] - mean[j]) * rstd[j];
      const double k = gamma ? gamma[j] * rstd[j] : rstd[j];
      dxr[j] = static_cast<float>(k * (dyr[j] - sum_dy[j] - xhat * sum_dy_xhat[j]));
    }
  }
}

void batch_norm_update_running(index_t rows, index_t width, double factor, const double* mean, const double* var,
                               float* running_mean, float* running_var) {
  const double unbias = static_cast<double>(rows) / static_cast<double>(rows - 1);
  const double m = factor;
  for (index_t j = 0; j < width; ++j) {
    running_mean[j] = static_cast<float>((1.0 - m) * running_mean[j] + m * mean[j]);
    running_var[j] = static_cast<float>((1.0 - m) * running_var[j] + m * (var[j] * unbias));
  }
}

}  // namespace fastmlp
