#include "threads.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

#if defined(__linux__)
#include <sched.h>
#include <unistd.h>
#elif defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace softlib {
namespace {

// The CPUs this process may run on: its affinity mask (taskset, cpusets) and, on Linux, the cgroup v2
// CPU quota (containers: cpu.max "quota period"), not the machine's hardware_concurrency.
int allowed_cpus() {
  unsigned n = std::thread::hardware_concurrency();
  if (n == 0) n = 1;
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int c = CPU_COUNT(&set);
    if (c > 0) n = static_cast<unsigned>(c);
  }
  if (std::FILE* f = std::fopen("/sys/fs/cgroup/cpu.max", "r")) {
    char quota[32] = {0};
    long period = 0;
    if (std::fscanf(f, "%31s %ld", quota, &period) == 2 && period > 0 && quota[0] != 'm') {
      const long q = std::atol(quota);
      if (q > 0) n = std::min(n, static_cast<unsigned>(std::max(1L, (q + period - 1) / period)));
    }
    std::fclose(f);
  }
#endif
  return static_cast<int>(std::min(n, 256u));
}

// One parallel_for call: its slices, and how many are still running.
struct Job {
  const std::function<void(std::size_t, std::size_t, int)>* f;
  std::size_t count, nt;
  std::size_t left;  // guarded by m: the caller may destroy the Job only after the last slice unlocks m
  std::atomic<bool> all_run{false};  // left == 0, for the caller to spin on (then it takes m)
  std::mutex m;
  std::condition_variable done;
  void run(std::size_t t) {
    (*f)(count* t / nt, count * (t + 1) / nt, static_cast<int>(t));
    std::lock_guard<std::mutex> lock(m);
    if (--left == 0) {
      all_run.store(true, std::memory_order_release);
      done.notify_all();
    }
  }
  bool finished() {
    std::lock_guard<std::mutex> lock(m);
    return left == 0;
  }
};

// Spin up to this long for work (a worker) or for the last slice (a caller) before sleeping on a
// condition variable: a sleeping thread took about 28 us to wake on the project's VM, twice per split
// row (its two passes), and the faster thread of a pass may wait some hundreds of microseconds for
// the slower. Measured: a 2^17-float row on two threads 93 -> 36 us (one thread 57); a 2^24 row's
// speed-up 1.75-1.82 -> 1.85-1.86. Not with one allowed CPU, where a spinning worker would take the
// caller's time.
constexpr auto spin_limit = std::chrono::microseconds(1000);
void spin_while(const std::function<bool()>& waiting) {
  if (hardware_threads() < 2) return;
  const auto until = std::chrono::steady_clock::now() + spin_limit;
  for (unsigned i = 1; waiting(); ++i) {
#if defined(__x86_64__) || defined(_M_X64)
    _mm_pause();
#endif
    if (i % 64 == 0 && std::chrono::steady_clock::now() > until) return;
  }
}

// A persistent pool: workers started once (lazily, up to the allowed CPUs minus the caller) wait for
// slices on one queue. Any number of threads may call parallel_for at once (the GIL is released):
// each call queues its slices and, while waiting, runs queued slices itself, so a call always
// progresses even when every worker is busy with other calls. Never destroyed (workers are detached):
// no join at interpreter exit. After fork() the child starts a pool of its own.
class Pool {
 public:
  explicit Pool(int workers) {
    for (int i = 0; i < workers; ++i) std::thread([this] { loop(); }).detach();
  }
  void submit(Job* job, std::size_t first, std::size_t last) {
    {
      std::lock_guard<std::mutex> lock(m_);
      for (std::size_t t = first; t < last; ++t) queue_.push_back({job, t});
      queued_.store(queue_.size(), std::memory_order_relaxed);
    }
    cv_.notify_all();
  }
  std::size_t queued() const { return queued_.load(std::memory_order_relaxed); }
  // Run one queued slice on the calling thread; false when the queue is empty.
  bool help() {
    Task task;
    {
      std::lock_guard<std::mutex> lock(m_);
      if (queue_.empty()) return false;
      task = queue_.front();
      queue_.pop_front();
      queued_.store(queue_.size(), std::memory_order_relaxed);
    }
    task.job->run(task.t);
    return true;
  }

 private:
  struct Task {
    Job* job;
    std::size_t t;
  };
  void loop() {
    for (;;) {
      Task task;
      spin_while([this] { return queued_.load(std::memory_order_relaxed) == 0; });
      {
        std::unique_lock<std::mutex> lock(m_);
        cv_.wait(lock, [this] { return !queue_.empty(); });
        task = queue_.front();
        queue_.pop_front();
        queued_.store(queue_.size(), std::memory_order_relaxed);
      }
      task.job->run(task.t);
    }
  }
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  std::atomic<std::size_t> queued_{0};  // queue_.size(), read without m_ by spinning workers
};

Pool& pool() {
  static std::mutex creation;
  static Pool* p = nullptr;
#if defined(__unix__) || defined(__APPLE__)
  static pid_t owner = 0;
  std::lock_guard<std::mutex> lock(creation);
  if (p == nullptr || owner != getpid()) {  // first use, or a forked child: its own workers
    p = new Pool(std::max(1, hardware_threads() - 1));
    owner = getpid();
  }
#else
  std::lock_guard<std::mutex> lock(creation);
  if (p == nullptr) p = new Pool(std::max(1, hardware_threads() - 1));
#endif
  return *p;
}

}  // namespace

int hardware_threads() {
  static const int n = allowed_cpus();
  return n;
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
  Job job;
  job.f = &f;
  job.count = count;
  job.nt = nt;
  job.left = nt;
  Pool& p = pool();
  p.submit(&job, 1, nt);
  job.run(0);  // slice 0 on the calling thread
  // Help with queued slices (this call's or others') until this call's slices are all done.
  while (!job.finished()) {
    spin_while([&] { return !job.all_run.load(std::memory_order_acquire) && p.queued() == 0; });
    if (job.finished()) break;
    if (p.help()) continue;
    std::unique_lock<std::mutex> lock(job.m);
    job.done.wait(lock, [&] { return job.left == 0; });
    break;
  }
}

}  // namespace softlib
