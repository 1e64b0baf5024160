// Package chaos holds chansync's chaos suite (tests only): real worker,
// enqueue, datagen, channelsim and apihubsim processes against a real
// Postgres, with faults injected into the channel, the user centre, the
// processes and the database (connections ended; the server itself
// restarted, in a private cluster), each scenario ending with the
// invariants of design.md checked. The points scenario
// (TestPointsNoisyPoolEmptiedAndKilled) adds lost recharge answers, an
// emptied developer pool and a killed worker, and proves every grant
// credited exactly once from the simulator's ledgers.
//
// `make test` runs a reduced data set; `make chaos` (CHAOS=full) runs at
// least 5,000 records per scenario with longer fault phases. Binaries come
// from $CHANSYNC_BIN, or are built once into a temporary directory.
// CHAOS_LOGS=dir keeps every process's output there.
package chaos
