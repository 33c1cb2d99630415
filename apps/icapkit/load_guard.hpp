#pragma once
// What `icapkit load` checks before a run and watches during it: the --files workload, the
// output paths (before any load is sent) and SIGINT/SIGTERM (a run stopped by a signal still
// writes its summary and outputs).
#include "icapkit/load/generator.hpp"

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace icapkit::app {

// Expands --files patterns (shell globs) into the files to send. A regular file (symlinks
// followed) is used as it is; a directory gives the regular files under it, recursively and in
// name order (other entries are skipped, symlinked directories not followed). Prints one line
// and returns false for a pattern that matches nothing, a match that cannot be read (a dangling
// symlink, a FIFO, no permission: with the OS's reason) or a directory without a regular file.
bool expand_load_files(const std::vector<std::string>& patterns, std::vector<std::string>& files);

// Checks, without changing anything, that `file` can be written: an existing regular file is
// opened for writing, a new one is created then removed. Prints "FLAG: cannot write 'FILE':
// <OS reason>" and returns false when it cannot.
bool check_output_path(const std::string& flag, const std::string& file);

// "SIGINT", "SIGTERM", else "signal N".
std::string signal_name(int number);

// While it lives, SIGINT and SIGTERM stop `control`'s run: the first with `grace` for the
// requests in flight, a second at once. Destroying it restores the default handling.
class interrupt_watch {
public:
  interrupt_watch(load::run_control& control, std::chrono::milliseconds grace);
  ~interrupt_watch();
  interrupt_watch(const interrupt_watch&) = delete;
  interrupt_watch& operator=(const interrupt_watch&) = delete;

  // The first signal received (0: none).
  int received() const noexcept { return received_.load(); }

private:
  void arm();

  load::run_control& control_;
  std::chrono::milliseconds grace_;
  asio::io_context io_;
  asio::signal_set signals_;
  std::atomic<int> received_{0};
  std::thread thread_;
};

} // namespace icapkit::app
