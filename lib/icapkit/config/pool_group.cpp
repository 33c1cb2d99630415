#include "icapkit/config/pool_group.hpp"

#include "icapkit/config/json_reader.hpp"

#include <charconv>

namespace icapkit::config::detail {
namespace {

// Avi compares labels as numbers ("the higher the number, the higher the priority"), so a label
// that is not a number would have no defined order.
void read_priority(object_reader& reader, pool_group_member& member) {
  if (!reader.get_string("priority_label", member.priority_label)) {
    return;
  }
  const auto& label = member.priority_label;
  const auto [end, ec] =
      std::from_chars(label.data(), label.data() + label.size(), member.priority);
  if (label.empty() || ec != std::errc{} || end != label.data() + label.size()) {
    reader.diags().error(reader.path_of("priority_label"),
                         "\"" + label + "\" is not a number (digits only; higher = preferred)");
    member.priority = 0;
  }
}

pool_group_member read_member(const nlohmann::json& value, const std::string& path,
                              diagnostics& diags) {
  pool_group_member member;
  object_reader reader(value, path, diags);
  reader.get_string("pool_ref", member.pool_ref, true);
  read_priority(reader, member);
  reader.get_unsigned("ratio", member.ratio, 0, pool_group_member::max_ratio);
  return member;
}

} // namespace

pool_group read_pool_group(const nlohmann::json& value, const std::string& path,
                           diagnostics& diags) {
  pool_group group;
  object_reader reader(value, path, diags);
  reader.get_string("name", group.name, true);
  reader.get_string("uuid", group.uuid);
  if (const auto* members = reader.get_array("members")) {
    for (std::size_t i = 0; i < members->size(); ++i) {
      group.members.push_back(
          read_member((*members)[i], index_path(reader.path_of("members"), i), diags));
    }
  }
  return group;
}

} // namespace icapkit::config::detail
