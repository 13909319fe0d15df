// The one place where a code path is chosen: at import, from the CPU's features and SOFTLIB_ISA.
#pragma once

#include <string>

#include "kernels.h"

namespace softlib {

// The table of the active code path.
const KernelTable& active_kernels();

// The table of `isa` whether or not this CPU can run it; nullptr when it is not built into this module.
const KernelTable* table_for(Isa isa);

// Whether the code path `isa` is compiled into this module (x86 paths are not on arm64).
bool built(Isa isa);

// The table of the named path ("portable", "avx2", "avx512"); throws std::invalid_argument when the
// name is unknown, or this CPU cannot run it, or it is not built into this module.
const KernelTable& kernels_for(const std::string& name);

// Make `name` the active path (same errors as kernels_for).
void select_isa(const std::string& name);

}  // namespace softlib
