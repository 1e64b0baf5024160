// Package simkit is the fault-injection machinery the project's HTTP
// simulators share (channelsim, ucsim, and the points simulator): it
// decides, per request, whether to delay it, lose it, or answer it with a
// gateway's error instead of the simulator's own answer, and it keeps the
// counters and the request log a test reads afterwards.
//
// A simulator uses it in four steps:
//
//  1. Describe the faults of an endpoint (or of all of them) with Faults,
//     plus any envelope-specific faults of its own as Extra steps (the
//     channel's "code 5001 as HTTP 200"), and compile them once with
//     NewPlan. A Plan is immutable; swap it atomically to change faults.
//  2. Build one Injector per simulator with NewInjector: it owns the
//     seeded random source (the same seed draws the same faults) and the
//     fault counters, and renders an injected HTTP 500 through
//     InjectorConfig.Status500Func in the simulator's envelope.
//  3. For each request: Injector.Down answers while the whole API is down;
//     otherwise Injector.Before waits the latency and draws at most one
//     "before" fault (the request must then not be applied); a request
//     that draws none is applied by the simulator, and then
//     Injector.DropAfter draws whether its answer is lost.
//  4. Write the answer with Answer.Write, which closes the connection
//     without an answer when Answer.Drop is set (a real TCP close, so that
//     clients see what they would see in production).
//
// Every injected fault is counted under its name (FaultDropBefore, ...,
// or an Extra's name) in Injector.Counters. Log keeps a simulator's
// request log; WriteJSON, WriteError and DecodeJSON serve admin endpoints;
// CleanPrefix and StripPrefix mount a simulator under a path prefix.
package simkit
