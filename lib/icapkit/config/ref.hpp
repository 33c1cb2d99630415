#pragma once
// References between configuration objects, in every form an Avi controller writes them:
//   NAME                                      (icapkit shorthand)
//   /api/pool?name=NAME  or  /api/pool/?name=NAME&tenant=admin
//   https://controller/api/pool/pool-UUID#NAME
//   /api/pool/pool-UUID
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace icapkit::config {

struct object_ref {
  std::string kind; // the API collection ("pool", "poolgroup"), empty for a bare name
  std::string uuid; // empty unless the ref names one
  std::string name; // empty unless the ref names one
  friend bool operator==(const object_ref&, const object_ref&) = default;
};

// Parses a ref; nullopt when it names neither a uuid nor a name (e.g. "" or "/api/pool").
std::optional<object_ref> parse_ref(std::string_view text);

// The index of the object `ref` designates: by uuid first (the controller's identity), then by
// name (an export edited by hand, or a ref with only "#NAME" matching an object without uuid).
template <typename Object>
std::optional<std::size_t> find_referenced(std::span<const Object> objects, const object_ref& ref) {
  if (!ref.uuid.empty()) {
    for (std::size_t i = 0; i < objects.size(); ++i) {
      if (objects[i].uuid == ref.uuid) {
        return i;
      }
    }
  }
  if (!ref.name.empty()) {
    for (std::size_t i = 0; i < objects.size(); ++i) {
      if (objects[i].name == ref.name) {
        return i;
      }
    }
  }
  return std::nullopt;
}

// "name NAME", "uuid UUID" or both, for a dangling-ref message.
std::string describe_ref(const object_ref& ref);

} // namespace icapkit::config
