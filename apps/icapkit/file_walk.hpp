#pragma once
// Turns the PATH arguments of `icapkit scan` into the list of inputs to scan: files as given,
// directories walked with -r (sorted, so runs are reproducible), "-" for stdin.
#include <string>
#include <vector>

namespace icapkit::app {

struct scan_input {
  std::string path; // as given or found; "-" for stdin
  std::string name; // the base name ("eicar.com"; "stdin" for "-"): URLs and --save-modified
};

struct walk_result {
  std::vector<scan_input> inputs;
  std::vector<std::string> errors; // "DIR: is a directory (use -r to scan it)", one per path
};

// Files are taken as they are (whether they can be read is found out when scanning them, so one
// unreadable file does not stop the others); directories need `recursive`, and then contribute
// every regular file below them in name order (symbolic links to files are followed, links to
// directories are not, to avoid cycles). A path that does not exist is an error.
walk_result expand_paths(const std::vector<std::string>& paths, bool recursive);

} // namespace icapkit::app
