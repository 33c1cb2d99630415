#pragma once
// Flags shared by the subcommands that talk to an ICAP server (DESIGN.md section 6): TLS,
// timeouts, extra ICAP headers, output format, verbosity and colour; and the validators every
// subcommand's numeric and time flags use, so that all say the same about a bad value. Each
// subcommand adds the groups it needs and turns them into client settings with apply_common().
#include "icapkit/client/client.hpp"
#include "icapkit/codec/message.hpp"

#include <CLI/CLI.hpp>

#include "exit_codes.hpp"
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <string_view>
#include <vector>

namespace icapkit::app {

enum class output_format { human, ndjson, json };

struct common_options {
  std::string cacert;
  std::string cert;
  std::string key;
  std::string sni;
  std::string tls_min = "1.2";
  bool insecure = false;
  std::uint32_t connect_timeout_ms = 5000;
  std::uint32_t timeout_ms = 60000;
  std::vector<std::string> icap_headers; // "Name: value", validated by the flag
  std::string x_client_ip;
  std::string output = "human";
  int verbose = 0;
  bool quiet = false;
  std::string color = "auto";
  const CLI::App* command = nullptr; // to ask whether a flag was given (profile overrides)

  bool given(const std::string& flag) const { return command && command->count(flag) > 0; }
  output_format format() const;
};

void add_tls_flags(CLI::App& command, common_options& options);
void add_timeout_flags(CLI::App& command, common_options& options);
void add_icap_header_flags(CLI::App& command, common_options& options);
// `formats` lists what --output accepts here, the first being the default.
void add_output_flags(CLI::App& command, common_options& options,
                      const std::vector<std::string>& formats);

// "Name: value" -> the field; nullopt when the name is not an HTTP token or the value holds a
// CR, LF or NUL (which would let a flag inject header lines). Whitespace around the value goes.
std::optional<codec::header_field> parse_header_line(std::string_view text);
// A CLI11 validator for flags that take "Name: value".
CLI::Validator header_line_validator();
// A CLI11 validator for IPv4/IPv6 literals.
CLI::Validator ip_address_validator();

// CLI11 validators for numeric flags. Each error says what the flag takes and quotes what was
// given, e.g. "--jobs: a whole number from 1 to 256, got 'abc'" (CLI11 adds the flag's name).
// digits only, in [min, max]
CLI::Validator whole_number(std::uint64_t min, std::uint64_t max);
// a decimal number > 0 ("2", "0.5", "1e3"), finite
CLI::Validator positive_number();
// a decimal number in [min, max]
CLI::Validator number_between(double min, double max);

// A CLI11 transformer for a flag that takes a time: "500ms", "5s", "1m30s" (load::parse_duration's
// forms); a bare number is milliseconds, as these flags took before units. The value becomes a
// whole number of milliseconds for the flag's integer variable; outside [min, max] it is an error
// ("--timeout: a duration from 1ms to 1h (e.g. 500ms, 5s, 1m30s; a bare number is ms), got ...").
CLI::Validator duration_ms(std::chrono::milliseconds min, std::chrono::milliseconds max);
// A CLI11 validator for a time with a unit and no bare number (load's --duration, --warmup).
CLI::Validator duration_with_unit();

// Copies the TLS and timeout flags that were given (so profile values stay otherwise), -H and
// --x-client-ip into `settings`. Prints the --insecure warning to stderr.
void apply_common(const common_options& options, client::client_settings& settings);

// Loads the TLS files the settings name (--cacert, --cert/--key) once, before any connection, so
// a missing file or a key that does not match its certificate is said once, not once per
// exchange. Prints one line and returns false on a problem; true when no file is named.
bool check_tls_files(const client::client_settings& settings);

// Whether to colour what goes to the stream with descriptor `fd` (--color auto: a TTY and no
// NO_COLOR in the environment).
bool use_color(const common_options& options, int fd);

// "icapkit: " + message on stderr, one line.
void print_error(std::string_view message);

} // namespace icapkit::app
