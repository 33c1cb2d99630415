#pragma once
// Finds a byte pattern in a body that arrives in pieces of any size (KMP automaton): a match split
// across chunk, preview or read boundaries is found, and only the pattern's failure table is kept,
// never the body.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace icapkit::mock {

// The 68-byte EICAR anti-malware test string.
inline constexpr std::string_view eicar_string =
    "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

class stream_matcher {
public:
  // An empty pattern never matches. ignore_case folds ASCII letters on both sides.
  explicit stream_matcher(std::string pattern, bool ignore_case = false);

  // Feeds the next piece; returns true once the pattern has been seen (sticky).
  bool feed(std::string_view piece) noexcept;
  // One byte; returns true when this byte completes an occurrence (not sticky), and then starts
  // over (occurrences do not overlap).
  bool step(char c) noexcept;

  bool found() const noexcept { return found_; }
  // Bytes of the pattern matched by the latest input (0 when no partial match is pending).
  std::size_t partial() const noexcept { return state_; }
  const std::string& pattern() const noexcept { return pattern_; }
  void reset() noexcept {
    state_ = 0;
    found_ = false;
  }

private:
  char fold(char c) const noexcept;

  std::string pattern_;
  std::vector<std::size_t> failure_; // KMP: longest proper prefix that is also a suffix
  std::size_t state_ = 0;
  bool ignore_case_ = false;
  bool found_ = false;
};

} // namespace icapkit::mock
