#pragma once
// The exit statuses of every icapkit subcommand, in one table (icapkit(1), EXIT STATUS).
namespace icapkit::app {

inline constexpr int exit_ok =
    0; // success: every object clean, every expectation and threshold met
// scan: something was blocked or modified; replay: an expectation failed; load: a threshold failed
inline constexpr int exit_found = 1;
// a bad flag, file or configuration, a listener that cannot be bound, or a connection, protocol
// or timeout error
inline constexpr int exit_error = 2;
// load ended early by signal N exits 128 + N, as a shell reports it (130 SIGINT, 143 SIGTERM)
inline constexpr int exit_signal_base = 128;

} // namespace icapkit::app
