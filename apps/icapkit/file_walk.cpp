#include "file_walk.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace icapkit::app {

namespace fs = std::filesystem;

namespace {

void walk_directory(const fs::path& root, walk_result& out) {
  std::vector<fs::path> found;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
  if (ec) {
    out.errors.push_back(root.string() + ": " + ec.message());
    return;
  }
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) {
      out.errors.push_back(it->path().string() + ": " + ec.message());
      ec.clear();
      continue;
    }
    std::error_code status_ec;
    if (it->is_regular_file(status_ec)) {
      found.push_back(it->path());
    }
  }
  std::sort(found.begin(), found.end());
  for (auto& path : found) {
    out.inputs.push_back(scan_input{path.string(), path.filename().string()});
  }
}

} // namespace

walk_result expand_paths(const std::vector<std::string>& paths, bool recursive) {
  walk_result out;
  for (const auto& path : paths) {
    if (path == "-") {
      out.inputs.push_back(scan_input{"-", "stdin"});
      continue;
    }
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
      out.errors.push_back(path + ": " +
                           (ec ? ec.message() : std::string("No such file or directory")));
      continue;
    }
    if (fs::is_directory(status)) {
      if (!recursive) {
        out.errors.push_back(path + ": is a directory (use -r to scan it)");
        continue;
      }
      walk_directory(path, out);
      continue;
    }
    auto name = fs::path(path).filename().string();
    out.inputs.push_back(scan_input{path, name.empty() ? path : name});
  }
  return out;
}

} // namespace icapkit::app
