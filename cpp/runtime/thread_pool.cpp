#include "runtime/thread_pool.hpp"

#include "runtime/fp_mode.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>

#if defined(__linux__)
#include <sched.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#define FASTMLP_HAVE_GETPID 1
#endif

namespace fastmlp {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

// A whole number in [1, kMaxThreads] with optional surrounding blanks, or 0.
int parse_thread_count(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  const auto last = text.find_last_not_of(" \t");
  if (first == std::string::npos) return 0;
  long value = 0;
  for (auto i = first; i <= last; ++i) {
    if (text[i] < '0' || text[i] > '9') return 0;
    value = value * 10 + (text[i] - '0');
    if (value > kMaxThreads) return 0;
  }
  return static_cast<int>(value);
}

bool blank(const char* text) {
  return text == nullptr || std::string(text).find_first_not_of(" \t") == std::string::npos;
}

const std::string kExpected = "a whole number from 1 to " + std::to_string(kMaxThreads);

}  // namespace

ThreadCountChoice initial_thread_count() {
  ThreadCountChoice choice;
  const char* fastmlp_env = std::getenv("FASTMLP_NUM_THREADS");
  if (!blank(fastmlp_env)) {
    if (const int n = parse_thread_count(fastmlp_env)) {
      choice.threads = n;
      return choice;
    }
    choice.error = "FASTMLP_NUM_THREADS='" + std::string(fastmlp_env) + "' must be " + kExpected +
                   "; set it to one, or unset it to use OMP_NUM_THREADS or the available CPUs";
  }
  const char* omp_env = std::getenv("OMP_NUM_THREADS");
  if (!blank(omp_env)) {
    // OpenMP's list gives the threads per nesting level; fastmlp's pool is one level: the first.
    const std::string omp(omp_env);
    if (const int n = parse_thread_count(omp.substr(0, omp.find(',')))) {
      choice.threads = n;
      return choice;
    }
    choice.warning = "OMP_NUM_THREADS='" + omp + "' is ignored by fastmlp: its first entry must be " +
                     kExpected + " (set FASTMLP_NUM_THREADS to choose fastmlp's threads alone)";
  }
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    choice.threads = std::max(1, CPU_COUNT(&set));
    return choice;
  }
#endif
  choice.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return choice;
}

namespace {

// How long a thread polls before it sleeps on a condition variable: a worker between two GEMMs
// of a training step, the caller waiting for the workers. Waking a sleeping thread took several
// microseconds per parallel region, a step of M-mnist has a dozen of them, and the next one
// usually comes well within this time.
constexpr auto kSpinBeforeSleep = std::chrono::microseconds(50);

template <typename Done>
void spin_until(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpinBeforeSleep;
  while (!done()) {
    for (int i = 0; i < 16; ++i) cpu_relax();
    if (std::chrono::steady_clock::now() > deadline) return;
  }
}

long current_pid() {
#ifdef FASTMLP_HAVE_GETPID
  return static_cast<long>(getpid());
#else
  return 0;
#endif
}

}  // namespace

ThreadPool& ThreadPool::global() {
  // Deliberately never destroyed: worker threads must not be joined during static destruction,
  // after the Python interpreter may already be gone.
  static ThreadPool* pool = new ThreadPool(initial_thread_count().threads);
  return *pool;
}

ThreadPool::ThreadPool(int n) { start_workers(n); }

ThreadPool::~ThreadPool() { stop_workers(); }

int ThreadPool::num_threads() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return num_threads_;
}

void ThreadPool::set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("the number of threads must be >= 1");
  std::lock_guard<std::mutex> run_lock(run_mutex_);
  restart_if_forked();
  const int previous = num_threads();
  if (n == previous) return;
  stop_workers();
  if (start_workers(n)) return;
  const int started = num_threads();
  stop_workers();
  start_workers(previous);
  throw std::runtime_error("could not start " + std::to_string(n) + " threads (the system started " +
                           std::to_string(started) + "); fastmlp still uses " +
                           std::to_string(num_threads()));
}

bool ThreadPool::start_workers(int n) noexcept {
  owner_pid_ = current_pid();
  std::uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
    num_threads_ = 1;
    generation = generation_;
    spin_generation_.store(generation_, std::memory_order_release);
  }
  // A new worker must not mistake the last finished job for a new one. Each worker's stride is
  // read from num_threads_ when a job starts, so the count grows only once the thread exists.
  for (int w = 1; w < n; ++w) {
    try {
      workers_.emplace_back([this, w, generation] { worker_loop(w, generation); });
    } catch (...) {  // std::system_error (EAGAIN) or std::bad_alloc
      return false;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    num_threads_ = w + 1;
  }
  return true;
}

void ThreadPool::restart_if_forked() {
  if (owner_pid_ == current_pid()) return;
  // The std::thread objects name threads of the parent: they can be neither joined nor
  // destroyed (that would terminate), so they are parked in a vector that is never freed.
  new std::vector<std::thread>(std::move(workers_));
  workers_.clear();
  // The condition variables still count the parent's waiting workers, so notifying them would
  // wait forever for acknowledgements: start from fresh synchronisation objects (the old ones
  // are abandoned, not destroyed, for the same reason).
  new (&mutex_) std::mutex();
  new (&wake_) std::condition_variable();
  new (&done_) std::condition_variable();
  start_workers(num_threads_);
}

void ThreadPool::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    spin_generation_.store(~std::uint64_t{0}, std::memory_order_release);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void ThreadPool::worker_loop(int worker_index, std::uint64_t first_generation) {
  flush_denormals_forever();
  std::uint64_t seen = first_generation;
  bool had_work = false;
  for (;;) {
    const std::function<void(int)>* job;
    int tasks, threads;
    // Only a worker that just had a task polls: in a large pool running 2-task regions, the idle
    // workers would otherwise burn 50 us of CPU after each one.
    if (had_work) spin_until([&] { return spin_generation_.load(std::memory_order_acquire) != seen; });
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      job = job_;
      tasks = job_tasks_;
      threads = num_threads_;
    }
    had_work = worker_index < tasks;
    std::exception_ptr error;
    try {
      for (int t = worker_index; t < tasks; t += threads) (*job)(t);
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (error && !error_) error_ = error;
      if (--pending_workers_ == 0) done_.notify_one();
    }
  }
}

void ThreadPool::run(int n_tasks, const std::function<void(int)>& fn) {
  if (n_tasks <= 0) return;
  std::unique_lock<std::mutex> run_lock(run_mutex_, std::try_to_lock);
  if (run_lock.owns_lock()) restart_if_forked();
  const int threads = run_lock.owns_lock() ? num_threads() : 1;
  if (n_tasks == 1 || threads == 1) {
    for (int t = 0; t < n_tasks; ++t) fn(t);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    job_tasks_ = n_tasks;
    pending_workers_ = threads - 1;
    error_ = nullptr;
    ++generation_;
    spin_generation_.store(generation_, std::memory_order_release);
  }
  wake_.notify_all();
  std::exception_ptr error;
  try {
    for (int t = 0; t < n_tasks; t += threads) fn(t);
  } catch (...) {
    error = std::current_exception();
  }
  spin_until([&] { return pending_workers_.load(std::memory_order_acquire) == 0; });
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return pending_workers_ == 0; });
  job_ = nullptr;
  if (!error) error = error_;
  if (error) std::rethrow_exception(error);
}

int get_num_threads() { return ThreadPool::global().num_threads(); }
void set_num_threads(int n) { ThreadPool::global().set_num_threads(n); }

void parallel_ranges(std::int64_t n, std::int64_t min_per_thread, std::int64_t align,
                     const std::function<void(std::int64_t, std::int64_t)>& fn) {
  if (n <= 0) return;
  ThreadPool& pool = ThreadPool::global();
  const std::int64_t wanted = std::max<std::int64_t>(1, n / std::max<std::int64_t>(1, min_per_thread));
  const int threads = static_cast<int>(std::min<std::int64_t>(pool.num_threads(), wanted));
  if (threads <= 1) {
    fn(0, n);
    return;
  }
  const std::int64_t per_thread = (n + threads - 1) / threads;
  const std::int64_t chunk = (per_thread + align - 1) / align * align;
  pool.run(threads, [&](int t) {
    const std::int64_t begin = std::min(n, t * chunk);
    const std::int64_t end = std::min(n, begin + chunk);
    if (begin < end) fn(begin, end);
  });
}

}  // namespace fastmlp
