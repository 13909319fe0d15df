// The named kernel list: every row kernel of every code path, one line each, named
// <dtype>_<operation>[_<algorithm>]__<isa> (XNNPACK's style: f32_softmax_two_pass__avx2 is the AVX2
// Two-Pass softmax over float32). Everything that enumerates kernels is generated from these lists:
//   - SOFTLIB_ALGORITHMS: the Algorithm enum and the algorithm names (softlib._core.algorithms());
//   - SOFTLIB_ISAS: the code paths, and the dispatch from a path to its table (dispatch.cpp);
//   - SOFTLIB_KERNELS: the registry of named kernels (kernel_registry.cpp), which
//     softlib._core.kernels() lists and tests/test_kernels.py runs one by one at its tile boundaries
//     (through softlib._core_testing.run_kernel).
// X(name, isa, dtype, kind, member): `member` is the entry of the path's Kernels<T> table (kernels.h);
// kind `row` is y[0..n) = f(x[0..n)), kind `reduce` is a scalar of x[0..n); kinds `rows` and
// `reduce_rows` are the same over many rows (strided).
#pragma once

// X(name): in the order of the `algorithm` index.
#define SOFTLIB_ALGORITHMS(X) X(three_pass) X(three_pass_recompute) X(two_pass) X(online)

// X(name, lanes_f32): every code path, baseline first, with its float lanes (double has half).
#define SOFTLIB_ISAS(X) X(portable, 1) X(avx2, 8) X(avx512, 16)

// clang-format off: the table keeps one kernel a line, with its names aligned by hand
#define SOFTLIB_KERNELS(X) \
  /* f32 on the portable path */ \
  X(f32_softmax_three_pass__portable, portable, f32, row, softmax[three_pass]) \
  X(f32_softmax_three_pass_recompute__portable, portable, f32, row, softmax[three_pass_recompute]) \
  X(f32_softmax_two_pass__portable, portable, f32, row, softmax[two_pass]) \
  X(f32_softmax_online__portable, portable, f32, row, softmax[online]) \
  X(f32_softmax_rows_three_pass__portable, portable, f32, rows, softmax_rows[three_pass]) \
  X(f32_softmax_rows_three_pass_recompute__portable, portable, f32, rows, softmax_rows[three_pass_recompute]) \
  X(f32_softmax_rows_two_pass__portable, portable, f32, rows, softmax_rows[two_pass]) \
  X(f32_softmax_rows_online__portable, portable, f32, rows, softmax_rows[online]) \
  X(f32_log_softmax_three_pass__portable, portable, f32, row, log_softmax[three_pass]) \
  X(f32_log_softmax_three_pass_recompute__portable, portable, f32, row, log_softmax[three_pass_recompute]) \
  X(f32_log_softmax_two_pass__portable, portable, f32, row, log_softmax[two_pass]) \
  X(f32_log_softmax_online__portable, portable, f32, row, log_softmax[online]) \
  X(f32_log_softmax_rows_three_pass__portable, portable, f32, rows, log_softmax_rows[three_pass]) \
  X(f32_log_softmax_rows_three_pass_recompute__portable, portable, f32, rows, log_softmax_rows[three_pass_recompute]) \
  X(f32_log_softmax_rows_two_pass__portable, portable, f32, rows, log_softmax_rows[two_pass]) \
  X(f32_log_softmax_rows_online__portable, portable, f32, rows, log_softmax_rows[online]) \
  X(f32_logsumexp__portable, portable, f32, reduce, logsumexp) \
  X(f32_logsumexp_rows__portable, portable, f32, reduce_rows, logsumexp_rows) \
  X(f32_rmax__portable, portable, f32, reduce, row_max) \
  X(f32_vexp__portable, portable, f32, row, exp) \
  X(f32_stablemax__portable, portable, f32, row, stablemax) \
  X(f32_log_stablemax__portable, portable, f32, row, log_stablemax) \
  /* f64 on the portable path */ \
  X(f64_softmax_three_pass__portable, portable, f64, row, softmax[three_pass]) \
  X(f64_softmax_three_pass_recompute__portable, portable, f64, row, softmax[three_pass_recompute]) \
  X(f64_softmax_two_pass__portable, portable, f64, row, softmax[two_pass]) \
  X(f64_softmax_online__portable, portable, f64, row, softmax[online]) \
  X(f64_softmax_rows_three_pass__portable, portable, f64, rows, softmax_rows[three_pass]) \
  X(f64_softmax_rows_three_pass_recompute__portable, portable, f64, rows, softmax_rows[three_pass_recompute]) \
  X(f64_softmax_rows_two_pass__portable, portable, f64, rows, softmax_rows[two_pass]) \
  X(f64_softmax_rows_online__portable, portable, f64, rows, softmax_rows[online]) \
  X(f64_log_softmax_three_pass__portable, portable, f64, row, log_softmax[three_pass]) \
  X(f64_log_softmax_three_pass_recompute__portable, portable, f64, row, log_softmax[three_pass_recompute]) \
  X(f64_log_softmax_two_pass__portable, portable, f64, row, log_softmax[two_pass]) \
  X(f64_log_softmax_online__portable, portable, f64, row, log_softmax[online]) \
  X(f64_log_softmax_rows_three_pass__portable, portable, f64, rows, log_softmax_rows[three_pass]) \
  X(f64_log_softmax_rows_three_pass_recompute__portable, portable, f64, rows, log_softmax_rows[three_pass_recompute]) \
  X(f64_log_softmax_rows_two_pass__portable, portable, f64, rows, log_softmax_rows[two_pass]) \
  X(f64_log_softmax_rows_online__portable, portable, f64, rows, log_softmax_rows[online]) \
  X(f64_logsumexp__portable, portable, f64, reduce, logsumexp) \
  X(f64_logsumexp_rows__portable, portable, f64, reduce_rows, logsumexp_rows) \
  X(f64_rmax__portable, portable, f64, reduce, row_max) \
  X(f64_vexp__portable, portable, f64, row, exp) \
  X(f64_stablemax__portable, portable, f64, row, stablemax) \
  X(f64_log_stablemax__portable, portable, f64, row, log_stablemax) \
  /* f32 on the avx2 path */ \
  X(f32_softmax_three_pass__avx2, avx2, f32, row, softmax[three_pass]) \
  X(f32_softmax_three_pass_recompute__avx2, avx2, f32, row, softmax[three_pass_recompute]) \
  X(f32_softmax_two_pass__avx2, avx2, f32, row, softmax[two_pass]) \
  X(f32_softmax_online__avx2, avx2, f32, row, softmax[online]) \
  X(f32_softmax_rows_three_pass__avx2, avx2, f32, rows, softmax_rows[three_pass]) \
  X(f32_softmax_rows_three_pass_recompute__avx2, avx2, f32, rows, softmax_rows[three_pass_recompute]) \
  X(f32_softmax_rows_two_pass__avx2, avx2, f32, rows, softmax_rows[two_pass]) \
  X(f32_softmax_rows_online__avx2, avx2, f32, rows, softmax_rows[online]) \
  X(f32_log_softmax_three_pass__avx2, avx2, f32, row, log_softmax[three_pass]) \
  X(f32_log_softmax_three_pass_recompute__avx2, avx2, f32, row, log_softmax[three_pass_recompute]) \
  X(f32_log_softmax_two_pass__avx2, avx2, f32, row, log_softmax[two_pass]) \
  X(f32_log_softmax_online__avx2, avx2, f32, row, log_softmax[online]) \
  X(f32_log_softmax_rows_three_pass__avx2, avx2, f32, rows, log_softmax_rows[three_pass]) \
  X(f32_log_softmax_rows_three_pass_recompute__avx2, avx2, f32, rows, log_softmax_rows[three_pass_recompute]) \
  X(f32_log_softmax_rows_two_pass__avx2, avx2, f32, rows, log_softmax_rows[two_pass]) \
  X(f32_log_softmax_rows_online__avx2, avx2, f32, rows, log_softmax_rows[online]) \
  X(f32_logsumexp__avx2, avx2, f32, reduce, logsumexp) \
  X(f32_logsumexp_rows__avx2, avx2, f32, reduce_rows, logsumexp_rows) \
  X(f32_rmax__avx2, avx2, f32, reduce, row_max) \
  X(f32_vexp__avx2, avx2, f32, row, exp) \
  X(f32_stablemax__avx2, avx2, f32, row, stablemax) \
  X(f32_log_stablemax__avx2, avx2, f32, row, log_stablemax) \
  /* f64 on the avx2 path */ \
  X(f64_softmax_three_pass__avx2, avx2, f64, row, softmax[three_pass]) \
  X(f64_softmax_three_pass_recompute__avx2, avx2, f64, row, softmax[three_pass_recompute]) \
  X(f64_softmax_two_pass__avx2, avx2, f64, row, softmax[two_pass]) \
  X(f64_softmax_online__avx2, avx2, f64, row, softmax[online]) \
  X(f64_softmax_rows_three_pass__avx2, avx2, f64, rows, softmax_rows[three_pass]) \
  X(f64_softmax_rows_three_pass_recompute__avx2, avx2, f64, rows, softmax_rows[three_pass_recompute]) \
  X(f64_softmax_rows_two_pass__avx2, avx2, f64, rows, softmax_rows[two_pass]) \
  X(f64_softmax_rows_online__avx2, avx2, f64, rows, softmax_rows[online]) \
  X(f64_log_softmax_three_pass__avx2, avx2, f64, row, log_softmax[three_pass]) \
  X(f64_log_softmax_three_pass_recompute__avx2, avx2, f64, row, log_softmax[three_pass_recompute]) \
  X(f64_log_softmax_two_pass__avx2, avx2, f64, row, log_softmax[two_pass]) \
  X(f64_log_softmax_online__avx2, avx2, f64, row, log_softmax[online]) \
  X(f64_log_softmax_rows_three_pass__avx2, avx2, f64, rows, log_softmax_rows[three_pass]) \
  X(f64_log_softmax_rows_three_pass_recompute__avx2, avx2, f64, rows, log_softmax_rows[three_pass_recompute]) \
  X(f64_log_softmax_rows_two_pass__avx2, avx2, f64, rows, log_softmax_rows[two_pass]) \
  X(f64_log_softmax_rows_online__avx2, avx2, f64, rows, log_softmax_rows[online]) \
  X(f64_logsumexp__avx2, avx2, f64, reduce, logsumexp) \
  X(f64_logsumexp_rows__avx2, avx2, f64, reduce_rows, logsumexp_rows) \
  X(f64_rmax__avx2, avx2, f64, reduce, row_max) \
  X(f64_vexp__avx2, avx2, f64, row, exp) \
  X(f64_stablemax__avx2, avx2, f64, row, stablemax) \
  X(f64_log_stablemax__avx2, avx2, f64, row, log_stablemax) \
  /* f32 on the avx512 path */ \
  X(f32_softmax_three_pass__avx512, avx512, f32, row, softmax[three_pass]) \
  X(f32_softmax_three_pass_recompute__avx512, avx512, f32, row, softmax[three_pass_recompute]) \
  X(f32_softmax_two_pass__avx512, avx512, f32, row, softmax[two_pass]) \
  X(f32_softmax_online__avx512, avx512, f32, row, softmax[online]) \
  X(f32_softmax_rows_three_pass__avx512, avx512, f32, rows, softmax_rows[three_pass]) \
  X(f32_softmax_rows_three_pass_recompute__avx512, avx512, f32, rows, softmax_rows[three_pass_recompute]) \
  X(f32_softmax_rows_two_pass__avx512, avx512, f32, rows, softmax_rows[two_pass]) \
  X(f32_softmax_rows_online__avx512, avx512, f32, rows, softmax_rows[online]) \
  X(f32_log_softmax_three_pass__avx512, avx512, f32, row, log_softmax[three_pass]) \
  X(f32_log_softmax_three_pass_recompute__avx512, avx512, f32, row, log_softmax[three_pass_recompute]) \
  X(f32_log_softmax_two_pass__avx512, avx512, f32, row, log_softmax[two_pass]) \
  X(f32_log_softmax_online__avx512, avx512, f32, row, log_softmax[online]) \
  X(f32_log_softmax_rows_three_pass__avx512, avx512, f32, rows, log_softmax_rows[three_pass]) \
  X(f32_log_softmax_rows_three_pass_recompute__avx512, avx512, f32, rows, log_softmax_rows[three_pass_recompute]) \
  X(f32_log_softmax_rows_two_pass__avx512, avx512, f32, rows, log_softmax_rows[two_pass]) \
  X(f32_log_softmax_rows_online__avx512, avx512, f32, rows, log_softmax_rows[online]) \
  X(f32_logsumexp__avx512, avx512, f32, reduce, logsumexp) \
  X(f32_logsumexp_rows__avx512, avx512, f32, reduce_rows, logsumexp_rows) \
  X(f32_rmax__avx512, avx512, f32, reduce, row_max) \
  X(f32_vexp__avx512, avx512, f32, row, exp) \
  X(f32_stablemax__avx512, avx512, f32, row, stablemax) \
  X(f32_log_stablemax__avx512, avx512, f32, row, log_stablemax) \
  /* f64 on the avx512 path */ \
  X(f64_softmax_three_pass__avx512, avx512, f64, row, softmax[three_pass]) \
  X(f64_softmax_three_pass_recompute__avx512, avx512, f64, row, softmax[three_pass_recompute]) \
  X(f64_softmax_two_pass__avx512, avx512, f64, row, softmax[two_pass]) \
  X(f64_softmax_online__avx512, avx512, f64, row, softmax[online]) \
  X(f64_softmax_rows_three_pass__avx512, avx512, f64, rows, softmax_rows[three_pass]) \
  X(f64_softmax_rows_three_pass_recompute__avx512, avx512, f64, rows, softmax_rows[three_pass_recompute]) \
  X(f64_softmax_rows_two_pass__avx512, avx512, f64, rows, softmax_rows[two_pass]) \
  X(f64_softmax_rows_online__avx512, avx512, f64, rows, softmax_rows[online]) \
  X(f64_log_softmax_three_pass__avx512, avx512, f64, row, log_softmax[three_pass]) \
  X(f64_log_softmax_three_pass_recompute__avx512, avx512, f64, row, log_softmax[three_pass_recompute]) \
  X(f64_log_softmax_two_pass__avx512, avx512, f64, row, log_softmax[two_pass]) \
  X(f64_log_softmax_online__avx512, avx512, f64, row, log_softmax[online]) \
  X(f64_log_softmax_rows_three_pass__avx512, avx512, f64, rows, log_softmax_rows[three_pass]) \
  X(f64_log_softmax_rows_three_pass_recompute__avx512, avx512, f64, rows, log_softmax_rows[three_pass_recompute]) \
  X(f64_log_softmax_rows_two_pass__avx512, avx512, f64, rows, log_softmax_rows[two_pass]) \
  X(f64_log_softmax_rows_online__avx512, avx512, f64, rows, log_softmax_rows[online]) \
  X(f64_logsumexp__avx512, avx512, f64, reduce, logsumexp) \
  X(f64_logsumexp_rows__avx512, avx512, f64, reduce_rows, logsumexp_rows) \
  X(f64_rmax__avx512, avx512, f64, reduce, row_max) \
  X(f64_vexp__avx512, avx512, f64, row, exp) \
  X(f64_stablemax__avx512, avx512, f64, row, stablemax) \
  X(f64_log_stablemax__avx512, avx512, f64, row, log_stablemax) \
  /* end */
// clang-format on
