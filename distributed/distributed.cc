// graft::distributed — the Communicator over MPI and the Context that installs it.
//
// Every MPI call goes through one mutex: graft calls MPI from the thread driving a training
// step (the gradient buckets) and from the thread running Fit (broadcasts, metrics), which are
// usually the same thread but need not be; MPI_THREAD_SERIALIZED is all that needs.
// Waiting is MPI_Test in a loop that yields the core (sched_yield) and sleeps after a while: two
// ranks on two cores must not spin against each other's compute, and the loop is where the
// collective timeout is enforced.
//
// Progress: Open MPI advances a non-blocking collective only inside MPI calls (there is no
// asynchronous progress over TCP). While gradient buckets are in flight, a progress thread calls
// MPI_Test on them every GRAFT_DIST_PROGRESS_US microseconds (default 100; it sleeps on a
// condition variable when nothing is in flight), so a bucket's sum moves on while the backward
// pass computes instead of only when the step reaches its Wait.
#include "distributed/distributed.h"

#include <mpi.h>
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/collective.h"

namespace graft::distributed {
namespace {

double EnvSeconds(const char* name, double fallback) {
  const char* v = std::getenv(name);
  double d;
  if (v != nullptr && absl::SimpleAtod(v, &d) && d > 0) return d;
  return fallback;
}

class MpiCommunicator : public Communicator {
 public:
  MpiCommunicator(double timeout_s, int64_t bucket_bytes, double progress_us)
      : timeout_s_(timeout_s), bucket_bytes_(bucket_bytes), progress_us_(progress_us) {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    char host[MPI_MAX_PROCESSOR_NAME];
    int len = 0;
    MPI_Get_processor_name(host, &len);
    host_.assign(host, len);
  }
  ~MpiCommunicator() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    in_flight_.notify_all();
    if (progress_.joinable()) progress_.join();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int64_t bucket_bytes() const override { return bucket_bytes_; }

  absl::Status AllreduceSum(absl::Span<float> data) override {
    return Blocking("a float sum", [&](MPI_Request* r) {
      return MPI_Iallreduce(MPI_IN_PLACE, data.data(), static_cast<int>(data.size()), MPI_FLOAT,
                            MPI_SUM, MPI_COMM_WORLD, r);
    });
  }
  absl::Status AllreduceSum(absl::Span<double> data) override {
    return Blocking("the metrics' sum", [&](MPI_Request* r) {
      return MPI_Iallreduce(MPI_IN_PLACE, data.data(), static_cast<int>(data.size()),
                            MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, r);
    });
  }
  absl::Status Broadcast(void* data, int64_t bytes, int root) override {
    // In chunks below 2 GiB (MPI counts are ints).
    constexpr int64_t kChunk = int64_t{1} << 30;
    for (int64_t at = 0; at < bytes; at += kChunk) {
      const int n = static_cast<int>(std::min(kChunk, bytes - at));
      absl::Status s = Blocking("rank 0's weights (broadcast)", [&](MPI_Request* r) {
        return MPI_Ibcast(static_cast<char*>(data) + at, n, MPI_BYTE, root, MPI_COMM_WORLD, r);
      });
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  absl::Status Allgatherv(const void* data, void* out,
                          const std::vector<int64_t>& bytes_per_rank) override {
    std::vector<int> counts(size_), displs(size_);
    int64_t at = 0;
    for (int r = 0; r < size_; ++r) {
      if (bytes_per_rank[r] > INT32_MAX || at > INT32_MAX) {
        return absl::InvalidArgumentError(absl::StrCat(
            "gathering ", bytes_per_rank[r], " bytes from rank ", r,
            ": over MPI's 2 GiB per call. Fix: predict in smaller parts"));
      }
      counts[r] = static_cast<int>(bytes_per_rank[r]);
      displs[r] = static_cast<int>(at);
      at += bytes_per_rank[r];
    }
    return Blocking("the ranks' predictions (allgather)", [&](MPI_Request* r) {
      return MPI_Iallgatherv(data, counts[rank_], MPI_BYTE, out, counts.data(), displs.data(),
                             MPI_BYTE, MPI_COMM_WORLD, r);
    });
  }

  absl::StatusOr<int64_t> StartAllreduceSum(absl::Span<float> data) override {
    std::lock_guard<std::mutex> lock(mu_);
    MPI_Request r;
    const int rc = MPI_Iallreduce(MPI_IN_PLACE, data.data(), static_cast<int>(data.size()),
                                  MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &r);
    if (rc != MPI_SUCCESS) return Fatal(rc, "starting a gradient bucket's sum");
    ++stats_.buckets;
    stats_.bytes += static_cast<int64_t>(data.size() * sizeof(float));
    const int64_t h = next_handle_++;
    pending_[h] = r;
    if (size_ > 1 && !progress_.joinable()) progress_ = std::thread([this] { ProgressLoop(); });
    in_flight_.notify_one();
    return h;
  }
  void Progress() override {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [h, r] : pending_) {
      int done = 0;
      MPI_Test(&r, &done, MPI_STATUS_IGNORE);
      if (done) r = MPI_REQUEST_NULL;  // MPI_Test set it already; kept for Wait
    }
  }
  absl::Status Wait(int64_t handle) override {
    MPI_Request r;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = pending_.find(handle);
      if (it == pending_.end()) return absl::InternalError("waiting for an unknown bucket");
      r = it->second;
      pending_.erase(it);
    }
    const auto start = std::chrono::steady_clock::now();
    absl::Status s = WaitFor(r, "a gradient bucket's sum");
    const double waited =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::lock_guard<std::mutex> lock(mu_);
    stats_.wait_seconds += waited;
    return s;
  }
  GradientStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

 private:
  template <typename Start>
  absl::Status Blocking(const char* what, Start start) {
    MPI_Request r;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const int rc = start(&r);
      if (rc != MPI_SUCCESS) return Fatal(rc, what);
    }
    return WaitFor(r, what);
  }

  // The progress thread: MPI_Test on the buckets in flight, then sleep; errors are left for Wait.
  void ProgressLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      bool any = false;
      for (auto& [h, r] : pending_) {
        if (r == MPI_REQUEST_NULL) continue;
        int done = 0;
        if (MPI_Test(&r, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done) any = true;
      }
      if (!any) {
        in_flight_.wait(lock);
        continue;
      }
      // Not holding the lock meanwhile (a wait on the condition variable releases it); a new
      // bucket or the destructor wakes it early.
      in_flight_.wait_for(lock, std::chrono::duration<double, std::micro>(progress_us_));
    }
  }

  // MPI_Test until done; past the timeout, the job ends: a peer is gone or stalled, and an
  // error returned here alone would leave the other ranks waiting.
  absl::Status WaitFor(MPI_Request& r, const char* what) {
    const auto start = std::chrono::steady_clock::now();
    for (int64_t spins = 0;; ++spins) {
      int done = 0;
      int rc;
      {
        std::lock_guard<std::mutex> lock(mu_);
        rc = r == MPI_REQUEST_NULL ? MPI_SUCCESS : MPI_Test(&r, &done, MPI_STATUS_IGNORE);
        if (r == MPI_REQUEST_NULL) done = 1;
      }
      if (rc != MPI_SUCCESS) return Fatal(rc, what);
      if (done) return absl::OkStatus();
      if (spins < 2000) {
        sched_yield();
        continue;
      }
      const double waited =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (waited > timeout_s_) {
        const std::string msg = absl::StrCat(
            "graft::distributed: rank ", rank_, " of ", size_, " (", host_, ", pid ", getpid(),
            ") waited ", static_cast<int64_t>(waited), " s for ", what,
            " without every rank arriving: a rank has died, stalled or left the training loop "
            "(different epochs, data sizes or an early return on one rank). Aborting the job. "
            "Fix: look for the failing rank's message above; raise GRAFT_DIST_TIMEOUT_S (now ",
            timeout_s_, " s) if a rank legitimately needs longer (a long save or evaluation "
            "on rank 0)");
        std::fprintf(stderr, "%s\n", msg.c_str());
        std::fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 70);
        return absl::DeadlineExceededError(msg);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  absl::Status Fatal(int rc, const char* what) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    const std::string msg = absl::StrCat("graft::distributed: rank ", rank_, " of ", size_, " (",
                                         host_, "): MPI failed during ", what, ": ",
                                         std::string(text, len), ". Aborting the job");
    std::fprintf(stderr, "%s\n", msg.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 71);
    return absl::UnavailableError(msg);
  }

  int rank_ = 0, size_ = 1;
  std::string host_;
  double timeout_s_;
  int64_t bucket_bytes_;
  std::mutex mu_;
  std::map<int64_t, MPI_Request> pending_;
  int64_t next_handle_ = 0;
  GradientStats stats_;
  double progress_us_;
  std::thread progress_;
  std::condition_variable in_flight_;  // a bucket was started, or stop_
  bool stop_ = false;
};

MpiCommunicator* installed = nullptr;
bool we_initialised = false;

}  // namespace

Context::Context(int* argc, char*** argv, Options options) {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    int provided = 0;
    const int rc = MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided);
    if (rc != MPI_SUCCESS) {
      status_ = absl::UnavailableError(
          "graft::distributed: MPI_Init_thread failed. Fix: run under mpirun from the same Open "
          "MPI as the program links (Debian's openmpi-bin), or without mpirun for one process");
      return;
    }
    if (provided < MPI_THREAD_SERIALIZED) {
      status_ = absl::UnavailableError(absl::StrCat(
          "graft::distributed: this MPI gives thread level ", provided,
          ", graft needs MPI_THREAD_SERIALIZED (", MPI_THREAD_SERIALIZED,
          "). Fix: use an MPI built with thread support (Debian's Open MPI is)"));
      return;
    }
    we_initialised = true;
  }
  // A failing MPI call returns its code (graft turns it into a message and MPI_Abort) instead
  // of MPI's default of aborting without saying which call of graft's it was.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  const double timeout = options.timeout_seconds > 0 ? options.timeout_seconds
                                                     : EnvSeconds("GRAFT_DIST_TIMEOUT_S", 120);
  const int64_t bucket =
      options.bucket_bytes > 0
          ? options.bucket_bytes
          : static_cast<int64_t>(EnvSeconds("GRAFT_DIST_BUCKET_BYTES", double(256 << 10)));
  installed = new MpiCommunicator(timeout, bucket, EnvSeconds("GRAFT_DIST_PROGRESS_US", 100));
  SetCurrentCommunicator(installed);
}

Context::~Context() {
  if (installed == nullptr) return;
  SetCurrentCommunicator(nullptr);
  delete installed;
  installed = nullptr;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (we_initialised && !finalized) MPI_Finalize();
}

int Rank() {
  Communicator* c = CurrentCommunicator();
  return c == nullptr ? 0 : c->rank();
}
int Size() {
  Communicator* c = CurrentCommunicator();
  return c == nullptr ? 1 : c->size();
}
int64_t BucketBytes() {
  Communicator* c = CurrentCommunicator();
  return c == nullptr ? int64_t{256} << 10 : c->bucket_bytes();
}

GradientStats GetGradientStats() {
  return installed == nullptr ? GradientStats{} : installed->stats();
}

}  // namespace graft::distributed
