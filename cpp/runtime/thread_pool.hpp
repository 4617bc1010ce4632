#pragma once
// A persistent pool of worker threads with deterministic work assignment.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fastmlp {

// fm.set_num_threads and the environment variables accept at most this many threads.
constexpr int kMaxThreads = 1024;

// The pool's size at import, from the environment, in this order:
//   FASTMLP_NUM_THREADS  a whole number in [1, kMaxThreads]; anything else is an error (`error`)
//   OMP_NUM_THREADS      the first entry of its comma list, as OpenMP reads it (joblib's workers
//                        and threadpoolctl's users set it); an invalid one is ignored (`warning`)
//   the CPUs in the process's affinity mask (taskset, cgroup cpusets), else hardware_concurrency.
// An empty variable counts as unset. Reads the environment and nothing else.
struct ThreadCountChoice {
  int threads = 1;
  std::string error;    // FASTMLP_NUM_THREADS is set but invalid (threads then ignores it)
  std::string warning;  // OMP_NUM_THREADS was set but ignored, and why
};
ThreadCountChoice initial_thread_count();

class ThreadPool {
 public:
  // The process-wide pool (created on first use, sized by initial_thread_count(); the bindings
  // create it at import).
  static ThreadPool& global();

  int num_threads() const;
  // Resizes the pool to n >= 1 threads, the calling thread included. If the system cannot start
  // that many threads, the previous size is restored and std::runtime_error is thrown.
  void set_num_threads(int n);

  // Runs fn(task) for task in [0, n_tasks): task t always goes to thread t % num_threads
  // (thread 0 is the caller), so a partition of work by task is reproducible. Returns when all
  // tasks are done and rethrows the first exception a task threw. When the pool is already busy
  // (a call from another Python thread, or a nested call) the tasks run on the caller, in order:
  // same results, no deadlock.
  void run(int n_tasks, const std::function<void(int)>& fn);

  ~ThreadPool();

 private:
  explicit ThreadPool(int n);
  // Starts workers for a pool of n threads; if the system refuses a thread, the pool keeps the
  // workers it has (num_threads_ says how many) and false is returned. Never throws, so the
  // constructor cannot leave joinable threads behind.
  bool start_workers(int n) noexcept;
  void stop_workers();
  // first_generation: the job generation when the worker was created; it waits for a newer one.
  void worker_loop(int worker_index, std::uint64_t first_generation);
  // After fork() the child has this object but none of the worker threads: start new ones.
  void restart_if_forked();

  std::mutex run_mutex_;  // one parallel region at a time
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<std::thread> workers_;
  int num_threads_ = 1;
  std::uint64_t generation_ = 0;
  bool stopping_ = false;
  const std::function<void(int)>* job_ = nullptr;
  int job_tasks_ = 0;
  // Written under mutex_ like the rest, atomic so that a thread can spin on it before it sleeps.
  std::atomic<int> pending_workers_{0};
  std::atomic<std::uint64_t> spin_generation_{0};  // generation_, or ~0 when stopping
  std::exception_ptr error_;
  long owner_pid_ = 0;  // the process whose threads workers_ are
};

// Threads in the pool, the caller included.
int get_num_threads();
void set_num_threads(int n);

// Element-wise work over [0, n) on the pool: one contiguous range per thread, each of at least
// min_per_thread elements (fewer threads when n is small: waking one costs microseconds) and
// starting at a multiple of `align`. fn(begin, end) must treat every element independently, so
// the result does not depend on the split.
void parallel_ranges(std::int64_t n, std::int64_t min_per_thread, std::int64_t align,
                     const std::function<void(std::int64_t, std::int64_t)>& fn);

}  // namespace fastmlp
