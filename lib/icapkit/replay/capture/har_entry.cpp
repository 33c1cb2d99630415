#include "icapkit/replay/capture/har_entry.hpp"
#include "icapkit/codec/head_parser.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace icapkit::replay::detail {
namespace {

using json = nlohmann::json;

[[noreturn]] void fail(const std::string& path, std::string_view problem) {
  throw har_field_error{path + ": " + std::string(problem)};
}

std::string child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string element(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

// ---- typed access to optional fields; exporters write null for "not recorded" ----

const json* find_member(const json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

std::optional<std::string_view> optional_string(const json& object, const char* key,
                                                const std::string& path) {
  const json* value = find_member(object, key);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (!value->is_string()) {
    fail(child(path, key), "expected a string");
  }
  return std::string_view(value->get_ref<const std::string&>());
}

std::string_view required_string(const json& object, const char* key, const std::string& path) {
  const auto value = optional_string(object, key, path);
  if (!value) {
    fail(child(path, key), "missing");
  }
  return *value;
}

const json* optional_of_type(const json& object, const char* key, const std::string& path,
                             bool (json::*is_type)() const noexcept, std::string_view expected) {
  const json* value = find_member(object, key);
  if (value != nullptr && !(value->*is_type)()) {
    fail(child(path, key), expected);
  }
  return value;
}

const json* optional_object(const json& object, const char* key, const std::string& path) {
  return optional_of_type(object, key, path, &json::is_object, "expected an object");
}

const json* optional_array(const json& object, const char* key, const std::string& path) {
  return optional_of_type(object, key, path, &json::is_array, "expected an array");
}

std::optional<std::int64_t> optional_integer(const json& object, const char* key,
                                             const std::string& path) {
  const json* value = find_member(object, key);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (value->is_number_unsigned()) {
    const auto number = value->get<std::uint64_t>();
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    return static_cast<std::int64_t>(number > max ? max : number);
  }
  if (value->is_number_integer()) {
    return value->get<std::int64_t>();
  }
  // Some exporters write sizes as 1234.0.
  if (value->is_number_float()) {
    const double number = value->get<double>();
    if (std::isfinite(number) && number == std::floor(number) && std::fabs(number) < 9.0e18) {
      return static_cast<std::int64_t>(number);
    }
  }
  fail(child(path, key), "expected an integer");
}

// ---- text helpers ----

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && codec::iequals(text.substr(0, prefix.size()), prefix);
}

constexpr std::string_view hex_digits = "0123456789ABCDEF";

void append_percent_encoded(std::string& out, unsigned char byte) {
  out += '%';
  out += hex_digits[byte >> 4];
  out += hex_digits[byte & 0x0F];
}

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  text = trim(text);
  if (text.empty() || text.size() > 18) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

// ---- base64 (request bodies with an encoding field, response content) ----

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  return c == '+' ? 62 : c == '/' ? 63 : -1;
}

// Standard alphabet; line breaks (some exporters wrap) are skipped, missing padding is accepted.
std::string decode_base64(std::string_view text, const std::string& path) {
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  std::uint32_t buffer = 0;
  int bits = 0;
  std::size_t symbols = 0;
  std::size_t padding = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r' || c == '\n' || c == ' ' || c == '\t') {
      continue;
    }
    if (c == '=') {
      ++padding;
      continue;
    }
    const int value = base64_value(c);
    if (value < 0 || padding > 0) {
      fail(path, "invalid base64 (unexpected character at offset " + std::to_string(i) + ")");
    }
    buffer = ((buffer << 6) | static_cast<std::uint32_t>(value)) & 0xFFFFFFu;
    bits += 6;
    ++symbols;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFFu);
    }
  }
  if (symbols % 4 == 1 || padding > 2 || (padding > 0 && (symbols + padding) % 4 != 0)) {
    fail(path, "invalid base64 (truncated or badly padded)");
  }
  return out;
}

// True for "base64", false for none; other encodings are not guessed at.
bool is_base64(std::optional<std::string_view> encoding, const std::string& path) {
  if (!encoding || encoding->empty()) {
    return false;
  }
  if (codec::iequals(*encoding, "base64")) {
    return true;
  }
  fail(path, "unsupported encoding \"" + std::string(*encoding) + "\"");
}

// ---- request line and headers ----

// The driver speaks HTTP/1.1, so HTTP/2 and HTTP/3 captures ("HTTP/2", "h2", "http/2.0", "h3")
// and unknown or empty versions are replayed as 1.1; only an explicit 1.0 is kept.
codec::version map_version(std::string_view text) {
  return codec::iequals(text, "HTTP/1.0") ? codec::version{1, 0} : codec::version{1, 1};
}

codec::header_list read_headers(const json& message, const std::string& path) {
  codec::header_list headers;
  const json* list = optional_array(message, "headers", path);
  if (list == nullptr) {
    return headers;
  }
  const std::string list_path = child(path, "headers");
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& field = (*list)[i];
    const std::string field_path = element(list_path, i);
    if (!field.is_object()) {
      fail(field_path, "expected an object");
    }
    const auto name = required_string(field, "name", field_path);
    std::string_view value = optional_string(field, "value", field_path).value_or("");
    if (name.starts_with(':')) {
      continue; // HTTP/2 pseudo-header: the request line and Host carry what it says
    }
    if (!codec::detail::is_valid_token(name)) {
      fail(child(field_path, "name"), "not a valid header name");
    }
    if (value.find('\0') != std::string_view::npos) {
      fail(child(field_path, "value"), "contains a NUL byte");
    }
    // Browsers record repeated fields (Set-Cookie) as one value joined with "\n".
    std::size_t headers_added = 0;
    for (std::size_t end = value.find('\n');; end = value.find('\n')) {
      std::string_view line = value.substr(0, end);
      if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
      }
      if (line.find('\r') != std::string_view::npos) {
        fail(child(field_path, "value"), "contains a bare CR");
      }
      if (!line.empty() || headers_added == 0) {
        headers.add(std::string(name), std::string(line));
        ++headers_added;
      }
      if (end == std::string_view::npos) {
        break;
      }
      value.remove_prefix(end + 1);
    }
  }
  return headers;
}

struct parsed_url {
  std::string scheme;    // "http" or "https"
  std::string authority; // host[:port], userinfo dropped
  std::string target;    // origin-form: "/path?query"
};

// An absolute http(s) URL; nullopt when the URL has another scheme (the entry is skipped).
std::optional<parsed_url> parse_url(std::string_view url, const std::string& path) {
  const auto colon = url.find(':');
  const auto scheme_end =
      url.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
  if (colon == std::string_view::npos || colon == 0 || scheme_end != colon) {
    fail(path, "not an absolute URL");
  }
  parsed_url out;
  for (const char c : url.substr(0, colon)) {
    out.scheme += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  if (out.scheme != "http" && out.scheme != "https") {
    return std::nullopt;
  }
  if (url.substr(colon, 3) != "://") {
    fail(path, "not an absolute URL");
  }
  std::string_view rest = url.substr(colon + 3);
  const auto authority_end = std::min(rest.find_first_of("/?#"), rest.size());
  std::string_view authority = rest.substr(0, authority_end);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  const bool host_ok =
      !authority.empty() && std::all_of(authority.begin(), authority.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte > 0x20 && byte < 0x7F &&
               std::string_view("\"<>\\^`{|}").find(c) == std::string_view::npos;
      });
  if (!host_ok) {
    fail(path, "no valid host");
  }
  out.authority = std::string(authority);
  std::string_view target = rest.substr(authority_end);
  target = target.substr(0, target.find('#'));
  if (target.empty() || target.front() == '?') {
    out.target = "/";
  }
  // Exporters usually write URLs encoded; encode what cannot go on a request line if one did not.
  for (const char c : target) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7F) {
      append_percent_encoded(out.target, byte);
    } else {
      out.target += c;
    }
  }
  return out;
}

// ---- request body: postData.text, or rebuilt from postData.params ----

struct form_param {
  std::string name;
  std::string value;
  std::optional<std::string> file_name;
  std::optional<std::string> content_type;
  bool has_value = false;
};

std::vector<form_param> read_params(const json& params, const std::string& path) {
  std::vector<form_param> out;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const json& item = params[i];
    const std::string item_path = element(path, i);
    if (!item.is_object()) {
      fail(item_path, "expected an object");
    }
    form_param param;
    param.name = std::string(required_string(item, "name", item_path));
    if (const auto value = optional_string(item, "value", item_path)) {
      // params[].encoding is the HAR 1.3 proposal's base64 file content.
      const auto encoding = optional_string(item, "encoding", item_path);
      param.value = is_base64(encoding, child(item_path, "encoding"))
                        ? decode_base64(*value, child(item_path, "value"))
                        : std::string(*value);
      param.has_value = true;
    }
    if (const auto file_name = optional_string(item, "fileName", item_path)) {
      param.file_name = std::string(*file_name);
    }
    if (const auto content_type = optional_string(item, "contentType", item_path)) {
      param.content_type = std::string(*content_type);
    }
    out.push_back(std::move(param));
  }
  return out;
}

// application/x-www-form-urlencoded as browsers serialise forms.
void append_form_encoded(std::string& out, std::string_view text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'z') ||
        (byte >= 'A' && byte <= 'Z') || c == '*' || c == '-' || c == '.' || c == '_') {
      out += c;
    } else if (c == ' ') {
      out += '+';
    } else {
      append_percent_encoded(out, byte);
    }
  }
}

std::string form_urlencode(const std::vector<form_param>& params) {
  std::string out;
  for (const auto& param : params) {
    if (!out.empty()) {
      out += '&';
    }
    append_form_encoded(out, param.name);
    out += '=';
    append_form_encoded(out, param.value);
  }
  return out;
}

// Quoted names in Content-Disposition escape as the HTML form serialisation does.
std::string quote_disposition(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') {
      out += "%22";
    } else if (c == '\r') {
      out += "%0D";
    } else if (c == '\n') {
      out += "%0A";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string build_multipart(const std::vector<form_param>& params, std::string_view boundary) {
  std::string out;
  for (const auto& param : params) {
    out += "--";
    out += boundary;
    out += "\r\nContent-Disposition: form-data; name=" + quote_disposition(param.name);
    if (param.file_name) {
      out += "; filename=" + quote_disposition(*param.file_name);
    }
    out += "\r\n";
    if (param.content_type && !param.content_type->empty()) {
      out += "Content-Type: " + *param.content_type + "\r\n";
    } else if (param.file_name) {
      out += "Content-Type: application/octet-stream\r\n";
    }
    out += "\r\n" + param.value + "\r\n";
  }
  out += "--";
  out += boundary;
  out += "--\r\n";
  return out;
}

// The boundary parameter of a multipart media type, quoted or not.
std::optional<std::string> boundary_of(std::string_view media_type) {
  while (true) {
    const auto semicolon = media_type.find(';');
    if (semicolon == std::string_view::npos) {
      return std::nullopt;
    }
    media_type.remove_prefix(semicolon + 1);
    const std::string_view parameter = trim(media_type.substr(0, media_type.find(';')));
    if (!istarts_with(parameter, "boundary=")) {
      continue;
    }
    std::string_view value = parameter.substr(9);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (!value.empty()) {
      return std::string(value);
    }
  }
}

// Deterministic (tests and repeated replays see the same bytes) and absent from every value.
std::string generate_boundary(const std::vector<form_param>& params) {
  std::uint64_t hash = 1469598103934665603ull; // FNV-1a
  for (const auto& param : params) {
    for (const char c : param.name + param.value) {
      hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
  }
  for (;; ++hash) {
    std::string boundary = "----icapkitFormBoundary";
    for (int shift = 60; shift >= 0; shift -= 4) {
      boundary += hex_digits[(hash >> shift) & 0x0F];
    }
    bool clash = false;
    for (const auto& param : params) {
      clash = clash || param.value.find(boundary) != std::string::npos;
    }
    if (!clash) {
      return boundary;
    }
  }
}

struct rebuilt_body {
  std::string body;
  std::string note; // what the params did not hold, empty when complete
};

rebuilt_body rebuild_from_params(const std::vector<form_param>& params, std::string_view mime_type,
                                 codec::header_list& headers) {
  rebuilt_body out;
  const auto content_type = headers.get("Content-Type");
  const std::string_view media_type = !mime_type.empty() ? mime_type : content_type.value_or("");
  if (!istarts_with(trim(media_type), "multipart/form-data")) {
    out.body = form_urlencode(params);
    return out;
  }
  // The body must use the boundary of the Content-Type header that is sent with it.
  auto boundary = content_type ? boundary_of(*content_type) : std::nullopt;
  if (!boundary) {
    boundary = boundary_of(media_type);
    if (!boundary) {
      boundary = generate_boundary(params);
    }
    headers.set("Content-Type", "multipart/form-data; boundary=" + *boundary);
  }
  out.body = build_multipart(params, *boundary);
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (params[i].file_name && !params[i].has_value) {
      out.note += (out.note.empty() ? "" : "; ") + std::string("postData.params[") +
                  std::to_string(i) + "] (file \"" + *params[i].file_name + "\") has no content";
    }
  }
  return out;
}

void add_note(captured_exchange& exchange, std::string_view note) {
  exchange.body_captured = false;
  if (!exchange.body_note.empty()) {
    exchange.body_note += "; ";
  }
  exchange.body_note += note;
}

// bodySize and Content-Length declare what was sent; a body shorter than either was cut by the
// exporter. (Longer is not flagged: Chrome counts bodySize in UTF-16 code units, not bytes.)
void check_declared_size(const json& request, std::string_view body_description,
                         captured_exchange& exchange) {
  std::string says;
  const auto body_size = optional_integer(request, "bodySize", "request");
  if (body_size && *body_size >= 0 &&
      static_cast<std::uint64_t>(*body_size) > exchange.body.size()) {
    says = "bodySize says " + std::to_string(*body_size);
  }
  const auto content_length = exchange.head.headers.get("Content-Length");
  const auto declared = content_length ? parse_decimal(*content_length) : std::nullopt;
  if (declared && *declared > exchange.body.size()) {
    says += (says.empty() ? "" : " and ") + std::string("Content-Length says ") +
            std::to_string(*declared);
  }
  if (!says.empty()) {
    add_note(exchange, std::string(body_description) + ", " + says);
  }
}

void read_request_body(const json& request, captured_exchange& exchange) {
  const std::string path = "request.postData";
  const json* post_data = optional_object(request, "postData", "request");
  if (post_data == nullptr) {
    check_declared_size(request, "there is no postData", exchange);
    return;
  }
  const auto text = optional_string(*post_data, "text", path);
  const json* params = optional_array(*post_data, "params", path);
  const auto mime_type = optional_string(*post_data, "mimeType", path).value_or("");
  // HAR 1.2 has no request encoding; accept the 1.3 proposal's field and a custom one.
  const auto encoding = optional_string(*post_data, "encoding", path);
  const bool base64 = encoding ? is_base64(encoding, child(path, "encoding"))
                               : is_base64(optional_string(*post_data, "_encoding", path),
                                           child(path, "_encoding"));
  std::string description;
  // The spec makes text and params exclusive; mitmproxy writes both, and text is exact.
  if (text && !text->empty()) {
    exchange.body = base64 ? decode_base64(*text, child(path, "text")) : std::string(*text);
    description = "postData.text is " + std::to_string(exchange.body.size()) + " bytes" +
                  (base64 ? " after base64 decoding" : "");
  } else if (params != nullptr && !params->empty()) {
    auto rebuilt = rebuild_from_params(read_params(*params, child(path, "params")), mime_type,
                                       exchange.head.headers);
    exchange.body = std::move(rebuilt.body);
    if (!rebuilt.note.empty()) {
      add_note(exchange, rebuilt.note);
    }
    description = "the body rebuilt from postData.params is " +
                  std::to_string(exchange.body.size()) + " bytes";
  } else {
    description = "postData.text is 0 bytes";
  }
  check_declared_size(request, description, exchange);
}

// ---- response ----

// The recorded body is decoded, so its chunked framing no longer applies.
void drop_chunked(codec::header_list& headers) {
  if (!headers.contains("Transfer-Encoding")) {
    return;
  }
  std::string remaining;
  for (const auto& field : headers) {
    if (!codec::iequals(field.name, "Transfer-Encoding")) {
      continue;
    }
    std::string_view value = field.value;
    while (!value.empty()) {
      const auto comma = std::min(value.find(','), value.size());
      const auto coding = trim(value.substr(0, comma));
      if (!coding.empty() && !codec::iequals(coding, "chunked")) {
        remaining += (remaining.empty() ? "" : ", ") + std::string(coding);
      }
      value.remove_prefix(std::min(comma + 1, value.size()));
    }
  }
  headers.remove("Transfer-Encoding");
  if (!remaining.empty()) {
    headers.add("Transfer-Encoding", std::move(remaining));
  }
}

void read_content(const json& response, recorded_response& out) {
  const std::string path = "response.content";
  const json* content = optional_object(response, "content", "response");
  if (content == nullptr) {
    return;
  }
  if (const auto text = optional_string(*content, "text", path)) {
    const auto encoding = optional_string(*content, "encoding", path);
    out.body = is_base64(encoding, child(path, "encoding"))
                   ? decode_base64(*text, child(path, "text"))
                   : std::string(*text);
  }
  // content.size is the decoded length; exporters without content keep only the size.
  const auto size = optional_integer(*content, "size", path);
  out.body_complete = !size || *size < 0 || static_cast<std::uint64_t>(*size) <= out.body.size();
}

std::optional<recorded_response> read_response(const json& entry) {
  const json* response = optional_object(entry, "response", "");
  if (response == nullptr) {
    return std::nullopt;
  }
  const auto status = optional_integer(*response, "status", "response");
  if (!status) {
    fail("response.status", "missing");
  }
  if (*status == 0) {
    return std::nullopt; // browsers record 0 when no response came (blocked, failed, canceled)
  }
  if (*status < 100 || *status > 999) {
    fail("response.status", std::to_string(*status) + " is not an HTTP status code");
  }
  recorded_response out;
  out.head.status = static_cast<int>(*status);
  out.head.http_version =
      map_version(optional_string(*response, "httpVersion", "response").value_or(""));
  out.head.reason = std::string(optional_string(*response, "statusText", "response").value_or(""));
  if (out.head.reason.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
    fail("response.statusText", "contains CR, LF or NUL");
  }
  out.head.headers = read_headers(*response, "response");
  drop_chunked(out.head.headers);
  // HAR content.text is the decoded body (HAR 1.2: compression is only a saving): a gzip
  // Content-Encoding no longer describes it, nor does the wire Content-Length.
  out.head.headers.remove("Content-Encoding");
  out.head.headers.remove("Content-Length");
  read_content(*response, out);
  return out;
}

// ---- date ----

std::optional<int> read_digits(std::string_view text, std::size_t pos, std::size_t count) {
  if (pos + count > text.size()) {
    return std::nullopt;
  }
  int value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') {
      return std::nullopt;
    }
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

// The zone at text[pos...]: "Z", "+01:00", "-0500"; minutes east of UTC.
std::optional<int> read_zone(std::string_view text, std::size_t pos) {
  if (pos + 1 == text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    return 0;
  }
  if (pos >= text.size() || (text[pos] != '+' && text[pos] != '-')) {
    return std::nullopt;
  }
  const auto hours = read_digits(text, pos + 1, 2);
  const std::size_t minutes_at = pos + 3 < text.size() && text[pos + 3] == ':' ? pos + 4 : pos + 3;
  const auto minutes = read_digits(text, minutes_at, 2);
  if (!hours || !minutes || minutes_at + 2 != text.size() || *hours > 23 || *minutes > 59) {
    return std::nullopt;
  }
  return (text[pos] == '-' ? -1 : 1) * (*hours * 60 + *minutes);
}

} // namespace

std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text) {
  using namespace std::chrono;
  const auto year = read_digits(text, 0, 4);
  const auto month = read_digits(text, 5, 2);
  const auto day = read_digits(text, 8, 2);
  const auto hour = read_digits(text, 11, 2);
  const auto minute = read_digits(text, 14, 2);
  const auto second = read_digits(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || text[13] != ':' ||
      text[16] != ':') {
    return std::nullopt;
  }
  const year_month_day date{std::chrono::year{*year},
                            std::chrono::month{static_cast<unsigned>(*month)},
                            std::chrono::day{static_cast<unsigned>(*day)}};
  if (!date.ok() || *hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  nanoseconds fraction{0};
  if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
    std::int64_t scale = 100'000'000;
    for (++pos; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos) {
      fraction += nanoseconds{(text[pos] - '0') * scale}; // digits past nanoseconds add 0
      scale /= 10;
    }
  }
  const auto zone = read_zone(text, pos);
  if (!zone) {
    return std::nullopt;
  }
  const auto instant = sys_days{date} + hours{*hour} + minutes{*minute} + seconds{*second} +
                       fraction - minutes{*zone};
  return time_point_cast<system_clock::duration>(instant);
}

std::optional<captured_exchange> convert_har_entry(const json& entry, std::string origin,
                                                   const har_warning& warn) {
  const json* request = optional_object(entry, "request", "");
  if (request == nullptr) {
    fail("request", "missing");
  }
  const auto method = required_string(*request, "method", "request");
  if (!codec::detail::is_valid_token(method)) {
    fail("request.method", "not an HTTP method token");
  }
  const auto url_text = required_string(*request, "url", "request");
  const auto url = parse_url(url_text, "request.url");
  if (!url) {
    if (warn) {
      const auto scheme = url_text.substr(0, url_text.find(':'));
      warn("request.url: a " + std::string(scheme) + ": URL is not an HTTP request; skipped");
    }
    return std::nullopt;
  }
  captured_exchange exchange;
  exchange.origin = std::move(origin);
  exchange.url = url->scheme + "://" + url->authority + url->target;
  exchange.head.method = std::string(method);
  exchange.head.target = url->target;
  exchange.head.http_version =
      map_version(optional_string(*request, "httpVersion", "request").value_or(""));
  const auto headers = read_headers(*request, "request");
  // HTTP/2 captures carry the host in :authority, dropped above; HTTP/1.1 needs Host.
  if (!headers.contains("Host")) {
    exchange.head.headers.add("Host", url->authority);
  }
  for (const auto& field : headers) {
    exchange.head.headers.add(field.name, field.value);
  }
  if (const json* started = find_member(entry, "startedDateTime");
      started && started->is_string()) {
    exchange.started = parse_iso8601(started->get_ref<const std::string&>());
  }
  read_request_body(*request, exchange);
  exchange.response = read_response(entry);
  return exchange;
}

} // namespace icapkit::replay::detail
