#include "icapkit/server/fault.hpp"

namespace icapkit::server {

std::string_view to_string(fault_kind kind) noexcept {
  switch (kind) {
  case fault_kind::none:
    return "none";
  case fault_kind::stall:
    return "stall";
  case fault_kind::continue_then_hang:
    return "continue_then_hang";
  case fault_kind::reset:
    return "reset";
  case fault_kind::close_before_answer:
    return "close_before_answer";
  case fault_kind::malformed:
    return "malformed";
  }
  return "unknown";
}

} // namespace icapkit::server
