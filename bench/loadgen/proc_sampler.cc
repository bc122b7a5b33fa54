#include "proc_sampler.h"

#include <dirent.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace duplex::bench {
namespace {

// Reads a small /proc file whole; /proc files report size 0, so read until EOF.
bool read_small(const std::string& path, std::string& out) {
  std::FILE* f = std::fopen(path.c_str(), "re");
  if (!f) return false;
  out.clear();
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return true;
}

}  // namespace

std::optional<process_sample> sample_process(pid_t pid) {
  process_sample s;
  std::string base = "/proc/" + std::to_string(pid);
  std::string text;

  DIR* tasks = opendir((base + "/task").c_str());
  if (!tasks) return std::nullopt;
  while (dirent* e = readdir(tasks)) {
    if (e->d_name[0] == '.') continue;
    if (!read_small(base + "/task/" + e->d_name + "/schedstat", text)) continue;  // thread ended
    s.cpu_ns += std::strtoull(text.c_str(), nullptr, 10);
  }
  closedir(tasks);

  if (!read_small(base + "/stat", text)) return std::nullopt;
  // Field 2 (comm) may hold spaces and parentheses: fields are counted after the last ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  unsigned long long utime = 0, stime = 0;
  // After ')': state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
  // utime(14) stime(15).
  if (std::sscanf(text.c_str() + close + 1,
                  " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                  &stime) != 2)
    return std::nullopt;
  long hz = sysconf(_SC_CLK_TCK);
  s.stat_cpu_ns = (utime + stime) * (1000000000ull / static_cast<unsigned long long>(hz));

  if (!read_small(base + "/status", text)) return std::nullopt;
  auto at = text.find("VmRSS:");
  if (at != std::string::npos) s.rss_bytes = std::strtoull(text.c_str() + at + 6, nullptr, 10) * 1024;
  return s;
}

std::uint64_t self_cpu_ns() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto ns = [](const timeval& tv) {
    return static_cast<std::uint64_t>(tv.tv_sec) * 1000000000ull +
           static_cast<std::uint64_t>(tv.tv_usec) * 1000ull;
  };
  return ns(ru.ru_utime) + ns(ru.ru_stime);
}

std::uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace duplex::bench
