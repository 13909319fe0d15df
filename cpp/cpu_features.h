// What the CPU and the operating system let softlib use, read once from CPUID and XCR0.
#pragma once

#include <string>
#include <vector>

namespace softlib {

// The code paths softlib can run, from the baseline up.
enum class Isa { portable = 0, avx2 = 1, avx512 = 2 };

const char* isa_name(Isa isa);

// The paths this CPU (and its OS, which must save the wider registers) can run, baseline first.
std::vector<Isa> supported_isas();

}  // namespace softlib
