// Progress on stderr: a redrawn line on a terminal, a line a second in a log.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdio>

namespace mcsafe_scan {

class progress {
 public:
  progress(bool enabled, const char* what, std::size_t total)
      : enabled_(enabled && total > 0), tty_(isatty(2) != 0), what_(what), total_(total), start_(clock::now()),
        last_(start_) {}
  void update(std::size_t done) {
    if (!enabled_) return;
    const auto now = clock::now();
    // A terminal line is redrawn 5 times a second; a log gets a line a second.
    if (done < total_ && now - last_ < (tty_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(1000))) return;
    last_ = now;
    const double s = std::chrono::duration<double>(now - start_).count();
    const double rate = s > 0 ? static_cast<double>(done) / s : 0;
    char eta[32] = "?";
    if (rate > 0) std::snprintf(eta, sizeof eta, "%.0f s", static_cast<double>(total_ - done) / rate);
    constexpr double mib = 1 << 20;
    const double done_mib = static_cast<double>(done) / mib, total_mib = static_cast<double>(total_) / mib;
    std::fprintf(stderr, "%s%s %.2f / %.2f MiB (%.0f%%), %.1f MiB/s, ETA %s%s", tty_ ? "\r" : "", what_, done_mib, total_mib,
                 100.0 * done_mib / total_mib, rate / mib, eta, tty_ ? "   " : "\n");
    if (tty_ && done >= total_) std::fputc('\n', stderr);
  }

 private:
  using clock = std::chrono::steady_clock;
  bool enabled_, tty_;
  const char* what_;
  std::size_t total_;
  clock::time_point start_, last_;
};

}  // namespace mcsafe_scan
