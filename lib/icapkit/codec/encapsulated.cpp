#include "icapkit/codec/encapsulated.hpp"

#include "icapkit/codec/errc.hpp"

#include <array>
#include <charconv>
#include <initializer_list>

namespace icapkit::codec {
namespace {

struct entity_name {
  std::string_view name;
  section kind;
};
constexpr std::array<entity_name, 6> entity_names{{{"req-hdr", section::req_hdr},
                                                   {"res-hdr", section::res_hdr},
                                                   {"req-body", section::req_body},
                                                   {"res-body", section::res_body},
                                                   {"opt-body", section::opt_body},
                                                   {"null-body", section::null_body}}};

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_ows(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// The position a section must take: heads before bodies, req-hdr before res-hdr.
int rank(section s) {
  switch (s) {
  case section::req_hdr:
    return 0;
  case section::res_hdr:
    return 1;
  default:
    return 2;
  }
}

} // namespace

std::string_view to_string(section s) noexcept {
  for (const auto& e : entity_names) {
    if (e.kind == s) {
      return e.name;
    }
  }
  return "unknown";
}

bool is_body(section s) noexcept {
  return s != section::req_hdr && s != section::res_hdr;
}

std::optional<encapsulated_entity> encapsulated::body() const {
  if (!entities.empty() && is_body(entities.back().kind)) {
    return entities.back();
  }
  return std::nullopt;
}

bool encapsulated::has_chunked_body() const {
  auto b = body();
  return b && b->kind != section::null_body;
}

bool encapsulated::has(section s) const {
  for (const auto& e : entities) {
    if (e.kind == s) {
      return true;
    }
  }
  return false;
}

bool status_has_no_sections(int icap_status) noexcept {
  return icap_status == 100 || icap_status == 204;
}

bool status_carries_adapted_message(int icap_status) noexcept {
  return icap_status == 200 || icap_status == 201 || icap_status == 206;
}

std::error_code parse_encapsulated(std::string_view value, encapsulated& out, const limits& lim) {
  out.entities.clear();
  value = trim(value);
  if (value.empty()) {
    return errc::bad_encapsulated;
  }
  while (!value.empty()) {
    auto comma = value.find(',');
    auto item = trim(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    if (comma != std::string_view::npos && trim(value).empty()) {
      return errc::bad_encapsulated; // trailing comma
    }
    auto eq = item.find('=');
    if (item.empty() || eq == std::string_view::npos) {
      return errc::bad_encapsulated;
    }
    auto name = item.substr(0, eq);
    auto number = item.substr(eq + 1);
    const entity_name* found = nullptr;
    for (const auto& e : entity_names) {
      if (e.name == name) {
        found = &e;
      }
    }
    if (found == nullptr) {
      return errc::unknown_encapsulated_entity;
    }
    if (number.empty()) {
      return errc::bad_encapsulated;
    }
    std::uint64_t offset = 0;
    auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), offset);
    if (ec == std::errc::result_out_of_range) {
      return errc::encapsulated_offset_too_large;
    }
    if (ec != std::errc{} || ptr != number.data() + number.size()) {
      return errc::bad_encapsulated;
    }
    if (offset > lim.max_encapsulated_offset) {
      return errc::encapsulated_offset_too_large;
    }
    if (out.has(found->kind)) {
      return errc::duplicate_encapsulated_entity;
    }
    if (!out.entities.empty()) {
      const auto& prev = out.entities.back();
      if (is_body(prev.kind) || rank(found->kind) < rank(prev.kind) || offset <= prev.offset) {
        return errc::encapsulated_order;
      }
    } else if (offset != 0) {
      return errc::encapsulated_order; // the first section starts the ICAP body
    }
    out.entities.push_back({found->kind, offset});
  }
  return {};
}

std::error_code validate_shape(const encapsulated& enc, message_role role) {
  bool req_hdr = enc.has(section::req_hdr);
  bool res_hdr = enc.has(section::res_hdr);
  auto body = enc.body();
  auto body_is = [&](std::initializer_list<section> allowed) {
    if (!body) {
      return false;
    }
    for (auto s : allowed) {
      if (body->kind == s) {
        return true;
      }
    }
    return false;
  };
  bool ok = false;
  switch (role) {
  case message_role::reqmod_request:
    ok = !res_hdr && body_is({section::req_body, section::null_body});
    break;
  case message_role::respmod_request:
    ok = body_is({section::res_body, section::null_body});
    break;
  case message_role::options_request:
    ok = enc.entities.empty() ||
         (enc.entities.size() == 1 && body_is({section::opt_body, section::null_body}));
    break;
  case message_role::reqmod_response:
    ok = (!res_hdr && body_is({section::req_body, section::null_body})) ||
         (!req_hdr && body_is({section::res_body, section::null_body}));
    break;
  case message_role::respmod_response:
    ok = !req_hdr && body_is({section::res_body, section::null_body});
    break;
  case message_role::options_response:
    ok = enc.entities.size() == 1 && body_is({section::opt_body, section::null_body});
    break;
  }
  return ok ? std::error_code{} : make_error_code(errc::encapsulated_shape);
}

std::string to_string(const encapsulated& enc) {
  std::string out;
  out.reserve(enc.entities.size() * 24); // "req-body=123456, " fits
  for (const auto& e : enc.entities) {
    if (!out.empty()) {
      out += ", ";
    }
    out += to_string(e.kind);
    out += '=';
    out += std::to_string(e.offset);
  }
  return out;
}

encapsulated compute_encapsulated(std::optional<std::size_t> req_hdr_size,
                                  std::optional<std::size_t> res_hdr_size, section body_kind) {
  encapsulated enc;
  enc.entities.reserve(3);
  std::uint64_t offset = 0;
  if (req_hdr_size) {
    enc.entities.push_back({section::req_hdr, offset});
    offset += *req_hdr_size;
  }
  if (res_hdr_size) {
    enc.entities.push_back({section::res_hdr, offset});
    offset += *res_hdr_size;
  }
  enc.entities.push_back({body_kind, offset});
  return enc;
}

} // namespace icapkit::codec
