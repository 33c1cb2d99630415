#pragma once
// One accepted connection and the coroutine that serves it: requests one after another
// (keep-alive, pipelined bytes kept for the next request), each dispatched to its service, the
// preview/100/204 rules of RFC 3507 enforced, every wait under a deadline, faults performed.
#include "icapkit/codec/parser.hpp"
#include "icapkit/codec/serializer.hpp"
#include "icapkit/net/stream.hpp"
#include "icapkit/server/request_sink.hpp"
#include "icapkit/server/server_state.hpp"
#include "icapkit/server/trickle.hpp"

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace icapkit::server::detail {

class connection {
public:
  using clock = std::chrono::steady_clock;

  // Registers itself with `owner` (on owner's thread); the destructor unregisters and tells the
  // state the connection is gone. `fd` is the socket's descriptor, for the reset fault.
  connection(server_state& state, worker& owner, std::unique_ptr<net::stream> stream, int fd);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Serves until the peer leaves, a deadline passes, an answer closes, or the server stops.
  // `overloaded`: past max_connections, answer 503 and close.
  asio::awaitable<void> run(bool overloaded);

  // stop(): a connection waiting for its next request closes now; a busy one finishes first.
  void close_if_idle() noexcept;
  // The stop grace period is over: close whatever is happening.
  void force_close() noexcept;

private:
  enum class read_status { ok, closed, timed_out };

  asio::awaitable<void> reject_overloaded();
  asio::awaitable<bool> serve_one();
  asio::awaitable<bool> read_heads();
  asio::awaitable<bool> read_body();
  asio::awaitable<bool> drain_rest();
  asio::awaitable<bool> serve_options();
  asio::awaitable<bool> serve_transaction();
  asio::awaitable<read_status> read_more(std::optional<clock::time_point> limit);
  // Trickling (trickle.hpp): the 200 head once the threshold is passed, then the share allowed
  // so far; false when a write failed.
  asio::awaitable<bool> trickle_more();
  asio::awaitable<bool> finish_trickle(response r);
  std::error_code feed();

  // connection_answer.cpp
  asio::awaitable<bool> answer(response r, const body_state& state);
  asio::awaitable<bool> answer_error(int status, bool close, std::string_view decision);
  asio::awaitable<bool> send_continue();
  asio::awaitable<bool> send(const codec::icap_response_head& head,
                             const codec::encapsulated_parts& parts,
                             const codec::response_options& opt,
                             std::optional<std::size_t> cut_after = std::nullopt);
  // Writes what the serializer has now (until done or waiting for the body source).
  asio::awaitable<bool> write_pending(std::optional<std::size_t> cut_after = std::nullopt);
  asio::awaitable<void> perform_fault(const fault_plan& plan);
  asio::awaitable<void> stall(std::chrono::milliseconds limit);
  asio::awaitable<bool> sleep(std::chrono::milliseconds delay);
  asio::awaitable<void> close_gracefully();
  void reset_connection() noexcept;
  bool must_close(bool asked) const;
  void finish_record(bool closing);

  server_state& state_;
  worker& owner_;
  std::unique_ptr<net::stream> stream_;
  std::string client_; // "address:port" of the peer, for records and messages
  int fd_;
  request_sink sink_;
  codec::parser parser_;
  codec::serializer serializer_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0; // unparsed bytes are buffer_[begin_, end_)
  std::size_t end_ = 0;
  std::string out_;          // serialized pieces gathered into larger writes
  asio::steady_timer timer_; // head deadline, delays and stalls
  bool idle_ = true;
  bool first_request_ = true;
  bool closed_ = false;
  clock::time_point accepted_;
  clock::time_point started_;
  transaction_record record_;
  bool record_open_ = false; // a transaction started and its record is not delivered yet
  std::unique_ptr<trickle_source> trickle_; // the body trickling back, once started
};

// Owns the connection for the lifetime of its coroutine; never throws.
asio::awaitable<void> run_connection(std::unique_ptr<connection> conn, server_state& state,
                                     bool overloaded);

} // namespace icapkit::server::detail
