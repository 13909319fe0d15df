// The AVX-512 double vector log (microkernels.h, Log) alone, for its accuracy test: test only.
#include "microkernels.h"
#include "testing/log_kernels.h"
#include "x86/simd_avx512.h"

namespace softlib::testing {

void log_f64_avx512(const double* x, double* y, std::size_t n) {
  using D = avx512::F64;
  std::size_t i = 0;
  for (; i + D::W <= n; i += D::W) D::store(y + i, mk::Log<D>::of(D::load(x + i)));
  if (i < n) D::store_tail(y + i, n - i, mk::Log<D>::of(D::load_tail(x + i, n - i, 1.0)));
}

}  // namespace softlib::testing
