#include "icapkit/replay/driver.hpp"

#include "icapkit/codec/body_source.hpp"
#include "icapkit/log/significance.hpp"
#include "icapkit/net/sha256.hpp"
#include "icapkit/proxy/proxy.hpp"
#include "icapkit/proxy/upstream.hpp"
#include "icapkit/replay/recorded_upstream.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace icapkit::replay {

namespace {

using clock = std::chrono::steady_clock;

// Fields the driver frames itself, or that belong to one hop only.
constexpr std::array<std::string_view, 11> dropped_fields{
    "Connection", "Keep-Alive",     "Proxy-Connection",  "TE",     "Trailer",
    "Upgrade",    "Content-Length", "Transfer-Encoding", "Expect", "Proxy-Authorization",
    replay_header};

bool expects_body(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

std::string host_of(const std::string& url) {
  codec::uri u;
  if (codec::parse_uri(url, u)) {
    return {};
  }
  return u.port_explicit ? u.authority() : (u.ipv6_literal ? "[" + u.host + "]" : u.host);
}

// The request as the driver sends it: HTTP/1.1, the recorded fields minus hop-by-hop and
// framing ones, Content-Length for the captured body, and the replay tag.
codec::http_request_head outgoing_head(const captured_exchange& e, std::size_t index) {
  codec::http_request_head head;
  head.method = e.head.method;
  head.target = e.head.target.empty() ? "/" : e.head.target;
  for (const auto& f : e.head.headers) {
    const bool dropped = std::any_of(dropped_fields.begin(), dropped_fields.end(),
                                     [&](std::string_view n) { return codec::iequals(n, f.name); });
    if (!dropped && !f.name.empty() && f.name.front() != ':') {
      head.headers.add(f.name, f.value);
    }
  }
  if (!head.headers.contains("Host")) {
    head.headers.add("Host", host_of(e.url));
  }
  if (!e.body.empty() || expects_body(head.method)) {
    head.headers.add("Content-Length", std::to_string(e.body.size()));
  }
  head.headers.add(std::string(replay_header), std::to_string(index));
  return head;
}

// path and query of a URL, for records.
void fill_request_fields(log::app_log_record& r, const captured_exchange& e) {
  r.method = e.head.method;
  if (const auto host = e.head.headers.get("Host")) {
    r.host = std::string(*host);
  } else {
    r.host = host_of(e.url);
  }
  const auto& target = e.head.target;
  const auto q = target.find('?');
  r.uri_path = target.substr(0, q);
  if (q != std::string::npos) {
    r.uri_query = target.substr(q + 1);
  }
  r.request_length = e.body.size();
}

std::vector<std::string> threats_of(const log::app_log_record& r) {
  std::vector<std::string> out;
  const auto add = [&](const std::optional<std::string>& name) {
    if (name && !name->empty() && std::find(out.begin(), out.end(), *name) == out.end()) {
      out.push_back(*name);
    }
  };
  for (const auto& request : r.icap_log.request_logs) {
    if (request.opswat_log) {
      add(request.opswat_log->threat_id);
      for (const auto& v : request.opswat_log->violations) {
        add(v.threat_name);
      }
    }
  }
  return out;
}

struct in_flight {
  outcome result;
  std::shared_ptr<const captured_exchange> exchange;
  std::optional<log::app_log_record> record; // the proxy's (in-process mode)
  bool response_done = false;
};

class replay_run {
public:
  explicit replay_run(const replay_options& options) : options_(options) {}
  ~replay_run() { shut_down(); }
  replay_run(const replay_run&) = delete;
  replay_run& operator=(const replay_run&) = delete;

  replay_report run();

private:
  bool start(std::string& error);
  bool dispatch(captured_exchange&& exchange);
  void pace(const captured_exchange& exchange);
  void not_replayed(std::size_t index, const captured_exchange& exchange);
  asio::awaitable<void> send(std::size_t index, std::shared_ptr<const captured_exchange> exchange);
  void on_proxy_record(const log::app_log_record& record, const codec::http_request_head& head);
  void finish(std::size_t index, std::unique_lock<std::mutex>& lock);
  log::app_log_record driver_record(const in_flight& f);
  void publish(const log::app_log_record& record, const outcome& result);
  void shut_down();

  const replay_options& options_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread io_thread_;
  std::unique_ptr<recorded_upstream> upstream_;
  std::unique_ptr<proxy::proxy> proxy_;
  std::unique_ptr<proxy::upstream_client> client_; // used on the io thread only
  proxy::upstream_target target_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::size_t, in_flight> pending_;
  std::vector<outcome> outcomes_;
  std::size_t next_index_ = 0;
  std::uint64_t next_log_id_ = 0;
  std::mutex publish_mutex_;

  std::optional<std::chrono::system_clock::time_point> first_started_;
  clock::time_point replay_started_;
};

bool replay_run::start(std::string& error) {
  work_.emplace(io_.get_executor());
  io_thread_ = std::thread([this] { io_.run(); });
  const bool in_process = options_.config.has_value();
  const bool own_upstream =
      in_process ? options_.upstream != upstream_mode::url : !options_.upstream_listen.empty();
  if (own_upstream) {
    upstream_ = std::make_unique<recorded_upstream>(
        io_.get_executor(), options_.upstream == upstream_mode::stub ? upstream_answer::stub
                                                                     : upstream_answer::recorded);
    const auto address = in_process ? std::string("127.0.0.1:0") : options_.upstream_listen;
    if (upstream_->start(address, error)) {
      return false;
    }
  }
  if (in_process) {
    proxy::proxy_options p;
    p.config = *options_.config;
    p.listen = {"127.0.0.1:0"};
    p.threads = options_.proxy_threads;
    p.upstream_timeout = options_.timeout;
    p.body_timeout = options_.timeout;
    codec::uri upstream;
    if (upstream_) {
      codec::parse_uri("http://" + upstream_->address(), upstream);
    } else {
      upstream = *options_.upstream_url;
    }
    p.upstream = upstream;
    p.on_request_record = [this](const log::app_log_record& r, const codec::http_request_head& h) {
      on_proxy_record(r, h);
    };
    if (options_.on_warning) {
      p.on_event = [this](const std::string& m) { options_.on_warning("proxy: " + m); };
    }
    proxy_ = std::make_unique<proxy::proxy>(std::move(p));
    if (const auto ec = proxy_->start(error)) {
      error = "in-process proxy: " + (error.empty() ? ec.message() : error);
      return false;
    }
    const auto address = proxy_->listen_addresses().front();
    const auto colon = address.rfind(':');
    target_ = {address.substr(0, colon),
               static_cast<std::uint16_t>(std::stoul(address.substr(colon + 1))), false};
  } else {
    target_ = {options_.target->host, options_.target->port, options_.target->tls()};
  }
  proxy::upstream_settings settings;
  settings.connect_timeout = std::min(options_.timeout, std::chrono::milliseconds{10000});
  settings.io_timeout = options_.timeout;
  settings.response_timeout = options_.timeout;
  // A target (Squid after an ICAP block, say) may close a connection right after answering; a
  // captured POST written on it then would fail, and is never sent twice.
  settings.reuse_for_unsafe_methods = false;
  client_ = std::make_unique<proxy::upstream_client>(io_.get_executor(), settings);
  return true;
}

replay_report replay_run::run() {
  replay_report report;
  const auto began = clock::now();
  if (!start(report.error)) {
    shut_down();
    return report;
  }
  const auto sink = [this](captured_exchange&& e) { return dispatch(std::move(e)); };
  const auto warn = [this](const capture_error& w) {
    if (options_.on_warning) {
      options_.on_warning(w.message());
    }
  };
  for (const auto& file : options_.captures) {
    if (const auto failed = read_capture(file, sink, warn)) {
      report.error = failed->message();
      break;
    }
    if (options_.limit && next_index_ >= *options_.limit) {
      break;
    }
  }
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] {
      return std::all_of(pending_.begin(), pending_.end(),
                         [](const auto& p) { return p.second.response_done; });
    });
  }
  if (proxy_) {
    proxy_->stop(); // drains: every record is out after this
  }
  {
    std::unique_lock lock(mutex_);
    while (!pending_.empty()) { // requests the proxy wrote no record for
      pending_.begin()->second.result.error = "the proxy wrote no record for this request";
      finish(pending_.begin()->first, lock);
    }
  }
  if (upstream_) {
    report.unmatched_upstream_requests = upstream_->unmatched();
  }
  shut_down();
  std::sort(outcomes_.begin(), outcomes_.end(),
            [](const outcome& a, const outcome& b) { return a.index < b.index; });
  report.outcomes = std::move(outcomes_);
  report.seconds = std::chrono::duration<double>(clock::now() - began).count();
  return report;
}

void replay_run::shut_down() {
  if (!io_thread_.joinable()) {
    return;
  }
  asio::post(io_, [this] {
    if (client_) {
      client_->close_idle();
    }
    if (upstream_) {
      upstream_->stop();
    }
    io_.stop(); // upstream connections still open end with the context
  });
  work_.reset();
  io_thread_.join();
  if (proxy_) {
    proxy_->stop();
  }
}

bool replay_run::dispatch(captured_exchange&& exchange) {
  if (!options_.filters.empty() &&
      std::none_of(options_.filters.begin(), options_.filters.end(),
                   [&](const request_filter& f) { return f.matches(exchange); })) {
    return true;
  }
  if (options_.limit && next_index_ >= *options_.limit) {
    return false;
  }
  const auto index = next_index_++;
  pace(exchange);
  if (!exchange.body_captured) {
    not_replayed(index, exchange);
    return !options_.limit || next_index_ < *options_.limit;
  }
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] {
    const auto busy = std::count_if(pending_.begin(), pending_.end(),
                                    [](const auto& p) { return !p.second.response_done; });
    return static_cast<std::size_t>(busy) < std::max(1U, options_.concurrency) &&
           pending_.size() < 4 * std::size_t{std::max(1U, options_.concurrency)} + 64;
  });
  auto shared = std::make_shared<const captured_exchange>(std::move(exchange));
  auto& f = pending_[index];
  f.exchange = shared;
  f.result.index = index;
  f.result.origin = shared->origin;
  f.result.method = shared->head.method;
  f.result.url = shared->url;
  lock.unlock();
  if (upstream_) {
    upstream_->expect(index, *shared);
  }
  asio::co_spawn(io_, send(index, std::move(shared)), asio::detached);
  return !options_.limit || next_index_ < *options_.limit;
}

// --speed: waits until the request's recorded offset from the first request, scaled.
void replay_run::pace(const captured_exchange& exchange) {
  if (options_.speed <= 0 || !exchange.started) {
    return;
  }
  if (!first_started_) {
    first_started_ = exchange.started;
    replay_started_ = clock::now();
    return;
  }
  const auto offset = std::chrono::duration<double>(*exchange.started - *first_started_).count();
  if (offset > 0) {
    std::this_thread::sleep_until(replay_started_ +
                                  std::chrono::duration_cast<clock::duration>(
                                      std::chrono::duration<double>(offset / options_.speed)));
  }
}

void replay_run::not_replayed(std::size_t index, const captured_exchange& exchange) {
  outcome o;
  o.index = index;
  o.origin = exchange.origin;
  o.method = exchange.head.method;
  o.url = exchange.url;
  o.body_captured = false;
  o.body_note = exchange.body_note;
  log::app_log_record r;
  {
    const std::lock_guard lock(mutex_);
    r = log::make_record(log::record_source::replay, ++next_log_id_,
                         std::chrono::system_clock::now());
  }
  fill_request_fields(r, exchange);
  r.request_length.reset();
  r.significant = true;
  r.significance =
      "Request body not in the capture (" + exchange.body_note + "); not replayed, not scanned.";
  r.replay = log::replayed_request{index, exchange.origin, false, exchange.body_note, {}};
  publish(r, o);
  const std::lock_guard lock(mutex_);
  outcomes_.push_back(std::move(o));
}

asio::awaitable<void> replay_run::send(std::size_t index,
                                       std::shared_ptr<const captured_exchange> exchange) {
  const auto head = outgoing_head(*exchange, index);
  const std::function<std::unique_ptr<proxy::outgoing_body>()> make_body =
      [exchange]() -> std::unique_ptr<proxy::outgoing_body> {
    return std::make_unique<proxy::source_body>(
        std::make_unique<codec::memory_body_source>(exchange->body));
  };
  const auto began = clock::now();
  proxy::send_failure failure;
  proxy::send_report attempts;
  auto response = co_await client_->send(target_, head, false, make_body, failure, attempts);
  std::optional<int> status;
  std::string error;
  if (!response) {
    error = failure.message.empty() ? failure.code.message() : failure.message;
  } else {
    status = response->head.status;
    response->reader->start_body(response->body);
    std::error_code ec;
    while (!(co_await response->reader->read_body(ec)).empty() && !ec) {
    }
    if (ec) {
      error = "reading the response body: " + ec.message();
    }
    const bool reusable = !ec && !response->upstream_wants_close;
    client_->release(std::move(*response), reusable);
  }
  std::unique_lock lock(mutex_);
  auto& f = pending_.at(index);
  f.result.sent = true;
  f.result.status = status;
  f.result.error = std::move(error);
  f.result.seconds = std::chrono::duration<double>(clock::now() - began).count();
  f.response_done = true;
  if (!proxy_ || f.record || !status) {
    finish(index, lock);
  }
  changed_.notify_all();
}

void replay_run::on_proxy_record(const log::app_log_record& record,
                                 const codec::http_request_head& head) {
  const auto tag = head.headers.get(replay_header);
  if (!tag) {
    return;
  }
  std::size_t index = 0;
  try {
    index = std::stoul(std::string(*tag));
  } catch (const std::exception&) {
    return;
  }
  std::unique_lock lock(mutex_);
  const auto found = pending_.find(index);
  if (found == pending_.end() || found->second.record) {
    return;
  }
  found->second.record = record;
  if (found->second.response_done) {
    finish(index, lock);
    changed_.notify_all();
  }
}

// Target mode: the verdict from the HTTP status and what reached the driver's upstream.
log::app_log_record replay_run::driver_record(const in_flight& f) {
  auto r = log::make_record(log::record_source::replay, ++next_log_id_,
                            std::chrono::system_clock::now());
  fill_request_fields(r, *f.exchange);
  if (f.result.status) {
    r.response_code = static_cast<std::uint32_t>(*f.result.status);
  }
  std::string note;
  auto action = log::icap_action::passed;
  const int status = f.result.status.value_or(0);
  if (!f.result.status) {
    action = log::icap_action::failed;
    note = "no response: " + f.result.error;
  } else if (upstream_) {
    const auto seen = upstream_->take(f.result.index);
    if (seen && seen->body_sha256 == net::sha256::hex_of(f.exchange->body)) {
      note = "reached the upstream unchanged";
    } else if (seen) {
      action = log::icap_action::modified;
      note = "reached the upstream modified (" + std::to_string(seen->body_size) + " bytes, " +
             std::to_string(f.exchange->body.size()) + " sent)";
    } else {
      action = status >= 500 ? log::icap_action::failed : log::icap_action::blocked;
      note = "never reached the upstream; the proxy answered " + std::to_string(status);
    }
  } else {
    const auto recorded = f.exchange->response ? f.exchange->response->head.status : 0;
    if (status >= 500 && status != recorded) {
      action = log::icap_action::failed;
    } else if (recorded != 0 ? status != recorded : status >= 400) {
      action = log::icap_action::blocked;
    }
    note = "verdict read from the HTTP status only (" + std::to_string(status) +
           (recorded != 0 ? ", recorded " + std::to_string(recorded) : std::string()) + ")";
  }
  r.icap_log.action = action;
  log::significance_conditions conditions;
  conditions.action = action;
  log::apply_significance(r, log::assess_significance(conditions));
  r.replay = log::replayed_request{f.result.index, f.exchange->origin, true, note, {}};
  return r;
}

// Called with the lock held; publishes outside it.
void replay_run::finish(std::size_t index, std::unique_lock<std::mutex>& lock) {
  auto node = pending_.extract(index);
  auto& f = node.mapped();
  log::app_log_record record;
  if (f.record) {
    if (upstream_) {
      upstream_->take(index); // forget it: the recorded response can go
    }
    record = std::move(*f.record);
    record.replay = log::replayed_request{index, f.exchange->origin, true, std::nullopt, {}};
    f.result.action = record.icap_log.action;
    f.result.threats = threats_of(record);
  } else {
    record = driver_record(f);
    if (!proxy_ || f.result.status) {
      f.result.action = record.icap_log.action;
      f.result.verdict_from_outside = true;
    }
  }
  outcomes_.push_back(f.result);
  lock.unlock();
  publish(record, f.result);
  lock.lock();
}

void replay_run::publish(const log::app_log_record& record, const outcome& result) {
  const std::lock_guard lock(publish_mutex_);
  if (options_.on_record) {
    options_.on_record(record);
  }
  if (options_.on_outcome) {
    options_.on_outcome(result);
  }
}

} // namespace

bool request_filter::matches(const captured_exchange& exchange) const {
  if (!methods.empty() &&
      std::find(methods.begin(), methods.end(), exchange.head.method) == methods.end()) {
    return false;
  }
  return !url || std::regex_search(exchange.url, *url);
}

std::optional<request_filter> parse_filter(const std::string& text, std::string& error) {
  request_filter f;
  f.text = text;
  std::string rest = text;
  const auto space = text.find(' ');
  const auto first = text.substr(0, space);
  const bool is_methods = !first.empty() &&
                          std::all_of(first.begin(), first.end(),
                                      [](char c) { return (c >= 'A' && c <= 'Z') || c == '|'; }) &&
                          first.front() != '|' && first.back() != '|';
  if (is_methods) {
    for (std::size_t at = 0; at <= first.size();) {
      const auto bar = std::min(first.find('|', at), first.size());
      f.methods.push_back(first.substr(at, bar - at));
      at = bar + 1;
    }
    rest = space == std::string::npos ? std::string() : text.substr(space + 1);
  }
  rest.erase(0, rest.find_first_not_of(' '));
  if (rest.empty() && f.methods.empty()) {
    error = "empty filter (expected METHOD, a URL regular expression, or both)";
    return std::nullopt;
  }
  if (!rest.empty()) {
    try {
      f.url = std::regex(rest, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      error = "\"" + rest + "\": not a valid regular expression (" + e.what() + ")";
      return std::nullopt;
    }
  }
  return f;
}

replay_report run_replay(const replay_options& options) {
  replay_run run(options);
  return run.run();
}

} // namespace icapkit::replay
