// Package badinput holds no code: its tests are the catalogue of bad input.
// Each case inserts one invalid local row (with valid parents and with
// records that depend on it), runs a real worker against the simulated
// channel, and checks that the row is dead-lettered with a reason naming
// the field and the rule, that no request for it reached the channel, that
// its dependants wait (blocked, naming the parent) instead of failing the
// order, and that once the row is fixed a replay pushes it and its
// dependants. A second table lists the values Postgres itself refuses
// before chansync ever reads them (invalid UTF-8, NUL, non-numeric money,
// \u0000 in jsonb, ...).
package badinput
