// Replaced by the expectations implementation (same session).
#include "icapkit/replay/expectations.hpp"
