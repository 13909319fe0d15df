// What the CPU and the operating system let softlib use, read once from CPUID and XCR0.
#pragma once

#include <string>
#include <vector>

#include "kernel_list.h"

namespace softlib {

// The code paths softlib can run, from the baseline up.
#define SOFTLIB_ISA_ENUM(name, lanes) name,
enum class Isa { SOFTLIB_ISAS(SOFTLIB_ISA_ENUM) };
#undef SOFTLIB_ISA_ENUM

const char* isa_name(Isa isa);

// The paths this CPU (and its OS, which must save the wider registers) can run, baseline first.
const std::vector<Isa>& supported_isas();

}  // namespace softlib
