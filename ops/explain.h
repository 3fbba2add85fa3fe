// LOGLIN_EXPLAIN=1: every op with a plan (which implementation runs a call,
// in which dtype, and why) prints each distinct plan once to stderr, so a
// user can see why a call took a slow path without reading the dispatcher.
// The same plans are returned by the ops' plan_* functions without running
// anything.
#pragma once
#include <string>

namespace loglin {

// Whether LOGLIN_EXPLAIN is set to 1 (read once), or set_explain() said so.
bool explain_enabled();
// Turns the printing on or off for the process (tests).
void set_explain(bool on);
// Prints "[explain] <op>: <plan>" once per distinct (op, plan) when enabled.
void explain(const char* op, const std::string& plan);

}  // namespace loglin
