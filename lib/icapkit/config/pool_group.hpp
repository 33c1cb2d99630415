#pragma once
// Avi's PoolGroup: member pools with a priority_label (higher number = preferred) and a ratio.
#include "icapkit/config/diagnostics.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace icapkit::config {

struct pool_group_member {
  static constexpr std::uint32_t max_ratio = 1000; // Avi: 1-1000, 0 = no new connections

  std::string pool_ref;       // as written in the file
  std::string priority_label; // Avi keeps it a string; here it must be digits
  std::uint64_t priority = 0; // priority_label as a number; 0 when absent (lowest)
  std::uint32_t ratio = 1;

  std::size_t pool_index = 0; // filled by the loader: the pool pool_ref designates
};

struct pool_group {
  std::string name;
  std::string uuid;
  std::vector<pool_group_member> members;
};

namespace detail {
pool_group read_pool_group(const nlohmann::json& value, const std::string& path,
                           diagnostics& diags);
} // namespace detail

} // namespace icapkit::config
