// proc_sampler: what the generator reads about the server process from /proc, so the server's
// cost per operation is measured over exactly the generator's measured window.
//
// CPU time comes from /proc/<pid>/task/*/schedstat (nanoseconds on CPU, summed over all of
// the process's threads: Node's GC and libuv threads count too). The classic utime+stime of
// /proc/<pid>/stat ticks at 100 Hz, i.e. 10 ms, which is 10% of a 0.1 s window; both are
// reported, the schedstat figure is the one the tables use.
#pragma once

#include <cstdint>
#include <optional>
#include <sys/types.h>

namespace duplex::bench {

struct process_sample {
  std::uint64_t cpu_ns = 0;        // schedstat, all threads
  std::uint64_t stat_cpu_ns = 0;   // utime + stime from /proc/<pid>/stat (tick resolution)
  std::uint64_t rss_bytes = 0;     // VmRSS
};

// nullopt when the process is gone or /proc is unreadable.
std::optional<process_sample> sample_process(pid_t pid);

// This process's own CPU time (getrusage: user + system), in ns.
std::uint64_t self_cpu_ns();

// CLOCK_MONOTONIC in ns.
std::uint64_t now_ns();

}  // namespace duplex::bench
