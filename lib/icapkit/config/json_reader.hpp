#pragma once
// Internal: reads one JSON object field by field with Avi's types, ranges and enums, reporting
// every problem with the field's JSON path. Fields never asked for are reported as unknown.
#include "icapkit/config/diagnostics.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace icapkit::config::detail {

// One name of an Avi enum and the value it maps to.
template <typename E>
struct enum_name {
  std::string_view name;
  E value;
};

template <typename E>
std::string_view enum_to_string(std::span<const enum_name<E>> names, E value) noexcept {
  for (const auto& n : names) {
    if (n.value == value) {
      return n.name;
    }
  }
  return "?";
}

// "A, B, C": the allowed values that an enum refusal lists.
std::string join_names(std::span<const std::string_view> names);

// "string", "integer", "object", … as a type error names what it found.
std::string json_type_name(const nlohmann::json& value);
// The value as it appeared in the file, shortened for messages.
std::string json_excerpt(const nlohmann::json& value);

std::string child_path(std::string_view parent, std::string_view key);
std::string index_path(std::string_view parent, std::size_t index);

class object_reader {
public:
  // `value` must outlive the reader. A non-object value is reported as a type error and every
  // read then finds nothing.
  object_reader(const nlohmann::json& value, std::string path, diagnostics& diags);
  object_reader(const object_reader&) = delete;
  object_reader& operator=(const object_reader&) = delete;
  // Reports the fields nobody read as unknown.
  ~object_reader();

  bool is_object() const noexcept { return object_ != nullptr; }
  const std::string& path() const noexcept { return path_; }
  std::string path_of(std::string_view key) const { return child_path(path_, key); }
  diagnostics& diags() noexcept { return diags_; }

  // The field's value (marking it known), or nullptr when absent. JSON null counts as absent,
  // as Avi exports write unset optional fields that way.
  const nlohmann::json* find(std::string_view key);
  // Marks fields that are accepted and deliberately unused (e.g. Avi's read-only `url`).
  void accept(std::initializer_list<std::string_view> keys);
  void missing(std::string_view key);

  // Each getter leaves `out` unchanged when the field is absent or invalid; returns true only
  // when a valid value was read.
  bool get_string(std::string_view key, std::string& out, bool required = false);
  bool get_bool(std::string_view key, bool& out, bool required = false);
  bool get_integer(std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max,
                   std::string_view unit = {}, bool required = false);
  bool get_string_array(std::string_view key, std::vector<std::string>& out);

  // `unsupported` lists Avi values that exist in Avi's enum but that icapkit does not implement:
  // they are refused with a message saying so rather than "not one of".
  template <typename E>
  bool get_enum(std::string_view key, E& out, std::span<const enum_name<E>> names,
                bool required = false, std::span<const std::string_view> unsupported = {}) {
    std::string text;
    if (!get_string(key, text, required)) {
      return false;
    }
    std::vector<std::string_view> allowed;
    for (const auto& n : names) {
      if (n.name == text) {
        out = n.value;
        return true;
      }
      allowed.push_back(n.name);
    }
    refuse_enum(key, text, allowed, unsupported);
    return false;
  }

  template <typename T>
  bool get_unsigned(std::string_view key, T& out, std::int64_t min, std::int64_t max,
                    std::string_view unit = {}, bool required = false) {
    std::int64_t value = 0;
    if (!get_integer(key, value, min, max, unit, required)) {
      return false;
    }
    out = static_cast<T>(value);
    return true;
  }

  // The field as an array (type-checked), or nullptr.
  const nlohmann::json* get_array(std::string_view key, bool required = false);

private:
  void refuse_enum(std::string_view key, const std::string& text,
                   std::span<const std::string_view> allowed,
                   std::span<const std::string_view> unsupported);

  const nlohmann::json* object_ = nullptr;
  std::string path_;
  diagnostics& diags_;
  std::set<std::string, std::less<>> known_;
};

} // namespace icapkit::config::detail
