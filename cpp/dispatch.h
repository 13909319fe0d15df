// The one place where a code path is chosen: at import, from the CPU's features and SOFTLIB_ISA.
#pragma once

#include <string>

#include "kernels.h"

namespace softlib {

// The table of the active code path.
const KernelTable& active_kernels();

// Make `name` ("portable", "avx2", "avx512") the active path; throws std::invalid_argument when the
// name is unknown or this CPU cannot run it.
void select_isa(const std::string& name);

}  // namespace softlib
