#include "usage_errors.hpp"

#include "exit_codes.hpp"

#include <algorithm>
#include <iostream>
#include <memory>

namespace icapkit::app {

namespace {

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
// neighbouring characters each cost one.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) {
    d[i][0] = i;
  }
  for (std::size_t j = 0; j <= b.size(); ++j) {
    d[0][j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::vector<std::string> subcommand_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    names.push_back(sub->get_name());
  }
  return names;
}

std::vector<std::string> flag_names(const CLI::App& command) {
  std::vector<std::string> names;
  for (const auto* option : command.get_options()) {
    for (const auto& name : option->get_lnames()) {
      names.push_back("--" + name);
    }
    for (const auto& name : option->get_snames()) {
      names.push_back("-" + name);
    }
  }
  return names;
}

std::string suggestion(std::string_view typed, const std::vector<std::string>& candidates) {
  const auto best = closest_name(typed, candidates);
  return best.empty() ? std::string() : "; did you mean '" + best + "'?";
}

} // namespace

std::string closest_name(std::string_view typed, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = 0;
  for (const auto& candidate : candidates) {
    const auto distance = edit_distance(typed, candidate);
    // Two edits for names of six or more characters, one below: "scna" -> "scan", "lod" ->
    // "load", but not "x" -> "-q".
    const std::size_t allowed = std::max(typed.size(), candidate.size()) >= 6 ? 2 : 1;
    if (distance <= allowed && (best.empty() || distance < best_distance)) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

std::string describe_usage_error(const CLI::App& app, const CLI::ParseError& error) {
  const CLI::App* command = &app;
  for (const auto* sub : app.get_subcommands()) {
    command = sub; // at most one: require_subcommand(0, 1)
  }
  // What the command line held that no flag, positional or subcommand took, subcommand first.
  auto extras = command->remaining();
  if (command != &app) {
    const auto top = app.remaining();
    extras.insert(extras.end(), top.begin(), top.end());
  }
  const std::string where = command == &app ? "" : command->get_name() + ": ";
  for (const auto& extra : extras) {
    if (extra.size() > 1 && extra.front() == '-') {
      const auto name = extra.substr(0, extra.find('='));
      return where + "unknown flag '" + name + "'" + suggestion(name, flag_names(*command)) +
             " (see icapkit " + (command == &app ? "" : command->get_name() + " ") + "--help)";
    }
  }
  if (!extras.empty()) {
    if (command == &app) {
      return "unknown subcommand '" + extras.front() + "'" +
             suggestion(extras.front(), subcommand_names(app)) + " (see icapkit --help)";
    }
    return where + "unexpected argument '" + extras.front() + "'";
  }
  return where + error.what();
}

void setup_help(CLI::App& app) {
  auto topic = std::make_shared<std::string>();
  auto* help = app.add_subcommand(
      "help", "print the help of icapkit or of SUBCOMMAND (as icapkit SUBCOMMAND --help does)");
  help->add_option("SUBCOMMAND", *topic, "the subcommand to describe (default: icapkit itself)")
      ->type_name("");
  help->callback([&app, topic] {
    if (topic->empty()) {
      std::cout << app.get_formatter()->make_help(&app, app.get_name(), CLI::AppFormatMode::Normal);
      return;
    }
    const CLI::App* wanted = nullptr;
    for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
      if (sub->get_name() == *topic) {
        wanted = sub;
      }
    }
    if (wanted == nullptr) {
      std::cerr << "icapkit: help: unknown subcommand '" << *topic << "'"
                << suggestion(*topic, subcommand_names(app)) << " (see icapkit --help)\n";
      throw CLI::RuntimeError(exit_error);
    }
    std::cout << wanted->help(app.get_name());
  });
}

} // namespace icapkit::app
