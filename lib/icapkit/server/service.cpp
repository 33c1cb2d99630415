#include "icapkit/server/service.hpp"

namespace icapkit::server {

asio::awaitable<response> transaction::on_preview_end(const body_state& state) {
  static_cast<void>(state);
  co_return response::continue_body();
}

} // namespace icapkit::server
