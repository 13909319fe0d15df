// The constants of softlib's exp: range reduction and minimax polynomial, one set per precision.
//
// exp(t) = 2^n * exp(r), n = round(t * log2(e)), r = t - n * ln2 computed with ln 2 split in two
// (Cody-Waite): ln2_hi has few enough significant bits that n * ln2_hi is exact, ln2_lo holds the rest.
// exp(r) = 1 + r + r^2 * q(r) on |r| <= ln(2)/2, with q a near-minimax polynomial (Chebyshev
// interpolation of (e^r - 1 - r) / r^2, coefficients rounded to the working precision; fitted with
// mpmath for this project: max relative error 0.18 * 2^-24 for float, 0.15 * 2^-53 for double).
#pragma once

namespace softlib {

template <typename T>
struct ExpConstants;

template <>
struct ExpConstants<float> {
  static constexpr float log2e = 0x1.715476p+0f;       // log2(e)
  static constexpr float ln2_hi = 0x1.62E000p-1f;      // ln 2, 12 significant bits: n * ln2_hi exact
  static constexpr float ln2_lo = 0x1.0BFBE8p-15f;     // ln 2 - ln2_hi
  static constexpr float c2 = 0x1.000000p-1f;          // q(r) = c2 + c3 r + c4 r^2 + c5 r^3 + c6 r^4
  static constexpr float c3 = 0x1.5554DCp-3f;
  static constexpr float c4 = 0x1.55551Ap-5f;
  static constexpr float c5 = 0x1.120BA2p-7f;
  static constexpr float c6 = 0x1.6D113Cp-10f;
  static constexpr float underflow = -0x1.5D58A0p+6f;  // ln(FLT_MIN): below it exp(t) < FLT_MIN -> 0
  static constexpr float zero_below = -110.0f;         // < ln(2^-150): exp(t) rounds to 0 (-inf too)
  static constexpr float overflow = 0x1.62E148p+6f;    // ln(FLT_MAX): above it exp(t) -> +inf
  static constexpr float round_magic = 0x1.8p+23f;     // x + magic - magic rounds |x| < 2^22 to nearest
  static constexpr float exp2_magic = 0x1.8p+23f + 127.0f;  // bits of (n + magic) << 23 = 2^n
  static constexpr int exp2_min = -126;                // 2^n built from bits is normal for n >= -126
};

template <>
struct ExpConstants<double> {
  static constexpr double log2e = 0x1.71547652B82FEp+0;   // log2(e)
  static constexpr double ln2_hi = 0x1.62E42FEEp-1;       // ln 2, 32 significant bits (fdlibm's split)
  static constexpr double ln2_lo = 0x1.A39EF35793C76p-33; // ln 2 - ln2_hi
  static constexpr double c2 = 0x1.0000000000001p-1;      // q(r) = c2 + c3 r + ... + c11 r^9
  static constexpr double c3 = 0x1.5555555555556p-3;
  static constexpr double c4 = 0x1.5555555553D4Fp-5;
  static constexpr double c5 = 0x1.11111111109ADp-7;
  static constexpr double c6 = 0x1.6C16C17893833p-10;
  static constexpr double c7 = 0x1.A01A01A7C8D47p-13;
  static constexpr double c8 = 0x1.A019B8EF67C6Cp-16;
  static constexpr double c9 = 0x1.71DE0D9C145D0p-19;
  static constexpr double c10 = 0x1.2891A8C1D838Dp-22;
  static constexpr double c11 = 0x1.AF38D53857513p-26;
  static constexpr double underflow = -0x1.6232BDD7ABCD2p+9;  // ln(DBL_MIN)
  static constexpr double zero_below = -760.0;               // < ln(2^-1075): exp(t) rounds to 0
  static constexpr double overflow = 0x1.62E42FEFA39EFp+9;    // ln(DBL_MAX)
  static constexpr double round_magic = 0x1.8p+52;
  static constexpr double exp2_magic = 0x1.8p+52 + 1023.0;
  static constexpr int exp2_min = -1022;
};

}  // namespace softlib
