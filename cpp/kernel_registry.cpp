#include "kernel_registry.h"

#include <algorithm>
#include <stdexcept>
#include <type_traits>

#include "dispatch.h"

namespace softlib {
namespace {

// "softmax[two_pass]" -> op "softmax", algorithm "two_pass"; "logsumexp" -> "logsumexp", "";
// "softmax_rows[two_pass]" (kind rows) -> "softmax", "two_pass"; "logsumexp_rows" -> "logsumexp".
void split_member(const std::string& member, NamedKernel& k) {
  const auto open = member.find('[');
  k.op = member.substr(0, open);
  if (k.kind == "rows" || k.kind == "reduce_rows") k.op = k.op.substr(0, k.op.rfind("_rows"));
  if (open != std::string::npos) k.algorithm = member.substr(open + 1, member.find(']') - open - 1);
}

std::size_t lanes_of(Isa isa) {
  switch (isa) {
#define SOFTLIB_LANES(name, lanes) \
  case Isa::name: return lanes;
    SOFTLIB_ISAS(SOFTLIB_LANES)
#undef SOFTLIB_LANES
  }
  return 1;
}

template <typename F>
void set_kernel(NamedKernel& k, F f) {
  if constexpr (std::is_same_v<F, RowKernel<float>>) k.row_f32 = f;
  if constexpr (std::is_same_v<F, RowKernel<double>>) k.row_f64 = f;
  if constexpr (std::is_same_v<F, RowsKernel<float>>) k.rows_f32 = f;
  if constexpr (std::is_same_v<F, RowsKernel<double>>) k.rows_f64 = f;
  if constexpr (std::is_same_v<F, float (*)(const float*, std::size_t)>) k.reduce_f32 = f;
  if constexpr (std::is_same_v<F, double (*)(const double*, std::size_t)>) k.reduce_f64 = f;
}

std::vector<NamedKernel> build() {
  std::vector<NamedKernel> all;
#define SOFTLIB_REGISTER(name_, isa_, dtype, kind_, member)                                              \
  if (const KernelTable* t = table_for(Isa::isa_)) {                                                     \
    NamedKernel k{};                                                                                     \
    k.name = #name_;                                                                                     \
    k.isa = Isa::isa_;                                                                                   \
    k.itemsize = std::string(#dtype) == "f32" ? 4 : 8;                                                   \
    k.kind = #kind_;                                                                                     \
    split_member(#member, k);                                                                            \
    k.lanes = k.itemsize == 4 ? lanes_of(Isa::isa_) : std::max<std::size_t>(1, lanes_of(Isa::isa_) / 2); \
    set_kernel(k, t->dtype.member);                                                                      \
    all.push_back(k);                                                                                    \
  }
  SOFTLIB_KERNELS(SOFTLIB_REGISTER)
#undef SOFTLIB_REGISTER
  return all;
}

}  // namespace

const std::vector<NamedKernel>& kernel_registry() {
  static const std::vector<NamedKernel> all = build();
  return all;
}

const NamedKernel& kernel_named(const std::string& name) {
  for (const NamedKernel& k : kernel_registry()) {
    if (name == k.name) {
      kernels_for(isa_name(k.isa));  // throws when this CPU cannot run the path
      return k;
    }
  }
  throw std::invalid_argument("unknown kernel '" + name + "': softlib._core.kernels() lists them");
}

}  // namespace softlib
