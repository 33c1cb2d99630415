#include "common_flags.hpp"

#include "icapkit/config/ip_address.hpp"
#include "icapkit/load/duration.hpp"
#include "icapkit/net/tls.hpp"

#include <unistd.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iostream>

namespace icapkit::app {

namespace {

bool is_token_char(char c) {
  static constexpr std::string_view specials = "!#$%&'*+-.^_`|~";
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         specials.find(c) != std::string_view::npos;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// "2", "0.5", "1e3" as a finite double; nullopt for anything else (signs other than '-' too).
std::optional<double> read_number(const std::string& text) {
  double value = 0;
  const auto* end = text.data() + text.size();
  const auto [rest, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || rest != end || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

// 0.5 -> "0.5", 1 -> "1": bounds as a user would type them.
std::string plain_number(double value) {
  std::array<char, 32> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return ec == std::errc{} ? std::string(buffer.data(), end) : std::to_string(value);
}

// 3600000 ms -> "1h", 1500 -> "1500ms": the largest unit that divides the value.
std::string plain_duration(std::chrono::milliseconds value) {
  static constexpr std::array<std::pair<std::int64_t, std::string_view>, 3> units{
      {{3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}}};
  for (const auto& [ms, name] : units) {
    if (value.count() != 0 && value.count() % ms == 0) {
      return std::to_string(value.count() / ms) + std::string(name);
    }
  }
  return std::to_string(value.count()) + "ms";
}

} // namespace

output_format common_options::format() const {
  if (output == "ndjson") {
    return output_format::ndjson;
  }
  if (output == "json") {
    return output_format::json;
  }
  return output_format::human;
}

std::optional<codec::header_field> parse_header_line(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return std::nullopt;
  }
  const auto name = text.substr(0, colon);
  for (const char c : name) {
    if (!is_token_char(c)) {
      return std::nullopt;
    }
  }
  const auto value = trim(text.substr(colon + 1));
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return std::nullopt;
  }
  return codec::header_field{std::string(name), std::string(value)};
}

CLI::Validator header_line_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (parse_header_line(text)) {
          return {};
        }
        return "'" + text + "' is not 'Name: value' (a token name, a colon, no line breaks)";
      },
      "");
}

CLI::Validator ip_address_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (config::ip_address::parse(text)) {
          return {};
        }
        return "'" + text + "' is not an IPv4 or IPv6 address";
      },
      "");
}

CLI::Validator whole_number(std::uint64_t min, std::uint64_t max) {
  const std::string wanted =
      "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
  return CLI::Validator(
      [min, max, wanted](std::string& text) -> std::string {
        std::uint64_t value = 0;
        const auto* end = text.data() + text.size();
        const auto [rest, ec] = std::from_chars(text.data(), end, value);
        if (text.empty() || ec != std::errc{} || rest != end || value < min || value > max) {
          return wanted + ", got '" + text + "'";
        }
        return {};
      },
      "");
}

CLI::Validator positive_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (const auto value = read_number(text); !value || !(*value > 0)) {
          return "a number > 0, got '" + text + "'";
        }
        return {};
      },
      "");
}

CLI::Validator number_between(double min, double max) {
  const std::string wanted = "a number from " + plain_number(min) + " to " + plain_number(max);
  return CLI::Validator(
      [min, max, wanted](std::string& text) -> std::string {
        if (const auto value = read_number(text); !value || *value < min || *value > max) {
          return wanted + ", got '" + text + "'";
        }
        return {};
      },
      "");
}

CLI::Validator duration_ms(std::chrono::milliseconds min, std::chrono::milliseconds max) {
  const std::string wanted = "a duration from " + plain_duration(min) + " to " +
                             plain_duration(max) + " (e.g. 500ms, 5s, 1m30s; a bare number is ms)";
  auto validator = CLI::Validator(
      [min, max, wanted](std::string& text) -> std::string {
        std::string error;
        const auto value = load::parse_duration(text, std::chrono::milliseconds{1}, error);
        if (!value) {
          return wanted + ", got '" + text + "'";
        }
        // Rounded to the nearest millisecond, the unit the flag's variable holds.
        const auto ms = std::chrono::round<std::chrono::milliseconds>(*value);
        if (ms < min || ms > max) {
          return wanted + ", got '" + text + "'";
        }
        text = std::to_string(ms.count());
        return {};
      },
      "");
  return validator;
}

CLI::Validator duration_with_unit() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::string error;
        if (!load::parse_duration(text, error)) {
          return "a duration with a unit (e.g. 30s, 2m, 1m30s), got '" + text + "'";
        }
        return {};
      },
      "");
}

void add_tls_flags(CLI::App& command, common_options& options) {
  const char* group = "TLS (icaps:// URLs)";
  command
      .add_option("--cacert", options.cacert,
                  "CA certificates (PEM) to verify the server with (default: the system's)")
      ->type_name("FILE")
      ->group(group);
  auto* cert = command
                   .add_option("--cert", options.cert,
                               "client certificate (PEM) for mutual TLS; needs --key")
                   ->type_name("FILE")
                   ->group(group);
  auto* key = command.add_option("--key", options.key, "private key (PEM) for --cert")
                  ->type_name("FILE")
                  ->group(group);
  cert->needs(key);
  key->needs(cert);
  command
      .add_option("--sni", options.sni,
                  "name to send as SNI and expect in the certificate (default: the URL's host)")
      ->type_name("NAME")
      ->group(group);
  command.add_option("--tls-min", options.tls_min, "lowest TLS version to accept (default 1.2)")
      ->check(CLI::IsMember({"1.2", "1.3"}).description(""))
      ->type_name("1.2|1.3")
      ->group(group);
  command
      .add_flag("-k,--insecure", options.insecure,
                "do not verify the server certificate or name (prints a warning)")
      ->group(group);
}

void add_timeout_flags(CLI::App& command, common_options& options) {
  using namespace std::chrono_literals;
  command
      .add_option("--connect-timeout", options.connect_timeout_ms,
                  "connect and TLS handshake deadline, e.g. 500ms, 5s; a bare number is ms "
                  "(default 5s)")
      ->transform(duration_ms(1ms, 1h))
      ->type_name("DURATION");
  command
      .add_option("--timeout", options.timeout_ms,
                  "whole-exchange deadline, like a profile's response_timeout, e.g. 30s, 1m30s; "
                  "a bare number is ms (default 60s)")
      ->transform(duration_ms(1ms, 1h))
      ->type_name("DURATION");
}

void add_icap_header_flags(CLI::App& command, common_options& options) {
  command
      .add_option("-H,--icap-header", options.icap_headers,
                  "extra ICAP request header, repeatable (default: none)")
      ->check(header_line_validator())
      ->type_name("'NAME: VALUE'")
      ->allow_extra_args(false);
  command
      .add_option("--x-client-ip", options.x_client_ip,
                  "send X-Client-IP: IP to the ICAP server (default: not sent)")
      ->check(ip_address_validator())
      ->type_name("IP");
}

void add_output_flags(CLI::App& command, common_options& options,
                      const std::vector<std::string>& formats) {
  std::string names;
  for (const auto& format : formats) {
    names += (names.empty() ? "" : "|") + format;
  }
  options.output = formats.front();
  command
      .add_option("--output", options.output,
                  "output format: " + names + " (default " + formats.front() + ")")
      ->check(CLI::IsMember(formats).description(""))
      ->type_name(names);
  command.add_flag("-v,--verbose", options.verbose, "more detail in human output (repeatable)");
  command.add_flag("-q,--quiet", options.quiet, "only problems in human output, no summary");
  command
      .add_option("--color", options.color, "colour human output: auto|always|never (default auto)")
      ->check(CLI::IsMember({"auto", "always", "never"}).description(""))
      ->type_name("WHEN");
}

bool check_tls_files(const client::client_settings& settings) {
  const auto& tls = settings.tls;
  if (tls.ca_file.empty() && tls.cert_file.empty() && tls.key_file.empty()) {
    return true;
  }
  net::error_info error;
  if (net::make_client_context(tls, error) == nullptr) {
    print_error(net::describe(error));
    return false;
  }
  return true;
}

void apply_common(const common_options& options, client::client_settings& settings) {
  if (options.given("--cacert")) {
    settings.tls.ca_file = options.cacert;
  }
  if (options.given("--cert")) {
    settings.tls.cert_file = options.cert;
    settings.tls.key_file = options.key;
  }
  if (options.given("--sni")) {
    settings.tls.sni = options.sni;
  }
  if (options.given("--tls-min")) {
    settings.tls.min_version = options.tls_min;
  }
  if (options.insecure) {
    settings.tls.insecure = true;
    print_error("warning: --insecure: the ICAP server's TLS certificate and name are not "
                "verified");
  }
  if (options.given("--connect-timeout")) {
    settings.connect_timeout = std::chrono::milliseconds{options.connect_timeout_ms};
  }
  if (options.given("--timeout")) {
    settings.response_timeout = std::chrono::milliseconds{options.timeout_ms};
  }
  // No single read or write may wait longer than the whole exchange may take.
  settings.io_timeout = std::min(settings.io_timeout, settings.response_timeout);
  for (const auto& line : options.icap_headers) {
    if (auto field = parse_header_line(line)) {
      settings.icap_headers.add(std::move(field->name), std::move(field->value));
    }
  }
  if (!options.x_client_ip.empty()) {
    settings.x_client_ip = options.x_client_ip;
  }
}

bool use_color(const common_options& options, int fd) {
  if (options.color == "always") {
    return true;
  }
  if (options.color == "never") {
    return false;
  }
  const char* no_color = std::getenv("NO_COLOR");
  return isatty(fd) != 0 && (no_color == nullptr || *no_color == '\0');
}

void print_error(std::string_view message) {
  std::cerr << "icapkit: " << message << '\n' << std::flush;
}

} // namespace icapkit::app
