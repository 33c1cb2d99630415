#include "load_guard.hpp"

#include "common_flags.hpp"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <system_error>

namespace icapkit::app {

namespace {

std::string os_reason(int error) {
  return std::generic_category().message(error);
}

bool has_glob_magic(const std::string& pattern) {
  return pattern.find_first_of("*?[") != std::string::npos;
}

// Opens `path` for reading and closes it: the OS's reason when it cannot, else "".
std::string read_problem(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return os_reason(errno);
  }
  ::close(fd);
  return {};
}

// The regular files under `dir`, recursively, sorted; false (message printed) when the walk
// fails or finds none.
bool add_directory(const std::string& dir, std::vector<std::string>& files) {
  namespace fs = std::filesystem;
  std::vector<std::string> found;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_error;
    if (it->is_regular_file(type_error)) {
      found.push_back(it->path().string());
    }
  }
  if (ec) {
    print_error("--files: cannot read '" + dir + "': " + ec.message());
    return false;
  }
  if (found.empty()) {
    print_error("--files: directory '" + dir + "' holds no regular file");
    return false;
  }
  std::sort(found.begin(), found.end());
  for (auto& file : found) {
    if (const auto problem = read_problem(file); !problem.empty()) {
      print_error("--files: cannot read '" + file + "': " + problem);
      return false;
    }
    files.push_back(std::move(file));
  }
  return true;
}

bool add_match(const std::string& path, std::vector<std::string>& files) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    print_error("--files: cannot read '" + path + "': " + os_reason(errno));
    return false;
  }
  if (S_ISDIR(info.st_mode)) {
    return add_directory(path, files);
  }
  if (!S_ISREG(info.st_mode)) {
    print_error("--files: cannot read '" + path + "': not a regular file or a directory");
    return false;
  }
  if (const auto problem = read_problem(path); !problem.empty()) {
    print_error("--files: cannot read '" + path + "': " + problem);
    return false;
  }
  files.push_back(path);
  return true;
}

} // namespace

bool expand_load_files(const std::vector<std::string>& patterns, std::vector<std::string>& files) {
  for (const auto& pattern : patterns) {
    glob_t found{};
    const int rc = ::glob(pattern.c_str(), 0, nullptr, &found);
    std::vector<std::string> matches;
    for (std::size_t i = 0; rc == 0 && i < found.gl_pathc; ++i) {
      matches.emplace_back(found.gl_pathv[i]);
    }
    globfree(&found);
    if (rc == GLOB_NOMATCH && !has_glob_magic(pattern)) {
      matches.push_back(pattern); // a plain path: say why it cannot be read
    } else if (rc != 0) {
      print_error("--files: '" + pattern + "' matches no file");
      return false;
    }
    for (const auto& match : matches) {
      if (!add_match(match, files)) {
        return false;
      }
    }
  }
  return true;
}

bool check_output_path(const std::string& flag, const std::string& file) {
  const auto fail = [&](int error) {
    print_error(flag + ": cannot write '" + file + "': " + os_reason(error));
    return false;
  };
  struct stat info {};
  if (::stat(file.c_str(), &info) == 0) {
    if (S_ISDIR(info.st_mode)) {
      return fail(EISDIR);
    }
    if (!S_ISREG(info.st_mode)) {
      return true; // /dev/stdout, a FIFO: opening could block or consume a reader
    }
    const int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC); // no O_TRUNC: unchanged
    if (fd < 0) {
      return fail(errno);
    }
    ::close(fd);
    return true;
  }
  if (errno != ENOENT) {
    return fail(errno);
  }
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return fail(errno);
  }
  ::close(fd);
  ::unlink(file.c_str());
  return true;
}

std::string signal_name(int number) {
  switch (number) {
  case SIGINT:
    return "SIGINT";
  case SIGTERM:
    return "SIGTERM";
  default:
    return "signal " + std::to_string(number);
  }
}

interrupt_watch::interrupt_watch(load::run_control& control, std::chrono::milliseconds grace)
    : control_(control), grace_(grace), signals_(io_, SIGINT, SIGTERM) {
  arm();
  thread_ = std::thread([this] { io_.run(); });
}

interrupt_watch::~interrupt_watch() {
  io_.stop();
  thread_.join();
}

void interrupt_watch::arm() {
  signals_.async_wait([this](const std::error_code& ec, int number) {
    if (ec) {
      return;
    }
    int none = 0;
    if (received_.compare_exchange_strong(none, number)) {
      control_.stop(grace_);
      print_error(signal_name(number) + ": stopping; requests in flight get " +
                  std::to_string(grace_.count()) + " ms to finish (a second signal stops now)");
    } else {
      control_.stop_now(); // a second signal: the user does not want to wait
    }
    arm();
  });
}

} // namespace icapkit::app
