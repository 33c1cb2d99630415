// icapkit report: reads icap_log records (NDJSON, JSON arrays, pretty or concatenated documents,
// export pages) and `icapkit serve --log` lines from files or stdin, one document at a time, into
// a log_report and prints it as text, JSON or HTML. The aggregation lives in
// lib/icapkit/load/log_report; what is accepted, in lib/icapkit/log/json_splitter.
#include "common_flags.hpp"
#include "subcommands.hpp"

#include "icapkit/load/html_report.hpp"
#include "icapkit/load/load_summary.hpp"
#include "icapkit/load/log_report.hpp"
#include "icapkit/log/ndjson_reader.hpp"
#include "icapkit/mock/server_log.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace icapkit::app {

namespace {

struct report_cli {
  std::vector<std::string> files;
  std::string output = "human";
  std::string out_file;
  std::size_t top = 10;
  bool quiet = false;
  bool merge = false;
};

[[noreturn]] void fail(const std::string& message) {
  std::cerr << "icapkit report: " << message << "\n";
  throw CLI::RuntimeError(exit_error);
}

// Reads one input into the report. Unreadable documents are counted, and named on stderr as
// "FILE:LINE: message" (the line the document begins on) unless quiet; reading goes on with the
// next document.
void read_input(std::istream& in, const std::string& name, load::log_report& report, bool quiet) {
  report.begin_file(name);
  const auto unreadable = [&](const log::read_error& error) {
    report.add_unreadable(error, name);
    if (!quiet) {
      auto without_line = error;
      without_line.line = 0;
      std::cerr << name << ':' << error.line << ": " << without_line.message() << "\n";
    }
  };
  log::ndjson_reader reader(in);
  while (auto next = reader.next_document()) {
    if (!next->has_value()) {
      unreadable(next->error());
      continue;
    }
    const auto& document = next->value();
    if (mock::is_server_log_line(document)) {
      const auto entry = mock::from_json_line(document, reader.line());
      if (entry) {
        report.add_served(entry->record, entry->vendor, name, reader.line());
      } else {
        unreadable(entry.error());
      }
      continue;
    }
    const auto record = log::record_from_json(document, reader.line());
    if (record) {
      report.add(*record, name, reader.line());
    } else {
      unreadable(record.error());
    }
  }
  if (in.bad()) {
    fail(name + ": read error");
  }
}

void write_report(const report_cli& o, const load::log_report& report, std::ostream& out) {
  if (o.output == "json") {
    // Log text that is not UTF-8 (records built by other tools) must not abort the output.
    out << report.to_json().dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
        << "\n";
  } else if (o.output == "html") {
    report.write_html(out);
  } else {
    report.write_human(out);
  }
}

int run_report(const report_cli& o) {
  load::log_report_options options;
  options.slowest_listed = o.top;
  options.failed_listed = o.top * 2;
  load::log_report report(options);
  for (const auto& file : o.files) {
    if (file == "-") {
      read_input(std::cin, "(stdin)", report, o.quiet);
      continue;
    }
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec)) {
      fail(file + ": is a directory");
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      fail(file + ": cannot be opened");
    }
    try {
      read_input(in, file, report, o.quiet);
    } catch (const std::ios_base::failure& e) {
      // libstdc++'s filebuf throws from underflow on a read error (EIO, EISDIR).
      fail(file + ": read error: " + e.what());
    }
  }
  if (report.unreadable() > 0 && report.records() == 0 && report.served() == 0) {
    fail("no document could be read as an icap_log record (" + std::to_string(report.unreadable()) +
         " unreadable)");
  }
  if (o.out_file.empty()) {
    write_report(o, report, std::cout);
    std::cout.flush();
    if (!std::cout) {
      fail("standard output: write error");
    }
  } else {
    std::ofstream out(o.out_file, std::ios::trunc | std::ios::binary);
    if (out) {
      write_report(o, report, out);
      out.flush();
    }
    if (!out) {
      fail("--out " + o.out_file + ": cannot be written");
    }
  }
  if (report.unreadable() > 0 && !o.quiet) {
    std::cerr << "icapkit report: warning: " << report.unreadable()
              << " unreadable line(s) skipped\n";
  }
  return 0;
}

// --merge: adds `icapkit load --json` summaries exactly, evaluates their thresholds on the
// merged numbers, writes the merged JSON (with --output html: the HTML report) to --out and the
// human summary to stdout. Exit 1 when a threshold fails.
int run_merge(const report_cli& o) {
  std::optional<load::load_summary> merged;
  for (const auto& file : o.files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      fail(file + ": cannot be opened");
    }
    const auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded()) {
      fail(file + ": not JSON");
    }
    std::string error;
    auto summary = load::load_summary::from_json(j, error);
    if (!summary) {
      fail(file + ": " + error);
    }
    merged = merged ? load::merge(*merged, *summary) : std::move(*summary);
  }
  const bool passed = load::evaluate_thresholds(*merged);
  if (!o.out_file.empty()) {
    std::ofstream out(o.out_file, std::ios::trunc | std::ios::binary);
    if (out && o.output == "html") {
      load::write_html(out, *merged);
      out.flush();
    } else if (out) {
      out << merged->to_json().dump(2) << "\n";
      out.flush();
    }
    if (!out) {
      fail("--out " + o.out_file + ": cannot be written");
    }
  }
  load::write_human(std::cout, *merged);
  std::cout.flush();
  return passed ? 0 : 1;
}

} // namespace

void setup_report(CLI::App& app) {
  auto o = std::make_shared<report_cli>();
  auto* cmd = app.add_subcommand(
      "report", "an overview of icap_log records: counts by action, threat, status, "
                "pool...; latency percentiles; the slowest and the failed requests");
  cmd->add_option("file", o->files,
                  "icap_log records from any icapkit subcommand or exported from the load "
                  "balancer: NDJSON, JSON arrays, pretty-printed or concatenated documents, "
                  "{\"results\": [...]} pages; also icapkit serve --log lines (- = stdin)")
      ->required();
  cmd->add_option("--output", o->output, "human (default), json or html, to stdout or --out")
      ->check(CLI::IsMember({"human", "json", "html"}));
  cmd->add_option("-o,--out", o->out_file, "write the report to FILE instead of stdout");
  cmd->add_option("--top", o->top,
                  "list the N slowest records and the first 2N failed ones (default 10)")
      ->check(whole_number(1, 100000))
      ->type_name("N");
  cmd->add_flag("-q,--quiet", o->quiet, "no warnings about unreadable lines");
  cmd->add_flag("--merge", o->merge,
                "the files are icapkit load --json summaries (shards of one run): add them "
                "exactly, check their thresholds again (exit 1 when one fails), print the "
                "summary and write the merged JSON (--output html: the HTML report of the merged "
                "run) to --out");
  cmd->callback([o] {
    if (const int status = o->merge ? run_merge(*o) : run_report(*o); status != 0) {
      throw CLI::RuntimeError(status);
    }
  });
}

} // namespace icapkit::app
