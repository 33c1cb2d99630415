#pragma once
// Shared helpers for the config tests: a minimal valid document to mutate, and lookups in a
// load_result's diagnostics.
#include "icapkit/config/loader.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>

namespace icapkit::config::test {

// The smallest file that loads: one profile, one pool group, one pool, one server.
inline nlohmann::json minimal_doc() {
  return nlohmann::json::parse(R"({
    "icap_profile": {"name": "p", "pool_group_ref": "g", "service_uri": "/scan"},
    "pool_groups": [{"name": "g", "members": [{"pool_ref": "pool"}]}],
    "pools": [{"name": "pool", "servers": [{"ip": {"addr": "127.0.0.1", "type": "V4"}}]}]
  })");
}

inline load_result load(const nlohmann::json& doc) {
  return load_config(doc.dump());
}

inline bool has_error(const load_result& r, const std::string& text) {
  return std::any_of(r.errors.begin(), r.errors.end(),
                     [&](const diagnostic& d) { return d.text() == text; });
}

inline bool has_warning(const load_result& r, const std::string& text) {
  return std::any_of(r.warnings.begin(), r.warnings.end(),
                     [&](const diagnostic& d) { return d.text() == text; });
}

inline std::string all_errors(const load_result& r) {
  std::string out;
  for (const auto& e : r.errors) {
    out += e.text() + "\n";
  }
  return out;
}

// Loads `doc` with the field at `pointer` set to min, max, min-1 and max+1: the first two load,
// the last two are refused with "<path>: <value> is out of range <min>..<max> (<unit>)".
inline void check_range(nlohmann::json doc, const std::string& pointer, const std::string& path,
                        long long min, long long max, const std::string& unit) {
  const nlohmann::json::json_pointer ptr(pointer);
  const std::string suffix = unit.empty() ? "" : " (" + unit + ")";
  for (const long long ok : {min, max}) {
    doc[ptr] = ok;
    const auto r = load(doc);
    CHECK_MESSAGE(r.ok(), path << " = " << ok << ": " << all_errors(r));
  }
  for (const long long bad : {min - 1, max + 1}) {
    doc[ptr] = bad;
    const auto r = load(doc);
    CHECK_FALSE(r.ok());
    const auto expected = path + ": " + std::to_string(bad) + " is out of range " +
                          std::to_string(min) + ".." + std::to_string(max) + suffix;
    CHECK_MESSAGE(has_error(r, expected), "expected " << expected << ", got " << all_errors(r));
  }
}

} // namespace icapkit::config::test
