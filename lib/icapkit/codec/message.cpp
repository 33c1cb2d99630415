#include "icapkit/codec/message.hpp"

#include <algorithm>

namespace icapkit::codec {

std::string_view trim_ows(std::string_view s) noexcept {
  const auto ows = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && ows(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && ows(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) {
             return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
           };
           return lower(x) == lower(y);
         });
}

void header_list::add(std::string name, std::string value) {
  if (fields_.empty()) {
    fields_.reserve(8); // a head has a handful of fields: one allocation instead of four
  }
  fields_.push_back({std::move(name), std::move(value)});
}

void header_list::set(std::string_view name, std::string value) {
  auto it = std::find_if(fields_.begin(), fields_.end(),
                         [&](const header_field& f) { return iequals(f.name, name); });
  if (it == fields_.end()) {
    fields_.push_back({std::string(name), std::move(value)});
    return;
  }
  it->value = std::move(value);
  fields_.erase(std::remove_if(std::next(it), fields_.end(),
                               [&](const header_field& f) { return iequals(f.name, name); }),
                fields_.end());
}

std::size_t header_list::remove(std::string_view name) {
  auto before = fields_.size();
  std::erase_if(fields_, [&](const header_field& f) { return iequals(f.name, name); });
  return before - fields_.size();
}

std::optional<std::string_view> header_list::get(std::string_view name) const {
  for (const auto& f : fields_) {
    if (iequals(f.name, name)) {
      return f.value;
    }
  }
  return std::nullopt;
}

std::size_t header_list::count(std::string_view name) const {
  return static_cast<std::size_t>(
      std::count_if(fields_.begin(), fields_.end(),
                    [&](const header_field& f) { return iequals(f.name, name); }));
}

std::string_view to_string(icap_method m) noexcept {
  switch (m) {
  case icap_method::options:
    return "OPTIONS";
  case icap_method::reqmod:
    return "REQMOD";
  case icap_method::respmod:
    return "RESPMOD";
  case icap_method::other:
    break;
  }
  return "OTHER";
}

icap_method parse_icap_method(std::string_view token) noexcept {
  if (token == "OPTIONS") {
    return icap_method::options;
  }
  if (token == "REQMOD") {
    return icap_method::reqmod;
  }
  if (token == "RESPMOD") {
    return icap_method::respmod;
  }
  return icap_method::other;
}

std::string_view icap_reason_phrase(int status) noexcept {
  switch (status) {
  case 100:
    return "Continue";
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 204:
    return "No Content";
  case 206:
    return "Partial Content";
  case 400:
    return "Bad Request";
  case 403:
    return "Forbidden";
  case 404:
    return "ICAP Service Not Found";
  case 405:
    return "Method Not Allowed For Service";
  case 408:
    return "Request Timeout";
  case 413:
    return "Request Entity Too Large";
  case 418:
    return "Bad Composition";
  case 500:
    return "Server Error";
  case 501:
    return "Method Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Overloaded";
  case 505:
    return "ICAP Version Not Supported";
  default:
    break;
  }
  return "Unknown";
}

} // namespace icapkit::codec
