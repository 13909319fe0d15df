#include "threads.h"

#include <algorithm>
#include <thread>
#include <vector>

namespace softlib {

int hardware_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(std::min(n, 256u));
}

int thread_count(int threads, std::size_t elements) {
  if (threads > 0) return std::min(threads, 256);
  return elements >= auto_threads_min ? hardware_threads() : 1;
}

void parallel_for(std::size_t count, int threads, const std::function<void(std::size_t, std::size_t, int)>& f) {
  const std::size_t nt = std::max<std::size_t>(
      1, std::min<std::size_t>(static_cast<std::size_t>(threads), std::max<std::size_t>(count, 1)));
  if (nt == 1) {
    f(0, count, 0);
    return;
  }
  auto bounds = [&](std::size_t t) { return count * t / nt; };
  std::vector<std::thread> pool;
  pool.reserve(nt - 1);
  for (std::size_t t = 1; t < nt; ++t) {
    pool.emplace_back([&, t] { f(bounds(t), bounds(t + 1), static_cast<int>(t)); });
  }
  f(bounds(0), bounds(1), 0);
  for (auto& th : pool) th.join();
}

}  // namespace softlib
