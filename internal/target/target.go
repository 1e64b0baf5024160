// Package target describes the systems chansync keeps in step with the
// local tables — the channel, the APIHub user centre, APIHub points — so
// that the engine, the job queue, the outbox, the command line, the status
// page, ingest and metrics know them through one Registry, never by name.
//
// A Target is described once, in its own package under internal/target/:
// its name, the kinds of record it takes (each a Kind: where its records
// come from, how a row becomes the target's request, what it depends on),
// its Client (create, update, and find after an ambiguous create), and how
// its answers are classified. This package holds only those descriptions
// and the types they share; it imports no HTTP client.
package target

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/validate"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Name names a target, such as "channel".
type Name string

// Ref names one record of one kind on one target. Kind names are unique
// across targets, so Kind and ID alone name a record in reasons and logs.
type Ref struct {
	Target Name
	Kind   string
	ID     string
}

// String returns the ref as "kind/id", the form used in reasons and logs.
func (r Ref) String() string { return r.Kind + "/" + r.ID }

// ParentRef is a reference from a record to a record it depends on (on the
// same target), with the field that holds the reference.
type ParentRef struct {
	Field string
	Ref   Ref
}

// Built is one local record turned into the request its target takes.
type Built struct {
	// Ref names the record.
	Ref Ref
	// Body is the typed request body. It is set even when Errs is not
	// empty, as far as the row could be read.
	Body any
	// JSON is Body encoded as sent; nil when Errs is not empty.
	JSON []byte
	// Hash identifies what the target holds once it accepted Body: the
	// SHA-256 of JSON, unless the kind hashes less (a field that may change
	// without a push). Nil when Errs is not empty.
	Hash []byte
	// Parents are the records this one references, in the order they are
	// checked.
	Parents []ParentRef
	// UpdatedAt is the version of the local rows the record was built
	// from (their latest updated_at); it equals what the kind's
	// VersionsSQL answers for the record.
	UpdatedAt time.Time
	// Errs lists every reason the record cannot be pushed; empty when valid.
	Errs validate.Errors

	path string
}

// Valid reports whether the record can be pushed.
func (b *Built) Valid() bool { return len(b.Errs) == 0 }

// Reason renders Errs as one line prefixed by the record, e.g.
// "users/U1001: id_card: check digit mismatch".
func (b *Built) Reason() string {
	if b.Valid() {
		return ""
	}
	return validate.NewRecordError(b.path, b.Errs).Error()
}

// Path returns the record as "plural/id", the prefix of its reasons.
func (b *Built) Path() string { return b.path }

// Finish completes a record built for kind k: it encodes a valid Body as
// JSON (no HTML escaping, no trailing newline) and hashes it, or hashes
// hashOf instead when it is not nil (for kinds whose hash leaves out a
// field that may change without a push). It returns b.
func (k *Kind) Finish(b *Built, hashOf any) *Built {
	b.path = k.Plural + "/" + b.Ref.ID
	if !b.Valid() {
		return b
	}
	data, err := encode(b.Body)
	if err != nil {
		b.Errs.Add(k.IDField, "encode", err.Error())
		return b
	}
	b.JSON = data
	if hashOf != nil {
		if data, err = encode(hashOf); err != nil {
			b.Errs.Add(k.IDField, "encode", err.Error())
			return b
		}
	}
	sum := sha256.Sum256(data)
	b.Hash = sum[:]
	return b
}

func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// LoadFunc reads the named records of a kind and builds each; ids without
// a local row are absent from the result.
type LoadFunc func(ctx context.Context, db dbsqlc.DBTX, ids []string) (map[string]*Built, error)

// PageFunc reads up to size records of a kind whose id sorts after
// `after`, in id order, and builds each.
type PageFunc func(ctx context.Context, db dbsqlc.DBTX, after string, size int32) ([]*Built, error)

// AffectedFunc maps changed records of a local source to the ids of a kind
// whose requests they may change.
type AffectedFunc func(ctx context.Context, db dbsqlc.DBTX, ids []string) ([]string, error)

// Identity is the AffectedFunc of a kind whose records share their source
// records' ids.
func Identity(_ context.Context, _ dbsqlc.DBTX, ids []string) ([]string, error) { return ids, nil }

// Kind describes one kind of record a target takes.
type Kind struct {
	// Target is the target that takes records of this kind.
	Target Name
	// Name names the kind ("user", "account"); unique across targets.
	Name string
	// Plural names the kind's collection ("users"), the prefix of its
	// reasons.
	Plural string
	// IDField is the field of the request that holds our id.
	IDField string
	// Source is the local source whose ids the kind's records carry (a
	// record of kind "account" is named by its user's id: source "user").
	Source string
	// DependsOn names the kinds (of the same target) whose records this
	// kind's records may reference; they are pushed first.
	DependsOn []string
	// Load reads and builds named records.
	Load LoadFunc
	// Page reads and builds records in id order, for bulk runs and verify.
	Page PageFunc
	// VersionsSQL is a query answering (record_id text, updated_at
	// timestamptz) for every record of the kind: the version of its local
	// rows, which a record's standing compares with the version its last
	// push read.
	VersionsSQL string
	// Affected maps each local source whose changes may change this kind's
	// requests to the function that names the affected records.
	Affected map[string]AffectedFunc
	// KeepAccepted keeps the accepted body in the sync state, given to the
	// next push as Request.Accepted (for kinds whose records may not
	// change once accepted, to name what changed).
	KeepAccepted bool

	tier int
}

// Tier is the kind's depth in the dependency graph: 0 for kinds that
// depend on nothing, one more than the deepest dependency otherwise.
func (k *Kind) Tier() int { return k.tier }

// Ref returns the ref of this kind's record named id.
func (k *Kind) Ref(id string) Ref { return Ref{Target: k.Target, Kind: k.Name, ID: id} }

// String returns "target/kind".
func (k *Kind) String() string { return string(k.Target) + "/" + k.Name }

// Request is one record as a Client sends it.
type Request struct {
	// Kind is the record's kind.
	Kind *Kind
	// ID is our id for the record.
	ID string
	// Ref is the target's own id for the record, when known.
	Ref string
	// Body is the typed request body; JSON its encoding.
	Body any
	JSON []byte
	// Accepted is the body last accepted, for kinds that keep it.
	Accepted []byte
	// LastSent is the body of the last attempt the target did not accept
	// (it may have been applied when the record is unsettled); nil when
	// none is kept.
	LastSent []byte
	// ParentRefs holds the target's own ids of the records this one
	// references (all accepted).
	ParentRefs map[Ref]string
}

// Result is a Client's answer to a create or update.
type Result struct {
	// Ref is the target's own id for the record. A Client may return it
	// with an error when a create succeeded and a later step failed.
	Ref string
}

// Found is what a lookup found.
type Found struct {
	// Exists reports whether the target holds the record.
	Exists bool
	// Ref is the target's own id for it.
	Ref string
	// Same reports whether the target's record already equals the request
	// (nothing to update).
	Same bool
}

// Client reaches one target for the engine. Every method is safe for
// concurrent use.
type Client interface {
	// Create creates the record on the target.
	Create(ctx context.Context, r Request) (Result, error)
	// Update brings the target's record (r.Ref, when known) in line with
	// the request.
	Update(ctx context.Context, r Request) (Result, error)
	// Find looks the record up on the target, by our id: after a create
	// whose outcome is unknown, and to confirm a conflict.
	Find(ctx context.Context, r Request) (Found, error)
	// Classify says what an error of the other methods means.
	Classify(err error) Failure
}

// Class says what a failure means for the record and its target.
type Class int

// The classes of failure.
const (
	// Transient failures are retried with backoff.
	Transient Class = iota
	// RateLimited failures wait for RetryAfter and spend no attempt.
	RateLimited
	// Hold failures are the target's, not the record's (credentials
	// refused, a token endpoint failing, a points pool too low): pushing to
	// the whole target pauses, across processes, until a probe succeeds.
	Hold
	// Permanent failures dead-letter the record.
	Permanent
)

// String names the class.
func (c Class) String() string {
	switch c {
	case Transient:
		return "transient"
	case RateLimited:
		return "rate_limited"
	case Hold:
		return "hold"
	case Permanent:
		return "permanent"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Failure is a classified error of a Client.
type Failure struct {
	// Class is what to do about it.
	Class Class
	// Conflict is set for a rejection of a create or update that may only
	// mean the target already has (or lacks) the record; the engine
	// confirms with Find and switches between create and update before
	// calling it a data error.
	Conflict bool
	// MaybeApplied is set when the request may have been applied although
	// no success was seen (no answer, a timeout, a 5xx): a create must then
	// be looked up before it is sent again.
	MaybeApplied bool
	// Answered is set when the target answered: the request is no longer
	// in flight.
	Answered bool
	// RetryAfter is how long the target asked us to wait, if it did.
	RetryAfter time.Duration
	// Hold names the reason of a Hold, as operators and metrics see it
	// ("auth failing", "token endpoint failing", "points pool too low").
	Hold string
	// Reason is the target's answer in one line, bounded and free of
	// secrets.
	Reason string
}

// Target is one system chansync keeps in step, enabled by its settings.
type Target struct {
	// Name names the target.
	Name Name
	// Kinds are the kinds it takes.
	Kinds []*Kind
	// Client reaches it.
	Client Client
	// InFlightBound is how long after it was sent a request may still be
	// applied (the client's timeout plus a margin): a create whose outcome
	// is unknown is looked up no earlier than that. Zero for a target that
	// de-duplicates creates itself.
	InFlightBound time.Duration
	// HoldProbe is how often a held target is probed with one push. Zero
	// takes the engine's default.
	HoldProbe time.Duration
	// Verifier compares what the target holds with the local records; nil
	// when the target cannot be verified.
	Verifier Verifier
}

// Difference is one way a target differs from the local records.
type Difference struct {
	// Ref names the record (an extra record names the id the target holds).
	Ref Ref `json:"ref"`
	// Problem is missing, extra, different or duplicate.
	Problem string `json:"problem"`
	// Fields names the fields that differ.
	Fields []string `json:"fields,omitempty"`
	// Detail says more, in one line.
	Detail string `json:"detail,omitempty"`
}

// The problems a Difference reports.
const (
	// Missing: a valid local record the target does not hold.
	Missing = "missing"
	// Extra: a record the target holds (of ours) with no local record.
	Extra = "extra"
	// Different: the target's record differs from the local one.
	Different = "different"
	// Duplicate: the target holds the record more than once.
	Duplicate = "duplicate"
)

// Verifier compares a target with the local records of one kind.
type Verifier interface {
	// Verify compares what the target holds of kind k with local, the
	// valid local records of that kind, and reports every difference.
	Verify(ctx context.Context, k *Kind, local LocalSet, report func(Difference)) error
}

// LocalSet is the valid local records of one kind, as verify sees them.
type LocalSet interface {
	// IDs returns the ids of every valid local record, sorted.
	IDs() []string
	// Load returns the valid local records among ids.
	Load(ctx context.Context, ids []string) (map[string]Local, error)
}

// Local is one valid local record as verify sees it.
type Local struct {
	// Built is the record's request.
	Built *Built
	// Ref is the target's own id for it, when the sync state knows it.
	Ref string
}

// Deps are what a target's constructor may use besides its settings.
type Deps struct {
	// Pool is the database, for state the target shares between worker
	// processes (a token, say).
	Pool *pgxpool.Pool
	// Logger receives the target client's logs.
	Logger *slog.Logger
	// ObserveFunc, if set, is told of every request the target's client
	// makes, for metrics and the target's health.
	ObserveFunc func(Observation)
	// Holder names this process ("host/pid") where shared state records
	// who wrote it.
	Holder string
}

// Observation is one request a target's client made. Every field is a
// bounded label: a hostile target cannot make new ones.
type Observation struct {
	// Target is the target.
	Target Name
	// Route names the endpoint without ids, such as "PUT /tasks/:id".
	Route string
	// Result is "ok" or the class of failure: transient, rate_limited,
	// auth, data, or a target's own (pool_low).
	Result string
	// Code is the target's error code as a label from a fixed set (such
	// as "1001", "http_502", "network", "other"); empty on success.
	Code string
	// Detail is the failure in one bounded line, for the health view;
	// never a label.
	Detail string
	// Took is how long the request took.
	Took time.Duration
}

// labelledStatuses are the HTTP statuses StatusCode labels by number.
var labelledStatuses = map[int]bool{400: true, 401: true, 402: true, 403: true, 404: true, 408: true, 409: true,
	413: true, 415: true, 422: true, 425: true, 429: true, 500: true, 502: true, 503: true, 504: true}

// StatusCode labels an HTTP status for an Observation's Code: "http_N"
// for the statuses APIs commonly answer with, "http_other" for any other,
// so that a hostile or broken server cannot make new series.
func StatusCode(status int) string {
	if labelledStatuses[status] {
		return "http_" + strconv.Itoa(status)
	}
	return "http_other"
}
