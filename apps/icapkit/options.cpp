// `icapkit options URL`: what an ICAP service says about itself (RFC 3507 4.10), human or JSON.
#include "common_flags.hpp"
#include "subcommands.hpp"

#include "icapkit/client/client.hpp"
#include "icapkit/codec/uri.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <sstream>

namespace icapkit::app {

namespace {

struct options_command {
  std::string url;
  common_options common;
};

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string text;
  for (const auto& item : items) {
    if (!text.empty()) {
      text.append(separator);
    }
    text += item;
  }
  return text;
}

std::vector<std::string> allow_list(const client::service_options& o) {
  std::vector<std::string> allow;
  if (o.allow_204) {
    allow.emplace_back("204");
  }
  if (o.allow_206) {
    allow.emplace_back("206");
  }
  if (o.allow_trailers) {
    allow.emplace_back("trailers");
  }
  return allow;
}

template <class T>
nlohmann::ordered_json optional_json(const std::optional<T>& value) {
  return value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json to_json(const std::string& url, const client::options_reply& reply) {
  nlohmann::ordered_json out;
  out["url"] = url;
  if (reply.response) {
    out["status"] = reply.response->status;
    out["reason"] = reply.response->reason;
  }
  out["latency"] = reply.latency.count();
  if (!reply.ok()) {
    out["error"] = reply.error_message;
    return out;
  }
  const auto& o = *reply.options;
  out["methods"] = o.methods;
  out["istag"] = o.istag;
  out["service"] = optional_json(o.service);
  out["service_id"] = optional_json(o.service_id);
  out["preview"] = optional_json(o.preview);
  out["transfer_preview"] = o.transfer_preview;
  out["transfer_ignore"] = o.transfer_ignore;
  out["transfer_complete"] = o.transfer_complete;
  out["allow"] = allow_list(o);
  out["max_connections"] = optional_json(o.max_connections);
  out["options_ttl"] =
      o.options_ttl ? nlohmann::ordered_json(o.options_ttl->count()) : nlohmann::ordered_json();
  out["date"] = optional_json(o.date);
  out["x_include"] = o.x_include;
  out["opt_body_type"] = optional_json(o.opt_body_type);
  auto extra = nlohmann::ordered_json::array();
  for (const auto& field : o.extra) {
    extra.push_back({{"name", field.name}, {"value", field.value}});
  }
  out["extra_headers"] = std::move(extra);
  out["warnings"] = o.warnings;
  return out;
}

std::string or_dash(const std::string& text) {
  return text.empty() ? std::string("-") : text;
}

void print_human(std::ostream& out, const std::string& url, const client::options_reply& reply,
                 int verbose) {
  const auto& o = *reply.options;
  const auto row = [&out](std::string_view name, const std::string& value) {
    out << name << ':' << std::string(19 - name.size(), ' ') << value << '\n';
  };
  out << url << "  ICAP " << reply.response->status << ' ' << reply.response->reason << "  "
      << reply.latency.count() << " ms\n";
  row("Methods", or_dash(join(o.methods, ", ")));
  row("ISTag", o.istag.empty() ? "-" : '"' + o.istag + '"');
  row("Service", o.service.value_or("-"));
  row("Service-ID", o.service_id.value_or("-"));
  row("Preview", o.preview ? std::to_string(*o.preview) : "- (no preview)");
  row("Transfer-Preview", or_dash(join(o.transfer_preview, ", ")));
  row("Transfer-Ignore", or_dash(join(o.transfer_ignore, ", ")));
  row("Transfer-Complete", or_dash(join(o.transfer_complete, ", ")));
  row("Allow", or_dash(join(allow_list(o), ", ")));
  row("Max-Connections", o.max_connections ? std::to_string(*o.max_connections) : "-");
  row("Options-TTL", o.options_ttl ? std::to_string(o.options_ttl->count()) + " s" : "-");
  if (verbose > 0 || o.date) {
    row("Date", o.date.value_or("-"));
  }
  if (!o.x_include.empty()) {
    row("X-Include", join(o.x_include, ", "));
  }
  if (o.opt_body_type) {
    row("Opt-body-type", *o.opt_body_type);
  }
  if (!o.extra.empty()) {
    out << "Other headers:\n";
    for (const auto& field : o.extra) {
      out << "  " << field.name << ": " << field.value << '\n';
    }
  }
}

asio::awaitable<void> fetch(client::client& icap, codec::uri service,
                            client::options_reply& reply) {
  reply = co_await icap.options(service, false);
}

int run_options(const options_command& cmd) {
  codec::uri service;
  if (auto ec = codec::parse_uri(cmd.url, service); ec || service.scheme.rfind("icap", 0) != 0) {
    print_error("options: URL '" + cmd.url + "' is not an icap:// or icaps:// URL" +
                (ec ? " (" + ec.message() + ")" : std::string()));
    return exit_error;
  }
  client::client_settings settings;
  apply_common(cmd.common, settings);
  if (!check_tls_files(settings)) {
    return exit_error;
  }
  asio::io_context io;
  client::client icap(io.get_executor(), settings);
  client::options_reply reply;
  asio::co_spawn(io, fetch(icap, service, reply), asio::detached);
  io.run();

  const auto url = service.to_string();
  const auto format = cmd.common.format();
  if (format != output_format::human) {
    std::cout << to_json(url, reply).dump(format == output_format::json ? 2 : -1) << '\n';
  }
  if (!reply.ok()) {
    print_error("options: " + url + ": " + reply.error_message);
    return exit_error;
  }
  for (const auto& warning : reply.options->warnings) {
    print_error("options: warning: " + warning);
  }
  if (format == output_format::human && !cmd.common.quiet) { // -q: the exit status says it
    print_human(std::cout, url, reply, cmd.common.verbose);
  }
  return exit_ok;
}

} // namespace

void setup_options(CLI::App& app) {
  auto cmd = std::make_shared<options_command>();
  auto* sub = app.add_subcommand(
      "options", "Ask an ICAP service for its capabilities (OPTIONS) and print them.\n"
                 "Exit status: 0 on ICAP 200, 2 on anything else (connection, TLS, timeout, "
                 "another status).");
  sub->add_option("URL", cmd->url, "icap://HOST[:PORT]/SERVICE or icaps://... (required)")
      ->required()
      ->type_name("");
  add_timeout_flags(*sub, cmd->common);
  add_icap_header_flags(*sub, cmd->common);
  add_output_flags(*sub, cmd->common, {"human", "json", "ndjson"});
  add_tls_flags(*sub, cmd->common);
  cmd->common.command = sub;
  sub->footer("--output json prints one JSON object (ndjson: the same on one line). See "
              "icapkit-options(1).");
  sub->callback([cmd] {
    if (const int status = run_options(*cmd); status != exit_ok) {
      throw CLI::RuntimeError(status);
    }
  });
}

} // namespace icapkit::app
