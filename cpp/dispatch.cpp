#include "dispatch.h"

#include <stdexcept>

namespace softlib {
namespace {

// Each path's table, or nullptr when the path is not built into this module (x86 paths on arm64).
const KernelTable* portable_table() { return &portable_kernels(); }
#if defined(SOFTLIB_X86)
const KernelTable* avx2_table() { return &avx2_kernels(); }
const KernelTable* avx512_table() { return &avx512_kernels(); }
#else
const KernelTable* avx2_table() { return nullptr; }
const KernelTable* avx512_table() { return nullptr; }
#endif

}  // namespace

const KernelTable* table_for(Isa isa) {
  switch (isa) {
#define SOFTLIB_TABLE_CASE(name, lanes) \
  case Isa::name: return name##_table();
    SOFTLIB_ISAS(SOFTLIB_TABLE_CASE)
#undef SOFTLIB_TABLE_CASE
  }
  return nullptr;
}

namespace {

// The best path that is both supported by the CPU and built into this module.
const KernelTable* best_table() {
  const auto isas = supported_isas();
  for (auto it = isas.rbegin(); it != isas.rend(); ++it) {
    if (const KernelTable* t = table_for(*it)) return t;
  }
  return &portable_kernels();
}

const KernelTable* active = nullptr;

}  // namespace

bool built(Isa isa) { return table_for(isa) != nullptr; }

const KernelTable& active_kernels() {
  if (active == nullptr) active = best_table();
  return *active;
}

const KernelTable& kernels_for(const std::string& name) {
  for (Isa isa : supported_isas()) {
    if (name == isa_name(isa)) {
      const KernelTable* t = table_for(isa);
      if (t == nullptr) throw std::invalid_argument("code path '" + name + "' is not built into softlib");
      return *t;
    }
  }
  bool known = false;
#define SOFTLIB_KNOWN(isa_, lanes) known = known || name == #isa_;
  SOFTLIB_ISAS(SOFTLIB_KNOWN)
#undef SOFTLIB_KNOWN
  if (known) {
    throw std::invalid_argument("SOFTLIB_ISA / isa: this CPU cannot run the '" + name + "' code path (it supports: " +
                                [] {
                                  std::string s;
                                  for (Isa i : supported_isas())
                                    s += (s.empty() ? "" : ", ") + std::string(isa_name(i));
                                  return s;
                                }() +
                                ")");
  }
  throw std::invalid_argument("unknown code path '" + name + "': use portable, avx2 or avx512");
}

void select_isa(const std::string& name) { active = &kernels_for(name); }

}  // namespace softlib
