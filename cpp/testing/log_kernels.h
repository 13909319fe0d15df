// Test only (softlib._core_testing.vector_log): the vector logs of the paths that have them.
#pragma once

#include <cstddef>

namespace softlib::testing {

#if defined(SOFTLIB_X86)
// y_i = log x_i for positive normal x_i, by the AVX-512 double vector log (the CPU must have it).
void log_f64_avx512(const double* x, double* y, std::size_t n);
#endif

}  // namespace softlib::testing
