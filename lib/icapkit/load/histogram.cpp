// Replaced by the histogram implementation (same session).
#include "icapkit/load/histogram.hpp"
