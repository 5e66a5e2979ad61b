#pragma once

// MedianReporter: Google Benchmark's console output, plus each benchmark's time per iteration
// (the median when repeated) and counters, kept by name so a benchmark program can print
// ratios against its in-run baselines at the end. Subclasses override Finalize(), call
// MedianReporter::Finalize() first, then read Has()/Get().
//
// Keys are "function/args", e.g. "BM_Memcpy/4096" or "BM_Client/n:100/size:10000".

#include <benchmark/benchmark.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <map>
#include <string>
#include <vector>

namespace sotto::bench {

// Keeps freed buffers in the heap for reuse, as in a long-running client or server, whatever the
// benchmark order: by default glibc's dynamic mmap threshold decides, depending on what ran
// before, whether a case's multi-megabyte buffers are fresh pages (page-faulted in, about 2 us
// per 4 KiB page on the reference VM) or reused ones. Call at the start of main.
inline void KeepFreedBuffersInHeap() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

class MedianReporter : public benchmark::ConsoleReporter {
 public:
  struct Entry {
    double real = 0;  // seconds per iteration
    double cpu = 0;   // seconds per iteration; use for ratios on a shared machine
    std::map<std::string, double> counters;
  };

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      const bool single = run.run_type == Run::RT_Iteration && run.repetitions <= 1;
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (!single && !median) {
        continue;
      }
      std::string key = run.run_name.function_name;
      if (!run.run_name.args.empty()) {
        key += "/" + run.run_name.args;
      }
      const double unit = benchmark::GetTimeUnitMultiplier(run.time_unit);
      Entry& e = entries_[key];
      e.real = run.GetAdjustedRealTime() / unit;
      e.cpu = run.GetAdjustedCPUTime() / unit;
      for (const auto& [name, counter] : run.counters) e.counters[name] = counter.value;
    }
  }

 protected:
  bool Has(const std::string& key) const { return entries_.count(key) != 0; }
  const Entry& Get(const std::string& key) const { return entries_.at(key); }
  double Counter(const std::string& key, const std::string& name) const {
    const auto& c = Get(key).counters;
    auto it = c.find(name);
    return it == c.end() ? 0.0 : it->second;
  }

 private:
  std::map<std::string, Entry> entries_;
};

}  // namespace sotto::bench
