// icapkit: command-line ICAP (RFC 3507) testing and scanning toolkit.
// main() only wires subcommands; each lives in its own file with setup_<cmd>() and run_<cmd>().
#include "exit_codes.hpp"
#include "serve.hpp"
#include "subcommands.hpp"
#include "usage_errors.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"icapkit: ICAP (RFC 3507) testing and scanning toolkit.\n"
               "Every subcommand writes icap_log JSON with the field names of the NSX Advanced "
               "Load Balancer (Avi) application logs.",
               "icapkit"};
  app.set_version_flag("-V,--version", std::string("icapkit ") + ICAPKIT_VERSION);
  app.require_subcommand(0, 1);
  icapkit::app::setup_options(app);
  icapkit::app::setup_scan(app);
  icapkit::app::setup_serve(app);
  icapkit::app::setup_proxy(app);
  icapkit::app::setup_replay(app);
  icapkit::app::setup_report(app);
  icapkit::app::setup_load(app);
  icapkit::app::setup_help(app);
  app.footer(
      "See icapkit(1), icapkit-options(1), icapkit-scan(1), icapkit-serve(1), icapkit-proxy(1),\n"
      "icapkit-replay(1), icapkit-report(1), icapkit-load(1).");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::RuntimeError& e) {
    // A subcommand ran and finished with this status; it has said why already.
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {
    std::cerr << "icapkit: " << icapkit::app::describe_usage_error(app, e) << "\n";
    return icapkit::app::exit_error;
  }
  if (argc <= 1) {
    std::cout << app.help();
    return 0;
  }
  return 0;
}
