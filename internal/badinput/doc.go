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
//
// The user centre has a catalogue of its own (TestUserCentreBadInput), run
// with the user centre on beside the channel, each case with the outcome
// chansync decided: a company name holding "/" makes a group named with
// "／" (accepted, not an error); a username taken by an account that is not
// ours is a dead letter on the account naming username, never an adoption,
// and the person's membership waits, blocked, until the user centre's side
// is fixed and the dead letter replayed; a user deactivated before any
// account exists gets an account, created and then disabled.
//
// Points grants have a catalogue of their own (TestGrantBadInput), run
// with points on and the ingest API served: amounts of 0, negative,
// fractional, beyond bigint or beyond APIHub's 2^53-1; order ids empty,
// too long or holding spaces; an unknown user. Each is refused by ingest
// (400 naming the field and the rule, 409 for the unknown user) with
// nothing written; written by SQL, it is refused by Postgres (asserted by
// SQLSTATE) or taken by the table, dead-lettered with a reason naming the
// field and the rule, and never sent to APIHub (the simulator's request
// log names every order it received).
package badinput
