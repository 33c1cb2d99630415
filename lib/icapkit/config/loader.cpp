#include "icapkit/config/loader.hpp"

#include "icapkit/config/json_reader.hpp"
#include "icapkit/config/ref.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <set>
#include <sstream>

namespace icapkit::config {
namespace detail {
namespace {

std::string names_of(const auto& objects) {
  std::string out;
  for (const auto& o : objects) {
    out += (out.empty() ? "" : ", ") + ("\"" + o.name + "\"");
  }
  return out.empty() ? "none" : out;
}

// Resolves `text` (a ref written at `path`) among `objects` of API collection `kind`.
template <typename Object>
std::optional<std::size_t> resolve(const std::string& text, const std::string& path,
                                   std::string_view kind, std::string_view what,
                                   const std::vector<Object>& objects, diagnostics& diags) {
  const auto ref = parse_ref(text);
  if (!ref) {
    diags.error(path, "\"" + text + "\" is not a reference (NAME, /api/" + std::string(kind) +
                          "?name=NAME or /api/" + std::string(kind) + "/UUID#NAME)");
    return std::nullopt;
  }
  if (!ref->kind.empty() && ref->kind != kind) {
    diags.error(path,
                "\"" + text + "\" refers to a " + ref->kind + ", expected a " + std::string(kind));
    return std::nullopt;
  }
  auto index = find_referenced(std::span<const Object>(objects), *ref);
  if (!index) {
    diags.error(path, "no " + std::string(what) + " with " + describe_ref(*ref) +
                          " (defined: " + names_of(objects) + ")");
  }
  return index;
}

template <typename Object>
void check_unique_names(const std::vector<Object>& objects, std::string_view key,
                        diagnostics& diags) {
  std::set<std::string, std::less<>> seen;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    if (!objects[i].name.empty() && !seen.insert(objects[i].name).second) {
      diags.error(index_path(key, i) + ".name",
                  "\"" + objects[i].name + "\" is defined twice; refs by name would be ambiguous");
    }
  }
}

// Resolves one of a pool's health_monitor_refs. A System-* monitor (built into every Avi
// controller, so exports refer to it without carrying it) is added with Avi's default timing.
std::optional<std::size_t> resolve_monitor(const std::string& text, const std::string& path,
                                           virtual_service_config& c, diagnostics& diags) {
  const auto ref = parse_ref(text);
  if (ref && (ref->kind.empty() || ref->kind == "healthmonitor") &&
      !find_referenced(std::span<const health_monitor>(c.health_monitors), *ref)) {
    if (auto builtin = system_health_monitor(ref->name)) {
      builtin->uuid = ref->uuid;
      c.health_monitors.push_back(std::move(*builtin));
      return c.health_monitors.size() - 1;
    }
  }
  return resolve(text, path, "healthmonitor", "health monitor", c.health_monitors, diags);
}

void resolve_pool_monitors(virtual_service_config& c, diagnostics& diags) {
  for (std::size_t p = 0; p < c.pools.size(); ++p) {
    const auto& refs = c.pools[p].health_monitor_refs;
    std::vector<std::size_t> indices;
    for (std::size_t r = 0; r < refs.size(); ++r) {
      const auto path = index_path(index_path("pools", p) + ".health_monitor_refs", r);
      if (auto index = resolve_monitor(refs[r], path, c, diags)) {
        indices.push_back(*index);
      }
    }
    c.pools[p].health_monitor_indices = std::move(indices);
  }
}

// Resolves a profile's pool_group_ref (written at `key`.pool_group_ref) into pool_group_index.
void resolve_profile_group(icap_profile& profile, std::string_view key, virtual_service_config& c,
                           diagnostics& diags) {
  if (profile.pool_group_ref.empty()) {
    return; // already reported as missing
  }
  const auto path = child_path(key, "pool_group_ref");
  auto index =
      resolve(profile.pool_group_ref, path, "poolgroup", "pool group", c.pool_groups, diags);
  if (!index) {
    return;
  }
  profile.pool_group_index = *index;
  if (c.pool_groups[*index].members.empty()) {
    diags.error(path, "pool group \"" + c.pool_groups[*index].name +
                          "\" has no members; ICAP needs at least one pool");
  }
}

void resolve_refs(virtual_service_config& c, diagnostics& diags) {
  check_unique_names(c.pools, "pools", diags);
  check_unique_names(c.pool_groups, "pool_groups", diags);
  check_unique_names(c.health_monitors, "health_monitors", diags);
  for (std::size_t g = 0; g < c.pool_groups.size(); ++g) {
    auto& members = c.pool_groups[g].members;
    for (std::size_t m = 0; m < members.size(); ++m) {
      const auto path = index_path(index_path("pool_groups", g) + ".members", m) + ".pool_ref";
      if (auto index = resolve(members[m].pool_ref, path, "pool", "pool", c.pools, diags)) {
        members[m].pool_index = *index;
      }
    }
  }
  resolve_pool_monitors(c, diags);
  resolve_profile_group(c.profile, "icap_profile", c, diags);
  if (c.response_profile) {
    resolve_profile_group(*c.response_profile, "icap_response_profile", c, diags);
  }
}

template <typename Object, typename Read>
void read_array(object_reader& top, std::string_view key, std::vector<Object>& out, Read read) {
  if (const auto* array = top.get_array(key)) {
    for (std::size_t i = 0; i < array->size(); ++i) {
      out.push_back(read((*array)[i], index_path(key, i), top.diags()));
    }
  }
}

// Reads the profile at `key`: an object, or (as Avi's icap_request_profile_refs is a list of at
// most one and exports may keep the list) an array of one.
std::optional<icap_profile> read_profile(object_reader& top, std::string_view key, bool required) {
  const auto* value = top.find(key);
  if (value == nullptr) {
    if (required) {
      top.missing(key);
    }
    return std::nullopt;
  }
  if (!value->is_array()) {
    return read_icap_profile(*value, std::string(key), top.diags());
  }
  if (value->size() != 1) {
    top.diags().error(std::string(key), "expected one profile, got " +
                                            std::to_string(value->size()) +
                                            " (a virtual service takes at most one)");
    return std::nullopt;
  }
  return read_icap_profile((*value)[0], index_path(key, 0), top.diags());
}

void read_endpoints(object_reader& top, virtual_service_config& c) {
  std::string text;
  std::string error;
  if (top.get_string("listen", text)) {
    c.listen = parse_listen(text, error);
    if (!c.listen) {
      top.diags().error("listen", error);
    }
  }
  if (top.get_string("upstream", text)) {
    c.upstream = parse_upstream(text, error);
    if (!c.upstream) {
      top.diags().error("upstream", error);
    }
  }
}

void read_document(const nlohmann::json& doc, virtual_service_config& c, diagnostics& diags) {
  object_reader top(doc, "", diags);
  if (!top.is_object()) {
    return;
  }
  if (auto profile = read_profile(top, "icap_profile", true)) {
    c.profile = std::move(*profile);
  }
  c.response_profile = read_profile(top, "icap_response_profile", false);
  read_array(top, "pool_groups", c.pool_groups, read_pool_group);
  read_array(top, "pools", c.pools, read_pool);
  read_array(top, "health_monitors", c.health_monitors, read_health_monitor);
  if (const auto* policy = top.find("http_security_policy")) {
    c.security_policy = read_security_policy(*policy, "http_security_policy", diags);
  }
  read_endpoints(top, c);
}

std::string parse_error_text(std::string_view text, const nlohmann::json::parse_error& e) {
  // e.byte counts from 1 and points at the character where parsing stopped.
  std::size_t line = 1;
  std::size_t column = 1;
  const auto end = std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
  for (std::size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  std::string reason = e.what();
  if (const auto colon = reason.find(": ", reason.find("parse error"));
      colon != std::string::npos) {
    reason = reason.substr(colon + 2);
  }
  return "malformed JSON at line " + std::to_string(line) + ", column " + std::to_string(column) +
         ": " + reason;
}

load_result finish(virtual_service_config config, diagnostics& diags) {
  diags.add_unknown_fields_warning();
  load_result result;
  result.errors = diags.errors();
  result.warnings = diags.warnings();
  result.unknown_fields = diags.unknown_fields();
  if (result.errors.empty()) {
    result.config = std::move(config);
  }
  return result;
}

void resolve_tls_paths(virtual_service_config& c, const std::filesystem::path& base) {
  const auto rebase = [&](std::string& file) {
    if (!file.empty() && std::filesystem::path(file).is_relative()) {
      file = (base / file).lexically_normal().string();
    }
  };
  for (auto& p : c.pools) {
    rebase(p.tls.ca_file);
    rebase(p.tls.cert_file);
    rebase(p.tls.key_file);
  }
}

} // namespace
} // namespace detail

load_result load_config(std::string_view json_text) {
  diagnostics diags;
  virtual_service_config config;
  try {
    const auto doc = nlohmann::json::parse(json_text.begin(), json_text.end());
    detail::read_document(doc, config, diags);
    if (!diags.has_errors()) {
      detail::resolve_refs(config, diags);
    }
  } catch (const nlohmann::json::parse_error& e) {
    diags.error("", detail::parse_error_text(json_text, e));
  } catch (const std::exception& e) {
    // Loading must never throw out of the library; this is a bug, reported as an error.
    diags.error("", std::string("internal error while loading: ") + e.what());
  }
  return detail::finish(std::move(config), diags);
}

load_result load_config_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    load_result result;
    result.errors.push_back({"", "cannot open " + path.string()});
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto result = load_config(text.str());
  if (result.config) {
    detail::resolve_tls_paths(*result.config, path.parent_path());
  }
  return result;
}

} // namespace icapkit::config
