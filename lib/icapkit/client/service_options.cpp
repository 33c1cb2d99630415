#include "icapkit/client/service_options.hpp"

#include "icapkit/client/threat_headers.hpp"

#include <algorithm>
#include <limits>

namespace icapkit::client {

namespace {

using detail::split_list;
using detail::trim;

std::string_view without_dot(std::string_view extension) noexcept {
  extension = trim(extension);
  if (!extension.empty() && extension.front() == '.') {
    extension.remove_prefix(1);
  }
  return extension;
}

bool lists_extension(const std::vector<std::string>& list, std::string_view extension) {
  return std::any_of(list.begin(), list.end(), [&](const std::string& entry) {
    return codec::iequals(without_dot(entry), extension);
  });
}

bool has_wildcard(const std::vector<std::string>& list) {
  return std::find(list.begin(), list.end(), "*") != list.end();
}

void append_list(std::vector<std::string>& out, std::string_view value) {
  for (const auto element : split_list(value)) {
    out.emplace_back(element);
  }
}

void read_istag(service_options& out, std::string_view value) {
  value = trim(value);
  out.istag_quoted = value.size() >= 2 && value.front() == '"' && value.back() == '"';
  out.istag = std::string(unquote_istag(value));
}

void read_allow(service_options& out, std::string_view value) {
  for (const auto token : split_list(value)) {
    if (token == "204") {
      out.allow_204 = true;
    } else if (token == "206") {
      out.allow_206 = true;
    } else if (codec::iequals(token, "trailers")) {
      out.allow_trailers = true;
    }
  }
}

// A number header; a bad value leaves the field unset and says so.
std::optional<std::uint64_t> read_number(service_options& out, std::string_view name,
                                         std::string_view value) {
  const auto number = detail::parse_decimal(trim(value));
  if (!number) {
    out.warnings.push_back(std::string(name) + " is not a number: \"" + std::string(value) +
                           "\"; ignored");
  }
  return number;
}

void read_numbers(service_options& out, const codec::header_field& field) {
  const auto number = read_number(out, field.name, field.value);
  if (!number) {
    return;
  }
  if (codec::iequals(field.name, "Preview")) {
    out.preview = *number;
  } else if (codec::iequals(field.name, "Max-Connections")) {
    out.max_connections = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(*number, std::numeric_limits<std::uint32_t>::max()));
  } else {
    // A TTL beyond a century is "never" for any caller; the cap keeps time_point arithmetic safe.
    constexpr std::uint64_t century = 100ULL * 365 * 24 * 3600;
    out.options_ttl = std::chrono::seconds(static_cast<std::int64_t>(std::min(*number, century)));
  }
}

// One header field into its member; false when it is not one the model knows.
bool read_known_field(service_options& out, const codec::header_field& field) {
  const auto& name = field.name;
  const std::string_view value = field.value;
  auto is = [&](std::string_view known) { return codec::iequals(name, known); };
  if (is("Methods")) {
    append_list(out.methods, value);
  } else if (is("ISTag")) {
    read_istag(out, value);
  } else if (is("Service")) {
    out.service = std::string(trim(value));
  } else if (is("Service-ID") || is("ServiceId")) {
    out.service_id = std::string(trim(value));
  } else if (is("Preview") || is("Max-Connections") || is("Options-TTL")) {
    read_numbers(out, field);
  } else if (is("Transfer-Preview")) {
    append_list(out.transfer_preview, value);
  } else if (is("Transfer-Ignore")) {
    append_list(out.transfer_ignore, value);
  } else if (is("Transfer-Complete")) {
    append_list(out.transfer_complete, value);
  } else if (is("Allow")) {
    read_allow(out, value);
  } else if (is("Date")) {
    out.date = std::string(trim(value));
  } else if (is("X-Include")) {
    append_list(out.x_include, value);
  } else if (is("Opt-body-type")) {
    out.opt_body_type = std::string(trim(value));
  } else {
    return false;
  }
  return true;
}

void check_required(service_options& out, const codec::header_list& headers) {
  if (!headers.contains("Methods")) {
    out.warnings.emplace_back("no Methods header (RFC 3507 requires one); assuming any method");
  }
  if (!headers.contains("ISTag")) {
    out.warnings.emplace_back("no ISTag header (RFC 3507 requires one)");
  }
  const int wildcards = int{has_wildcard(out.transfer_preview)} +
                        int{has_wildcard(out.transfer_ignore)} +
                        int{has_wildcard(out.transfer_complete)};
  const bool any_list = !out.transfer_preview.empty() || !out.transfer_ignore.empty() ||
                        !out.transfer_complete.empty();
  if (any_list && wildcards != 1) {
    out.warnings.emplace_back("exactly one Transfer-* list should hold '*' (RFC 3507 4.10.2); "
                              "unlisted extensions are sent complete");
  }
}

} // namespace

std::string_view to_string(transfer_decision d) noexcept {
  switch (d) {
  case transfer_decision::preview:
    return "preview";
  case transfer_decision::ignore:
    return "ignore";
  case transfer_decision::complete:
    return "complete";
  }
  return "complete";
}

std::string_view unquote_istag(std::string_view istag) noexcept {
  istag = trim(istag);
  if (istag.size() >= 2 && istag.front() == '"' && istag.back() == '"') {
    istag = istag.substr(1, istag.size() - 2);
  }
  return istag;
}

transfer_decision service_options::for_extension(std::string_view extension) const {
  if (transfer_preview.empty() && transfer_ignore.empty() && transfer_complete.empty()) {
    return preview ? transfer_decision::preview : transfer_decision::complete;
  }
  extension = without_dot(extension);
  if (!extension.empty()) {
    if (lists_extension(transfer_preview, extension)) {
      return transfer_decision::preview;
    }
    if (lists_extension(transfer_complete, extension)) {
      return transfer_decision::complete;
    }
    if (lists_extension(transfer_ignore, extension)) {
      return transfer_decision::ignore;
    }
  }
  if (has_wildcard(transfer_preview)) {
    return transfer_decision::preview;
  }
  if (has_wildcard(transfer_ignore)) {
    return transfer_decision::ignore;
  }
  return transfer_decision::complete;
}

std::optional<std::uint64_t> service_options::preview_size_for(std::string_view extension,
                                                               std::uint64_t profile_preview,
                                                               bool enable_preview) const {
  if (!enable_preview || !preview || for_extension(extension) != transfer_decision::preview) {
    return std::nullopt;
  }
  return std::min(*preview, profile_preview);
}

bool service_options::supports(codec::icap_method method) const {
  if (methods.empty()) {
    return true;
  }
  return std::any_of(methods.begin(), methods.end(), [&](const std::string& token) {
    return codec::iequals(token, codec::to_string(method));
  });
}

options_result parse_service_options(const codec::icap_response_head& response) {
  if (response.status != 200) {
    const std::string_view reason = response.reason.empty()
                                        ? codec::icap_reason_phrase(response.status)
                                        : std::string_view(response.reason);
    return options_error{response.status, "OPTIONS answered " + std::to_string(response.status) +
                                              (reason.empty() ? "" : " ") + std::string(reason)};
  }
  service_options out;
  out.status = response.status;
  for (const auto& field : response.headers) {
    if (!read_known_field(out, field)) {
      out.extra.add(field.name, field.value);
    }
  }
  check_required(out, response.headers);
  return out;
}

options_cache::store_result options_cache::store(std::string uri, service_options options,
                                                 time_point now) {
  store_result result;
  auto& slot = entries_[std::move(uri)];
  result.istag_changed =
      !slot.istag.empty() && !options.istag.empty() && slot.istag != options.istag;
  slot.istag = options.istag;
  slot.expires.reset();
  if (options.options_ttl) {
    slot.expires = now + *options.options_ttl;
  }
  slot.options = std::move(options);
  return result;
}

const service_options* options_cache::find(std::string_view uri, time_point now) const {
  const auto it = entries_.find(uri);
  if (it == entries_.end() || !it->second.options) {
    return nullptr;
  }
  if (it->second.expires && now >= *it->second.expires) {
    return nullptr;
  }
  return &*it->second.options;
}

void options_cache::invalidate(std::string_view uri) {
  const auto it = entries_.find(uri);
  if (it != entries_.end()) {
    it->second.options.reset();
    it->second.expires.reset();
  }
}

bool options_cache::istag_changed(std::string_view uri, std::string_view istag) const {
  const auto it = entries_.find(uri);
  if (it == entries_.end() || it->second.istag.empty()) {
    return false;
  }
  return unquote_istag(istag) != it->second.istag;
}

} // namespace icapkit::client
