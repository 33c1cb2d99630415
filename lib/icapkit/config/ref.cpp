#include "icapkit/config/ref.hpp"

namespace icapkit::config {
namespace detail {

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Query values in refs are percent-encoded by the controller ("name=ICAP%20Pool").
std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (text[i] == '+') ? ' ' : text[i];
  }
  return out;
}

std::string query_name(std::string_view query) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto param = query.substr(0, amp);
    if (param.starts_with("name=")) {
      return percent_decode(param.substr(5));
    }
    query = (amp == std::string_view::npos) ? std::string_view{} : query.substr(amp + 1);
  }
  return {};
}

} // namespace detail

std::optional<object_ref> parse_ref(std::string_view text) {
  object_ref ref;
  const bool api_form = text.starts_with("/api/") || text.find("://") != std::string_view::npos;
  if (!api_form) {
    if (text.empty()) {
      return std::nullopt;
    }
    ref.name = std::string(text);
    return ref;
  }
  if (const auto hash = text.find('#'); hash != std::string_view::npos) {
    ref.name = detail::percent_decode(text.substr(hash + 1));
    text = text.substr(0, hash);
  }
  if (const auto question = text.find('?'); question != std::string_view::npos) {
    if (ref.name.empty()) {
      ref.name = detail::query_name(text.substr(question + 1));
    }
    text = text.substr(0, question);
  }
  const auto api = text.find("/api/");
  if (api == std::string_view::npos) {
    return std::nullopt;
  }
  auto rest = text.substr(api + 5); // "pool/pool-UUID", "pool/", "pool"
  while (rest.ends_with('/')) {
    rest.remove_suffix(1);
  }
  const auto slash = rest.find('/');
  ref.kind = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) {
    ref.uuid = std::string(rest.substr(slash + 1));
  }
  if (ref.kind.empty() || (ref.uuid.empty() && ref.name.empty())) {
    return std::nullopt;
  }
  return ref;
}

std::string describe_ref(const object_ref& ref) {
  std::string out;
  if (!ref.name.empty()) {
    out = "name \"" + ref.name + "\"";
  }
  if (!ref.uuid.empty()) {
    out += (out.empty() ? "" : " or ");
    out += "uuid \"" + ref.uuid + "\"";
  }
  return out;
}

} // namespace icapkit::config
