#include "icapkit/config/json_reader.hpp"

namespace icapkit::config::detail {

std::string join_names(std::span<const std::string_view> names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += (i == 0 ? "" : ", ");
    out += names[i];
  }
  return out;
}

std::string json_type_name(const nlohmann::json& value) {
  if (value.is_number_integer()) {
    return "integer";
  }
  if (value.is_number_float()) {
    return "number";
  }
  return value.type_name();
}

std::string json_excerpt(const nlohmann::json& value) {
  std::string text = value.dump();
  constexpr std::size_t max_excerpt = 60; // keeps one message on one line
  if (text.size() > max_excerpt) {
    text = text.substr(0, max_excerpt) + "...";
  }
  return text;
}

std::string child_path(std::string_view parent, std::string_view key) {
  std::string out(parent);
  if (!out.empty()) {
    out += '.';
  }
  out += key;
  return out;
}

std::string index_path(std::string_view parent, std::size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

object_reader::object_reader(const nlohmann::json& value, std::string path, diagnostics& diags)
    : path_(std::move(path)), diags_(diags) {
  if (value.is_object()) {
    object_ = &value;
  } else {
    diags_.error(path_,
                 "expected an object, got " + json_type_name(value) + " " + json_excerpt(value));
  }
}

object_reader::~object_reader() {
  if (object_ == nullptr) {
    return;
  }
  for (const auto& item : object_->items()) {
    if (!known_.contains(item.key())) {
      diags_.unknown_field(path_of(item.key()));
    }
  }
}

const nlohmann::json* object_reader::find(std::string_view key) {
  if (object_ == nullptr) {
    return nullptr;
  }
  known_.emplace(key);
  auto it = object_->find(key);
  if (it == object_->end() || it->is_null()) {
    return nullptr;
  }
  return &*it;
}

void object_reader::accept(std::initializer_list<std::string_view> keys) {
  for (auto key : keys) {
    known_.emplace(key);
  }
}

void object_reader::missing(std::string_view key) {
  if (object_ != nullptr) {
    diags_.error(path_of(key), "required field is missing");
  }
}

bool object_reader::get_string(std::string_view key, std::string& out, bool required) {
  const auto* value = find(key);
  if (value == nullptr) {
    if (required) {
      missing(key);
    }
    return false;
  }
  if (!value->is_string()) {
    diags_.error(path_of(key),
                 "expected a string, got " + json_type_name(*value) + " " + json_excerpt(*value));
    return false;
  }
  out = value->get<std::string>();
  if (required && out.empty()) {
    diags_.error(path_of(key), "must not be empty");
    return false;
  }
  return true;
}

bool object_reader::get_bool(std::string_view key, bool& out, bool required) {
  const auto* value = find(key);
  if (value == nullptr) {
    if (required) {
      missing(key);
    }
    return false;
  }
  if (!value->is_boolean()) {
    diags_.error(path_of(key), "expected true or false, got " + json_type_name(*value) + " " +
                                   json_excerpt(*value));
    return false;
  }
  out = value->get<bool>();
  return true;
}

bool object_reader::get_integer(std::string_view key, std::int64_t& out, std::int64_t min,
                                std::int64_t max, std::string_view unit, bool required) {
  const auto* value = find(key);
  if (value == nullptr) {
    if (required) {
      missing(key);
    }
    return false;
  }
  if (!value->is_number_integer()) {
    diags_.error(path_of(key),
                 "expected an integer, got " + json_type_name(*value) + " " + json_excerpt(*value));
    return false;
  }
  const bool huge = value->is_number_unsigned() &&
                    value->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX);
  const std::int64_t number = huge ? INT64_MAX : value->get<std::int64_t>();
  if (huge || number < min || number > max) {
    std::string message =
        value->dump() + " is out of range " + std::to_string(min) + ".." + std::to_string(max);
    if (!unit.empty()) {
      message += " (" + std::string(unit) + ")";
    }
    diags_.error(path_of(key), std::move(message));
    return false;
  }
  out = number;
  return true;
}

bool object_reader::get_string_array(std::string_view key, std::vector<std::string>& out) {
  const auto* array = get_array(key);
  if (array == nullptr) {
    return false;
  }
  std::vector<std::string> values;
  bool ok = true;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const auto& item = (*array)[i];
    if (!item.is_string()) {
      diags_.error(index_path(path_of(key), i),
                   "expected a string, got " + json_type_name(item) + " " + json_excerpt(item));
      ok = false;
      continue;
    }
    values.push_back(item.get<std::string>());
  }
  if (ok) {
    out = std::move(values);
  }
  return ok;
}

void object_reader::refuse_enum(std::string_view key, const std::string& text,
                                std::span<const std::string_view> allowed,
                                std::span<const std::string_view> unsupported) {
  for (const auto name : unsupported) {
    if (name == text) {
      diags_.error(path_of(key), text +
                                     " is valid in Avi but not supported by icapkit; use one of " +
                                     join_names(allowed));
      return;
    }
  }
  diags_.error(path_of(key), "\"" + text + "\" is not one of " + join_names(allowed));
}

const nlohmann::json* object_reader::get_array(std::string_view key, bool required) {
  const auto* value = find(key);
  if (value == nullptr) {
    if (required) {
      missing(key);
    }
    return nullptr;
  }
  if (!value->is_array()) {
    diags_.error(path_of(key),
                 "expected an array, got " + json_type_name(*value) + " " + json_excerpt(*value));
    return nullptr;
  }
  return value;
}

} // namespace icapkit::config::detail
