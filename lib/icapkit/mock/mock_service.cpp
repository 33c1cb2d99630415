#include "icapkit/mock/mock_service.hpp"

#include "icapkit/mock/body_scan.hpp"
#include "icapkit/mock/detector.hpp"
#include "icapkit/mock/stream_rewriter.hpp"

#include <algorithm>
#include <array>

namespace icapkit::mock {

namespace {

// Rewrites the spooled body through every rewrite in order into a new spool.
codec::body_spool rewrite_copy(const codec::body_spool& original,
                               const std::vector<rewrite_spec>& specs, const mock_context& ctx,
                               std::error_code& ec) {
  std::vector<stream_rewriter> chain;
  for (const auto& s : specs) {
    chain.emplace_back(s);
  }
  codec::body_spool out(ctx.spool_memory_limit, ctx.temp_dir);
  auto pass = [&](std::string data, std::size_t from, bool finish) {
    for (std::size_t i = from; i < chain.size(); ++i) {
      std::string next;
      chain[i].feed(data, next);
      if (finish) {
        chain[i].finish(next);
      }
      data = std::move(next);
    }
    if (!ec) {
      ec = out.append(data);
    }
  };
  auto reader = original.reader();
  std::array<char, 16 * 1024> buffer{};
  for (;;) {
    const auto n = reader->read(buffer, ec);
    if (ec || n == 0) {
      break;
    }
    pass(std::string(buffer.data(), n), 0, false);
  }
  pass({}, 0, true);
  return out;
}

class mock_transaction final : public server::transaction {
public:
  mock_transaction(std::shared_ptr<mock_context> ctx, const server::request_info& request)
      : ctx_(std::move(ctx)), request_(request), facts_(facts_of(request)),
        detector_(ctx_->rules()), scan_(ctx_->rules(), scan_options()) {
    early_ = detector_.decide_early(facts_);
  }

  server::body_action on_body(std::string_view piece) override {
    if (early_) {
      return server::body_action::answer_now;
    }
    scan_.feed(piece);
    return server::body_action::more;
  }

  asio::awaitable<server::response> on_preview_end(const server::body_state& state) override {
    if (early_) {
      co_return respond(*early_, state);
    }
    co_return server::response::continue_body();
  }

  asio::awaitable<server::response> on_complete(const server::body_state& state) override {
    if (early_) {
      co_return respond(*early_, state);
    }
    const auto d =
        detector_.decide(facts_, request_.has_body ? &scan_ : nullptr, ctx_->vendor().sanitizes());
    co_return respond(d, state);
  }

private:
  body_scan_options scan_options() const {
    body_scan_options o;
    o.multipart_boundary = facts_.multipart_boundary;
    o.spool_memory_limit = ctx_->spool_memory_limit;
    o.temp_dir = ctx_->temp_dir;
    const auto& rules = ctx_->rules().rules;
    o.keep_copy =
        request_.has_body && ((ctx_->rules().builtin.sanitize && ctx_->vendor().sanitizes()) ||
                              std::any_of(rules.begin(), rules.end(), [](const rule& r) {
                                return r.verdict.kind == verdict_kind::sanitize;
                              }));
    return o;
  }

  server::response respond(decision d, const server::body_state& state) {
    answer_input in;
    in.request = &request_;
    in.state = &state;
    in.has_body = request_.has_body;
    in.md5 = scan_.md5();
    in.sha256 = scan_.sha256();
    auto names = facts_.names;
    names.insert(names.end(), scan_.part_names().begin(), scan_.part_names().end());
    in.file_name = names.empty() ? "-" : names.front();
    if (d.source == decision_source::eicar) {
      d.threat = ctx_->vendor().eicar_threat();
    }
    if (d.kind == verdict_kind::sanitize && !prepare_rewrite(d, in)) {
      d.kind = verdict_kind::clean; // nothing to rewrite (no body seen, or spooling failed)
    }
    const rule* matched = d.matched;
    const auto name = d.rule_name;
    in.verdict = std::move(d);
    auto r = ctx_->vendor().answer(in);
    r.rule = name;
    if (matched) {
      r.delay += ctx_->next_delay(*matched);
      apply_fault(matched->fault, r);
    }
    return r;
  }

  bool prepare_rewrite(const decision& d, answer_input& in) {
    const auto* copy = scan_.copy();
    if (!copy || scan_.copy_error() || !body_seen()) {
      return false;
    }
    std::error_code ec;
    auto rewritten = rewrite_copy(*copy, d.rewrites, *ctx_, ec);
    if (ec) {
      return false;
    }
    in.rewritten_size = rewritten.size();
    in.rewritten = rewritten.reader();
    return true;
  }

  bool body_seen() const noexcept { return !early_; }

  std::shared_ptr<mock_context> ctx_;
  server::request_info request_;
  request_facts facts_;
  detector detector_;
  body_scan scan_;
  std::optional<decision> early_;
};

} // namespace

mock_context::mock_context(std::shared_ptr<personality> vendor, scenario rules)
    : vendor_(std::move(vendor)), rules_(std::move(rules)) {}

std::chrono::milliseconds mock_context::next_delay(const rule& r) {
  if (!r.delay.random()) {
    return r.delay.min;
  }
  std::lock_guard lock(mutex_);
  auto [it, inserted] = random_.try_emplace(&r, r.delay.seed);
  std::uniform_int_distribution<long long> pick(r.delay.min.count(), r.delay.max.count());
  return std::chrono::milliseconds(pick(it->second));
}

void apply_fault(const fault_spec& fault, server::response& r) {
  switch (fault.type) {
  case fault_type::none:
    return;
  case fault_type::stall:
  case fault_type::continue_then_hang:
    r.fault.kind = fault.type == fault_type::stall ? server::fault_kind::stall
                                                   : server::fault_kind::continue_then_hang;
    r.fault.stall_for = fault.limit;
    return;
  case fault_type::reset:
    r.fault.kind = server::fault_kind::reset;
    r.fault.reset_after = fault.reset_after;
    return;
  case fault_type::close_before_answer:
    r.fault.kind = server::fault_kind::close_before_answer;
    return;
  case fault_type::malformed:
    r.fault.kind = server::fault_kind::malformed;
    r.fault.raw_bytes = fault.raw;
    return;
  case fault_type::icap_status: {
    auto error = server::response::error(fault.status);
    error.delay = r.delay;
    error.rule = r.rule;
    r = std::move(error);
    return;
  }
  case fault_type::connection_close:
    r.close_connection = true;
    return;
  case fault_type::istag_change:
    r.istag = fault.istag;
    return;
  }
}

mock_service::mock_service(service_spec spec, std::shared_ptr<mock_context> context)
    : spec_(std::move(spec)), context_(std::move(context)) {}

std::string mock_service::istag() const {
  return context_->vendor().istag();
}

server::options_reply mock_service::options(const server::request_info& request) const {
  static_cast<void>(request);
  auto reply = context_->vendor().options();
  reply.extra_headers.set("Server", context_->vendor().server_header());
  return reply;
}

std::unique_ptr<server::transaction> mock_service::begin(const server::request_info& request) {
  return std::make_unique<mock_transaction>(context_, request);
}

void mock_service::finish_headers(int status, codec::header_list& icap_headers) const {
  context_->vendor().finish_headers(status, icap_headers);
}

std::vector<std::shared_ptr<server::service>>
make_services(const std::shared_ptr<mock_context>& context,
              const std::vector<std::string>& extra_names) {
  std::vector<std::shared_ptr<server::service>> out;
  for (auto& spec : context->vendor().services()) {
    out.push_back(std::make_shared<mock_service>(std::move(spec), context));
  }
  for (const auto& name : extra_names) {
    service_spec spec{name, {codec::icap_method::reqmod, codec::icap_method::respmod}};
    out.push_back(std::make_shared<mock_service>(std::move(spec), context));
  }
  return out;
}

} // namespace icapkit::mock
