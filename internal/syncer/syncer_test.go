package syncer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/datagen"
	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/syncer"
	"github.com/chansync/chansync/internal/syncstatus"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/channel"
)

// fakeTarget is a target held in memory whose answers a test can script.
// It stands in for a target, not for the database: the engine under test
// runs against a real Postgres.
type fakeTarget struct {
	mu       sync.Mutex
	held     map[string][]byte // "kind/id" -> body
	creates  map[string]int    // creates applied per record
	calls    []string
	failNext map[string][]error // "create"/"update"/"find" -> errors to return first
	// lostAnswers applies that many creates, then answers each with an
	// error that may mean it was applied (an answer lost).
	lostAnswers int
	inFlight    map[string]int
	maxPar      int
	// total and maxTotal count the requests in flight across records.
	total, maxTotal int
	delay           time.Duration
	// block, if set, is waited on inside every create.
	block chan struct{}
}

type fakeErr struct{ f target.Failure }

func (e *fakeErr) Error() string { return e.f.Reason }

func newFake() *fakeTarget {
	return &fakeTarget{held: map[string][]byte{}, creates: map[string]int{}, failNext: map[string][]error{}, inFlight: map[string]int{}}
}

func (f *fakeTarget) enter(key, verb string) error {
	f.mu.Lock()
	f.calls = append(f.calls, verb+" "+key)
	f.inFlight[key]++
	f.maxPar = max(f.maxPar, f.inFlight[key])
	f.total++
	f.maxTotal = max(f.maxTotal, f.total)
	var err error
	if q := f.failNext[verb]; len(q) > 0 {
		err, f.failNext[verb] = q[0], q[1:]
	}
	f.mu.Unlock()
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	return err
}

func (f *fakeTarget) leave(key string) {
	f.mu.Lock()
	f.inFlight[key]--
	f.total--
	f.mu.Unlock()
}

func key(r target.Request) string { return r.Kind.Name + "/" + r.ID }

func (f *fakeTarget) Create(ctx context.Context, r target.Request) (target.Result, error) {
	k := key(r)
	defer f.leave(k)
	if err := f.enter(k, "create"); err != nil {
		return target.Result{}, err
	}
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return target.Result{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.held[k]; ok {
		return target.Result{}, &fakeErr{target.Failure{Class: target.Permanent, Conflict: true, Answered: true, Reason: "1001 already exists"}}
	}
	f.held[k] = append([]byte(nil), r.JSON...)
	f.creates[k]++
	if f.lostAnswers > 0 {
		f.lostAnswers--
		return target.Result{}, &fakeErr{target.Failure{Class: target.Transient, MaybeApplied: true, Reason: "connection reset"}}
	}
	return target.Result{Ref: "ch-" + r.ID}, nil
}

func (f *fakeTarget) Update(_ context.Context, r target.Request) (target.Result, error) {
	k := key(r)
	defer f.leave(k)
	if err := f.enter(k, "update"); err != nil {
		return target.Result{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.held[k]; !ok {
		return target.Result{}, &fakeErr{target.Failure{Class: target.Permanent, Conflict: true, Answered: true, Reason: "1001 not found"}}
	}
	f.held[k] = append([]byte(nil), r.JSON...)
	return target.Result{Ref: "ch-" + r.ID}, nil
}

func (f *fakeTarget) Find(_ context.Context, r target.Request) (target.Found, error) {
	k := key(r)
	if err := f.enter(k, "find"); err != nil {
		f.leave(k)
		return target.Found{}, err
	}
	f.leave(k)
	f.mu.Lock()
	defer f.mu.Unlock()
	body, ok := f.held[k]
	if !ok {
		return target.Found{}, nil
	}
	return target.Found{Exists: true, Ref: "ch-" + r.ID, Same: string(body) == string(r.JSON)}, nil
}

func (f *fakeTarget) Classify(err error) target.Failure {
	var fe *fakeErr
	if errors.As(err, &fe) {
		return fe.f
	}
	return target.Failure{Class: target.Transient, MaybeApplied: true, Reason: err.Error()}
}

func (f *fakeTarget) count(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func (f *fakeTarget) creations(k string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.creates[k]
}

type testBundle struct {
	pool     *pgxpool.Pool
	q        *dbsqlc.Queries
	fake     *fakeTarget
	reg      *target.Registry
	engine   *syncer.Engine
	set      *datagen.Set
	mu       sync.Mutex
	enqueued []target.Ref
}

type bundleOptions struct {
	bound    time.Duration
	lease    time.Duration
	probe    time.Duration
	failures uint32
	// inFlight bounds the requests in flight of pushes on the bulk queue.
	inFlight int
}

func setup(t *testing.T, opts ...bundleOptions) *testBundle {
	t.Helper()
	var o bundleOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	s := dbtest.New(t)
	b := &testBundle{pool: s.Pool, q: dbsqlc.New(s.Pool), fake: newFake()}
	b.set = datagen.Generate(datagen.Options{Records: 50, Seed: 7})
	require.NoError(t, b.set.LoadQuiet(context.Background(), s.Pool))
	reg, err := target.NewRegistry(&target.Target{
		Name: channel.Name, Kinds: channel.Kinds(), Client: b.fake, InFlightBound: o.bound, HoldProbe: o.probe,
	})
	require.NoError(t, err)
	b.reg = reg
	b.engine = b.newEngine(t, o)
	return b
}

// newEngine returns another engine on the same database and target, as
// another worker process would have.
func (b *testBundle) newEngine(t *testing.T, o bundleOptions) *syncer.Engine {
	t.Helper()
	e, err := syncer.New(syncer.Config{
		Pool: b.pool, Registry: b.reg,
		EnqueueFunc: func(_ context.Context, _ string, refs []target.Ref) error {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.enqueued = append(b.enqueued, refs...)
			return nil
		},
		Lease: o.lease, ParentWait: 200 * time.Millisecond, ParentPoll: 20 * time.Millisecond,
		BreakerFailures: o.failures, BreakerTimeout: time.Hour,
		InFlight: map[string]int{"bulk": o.inFlight},
	})
	require.NoError(t, err)
	return e
}

func (b *testBundle) kind(t *testing.T, name string) *target.Kind {
	t.Helper()
	k, err := b.reg.Kind(name)
	require.NoError(t, err)
	return k
}

func (b *testBundle) push(t *testing.T, kind string, ids ...string) syncer.Result {
	t.Helper()
	res, err := b.engine.Push(context.Background(), b.kind(t, kind), ids, syncer.Options{})
	require.NoError(t, err)
	return res
}

func (b *testBundle) state(t *testing.T, kind, id string) dbsqlc.SyncState {
	t.Helper()
	st, err := b.q.SyncStates(context.Background(), dbsqlc.SyncStatesParams{Target: string(channel.Name), Kinds: []string{kind}, Ids: []string{id}})
	require.NoError(t, err)
	require.Len(t, st, 1)
	return st[0]
}

func (b *testBundle) wasEnqueued(ref target.Ref) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.enqueued {
		if r == ref {
			return true
		}
	}
	return false
}

func TestPush(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("CreatesThenSkipsUnchanged", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.set.Companies[0].ChannelCompanyID
		require.Equal(t, 1, b.push(t, "company", id).Created)
		st := b.state(t, "company", id)
		require.Equal(t, syncstatus.Synced, st.Status)
		require.NotNil(t, st.AcceptedHash)
		require.Equal(t, "ch-"+id, *st.RemoteRef)
		require.Nil(t, st.LeaseUntil, "the lease is released")

		require.Equal(t, 1, b.push(t, "company", id).Unchanged)
		require.Equal(t, 1, b.fake.count("create"))
		require.Equal(t, 0, b.fake.count("update"))
	})

	t.Run("UpdatesAChangedRow", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.set.Companies[0].ChannelCompanyID
		b.push(t, "company", id)
		_, err := b.pool.Exec(ctx, `UPDATE companies SET business_scope = '新的经营范围' WHERE channel_company_id = $1`, id)
		require.NoError(t, err)
		require.Equal(t, 1, b.push(t, "company", id).Updated)
		require.Contains(t, string(b.fake.held["company/"+id]), "新的经营范围")
	})

	t.Run("ConflictOnCreateSwitchesToUpdate", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.set.Companies[0].ChannelCompanyID
		// The target already holds it (an earlier answer was lost).
		b.fake.held["company/"+id] = []byte(`{}`)
		require.Equal(t, 1, b.push(t, "company", id).Updated)
		require.Equal(t, []string{"create company/" + id, "find company/" + id, "update company/" + id}, b.fake.calls)
	})

	t.Run("ChildWaitsForItsParentAndAsksForIt", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		task := b.set.Tasks[0]
		require.Equal(t, 1, b.push(t, "task", task.ChannelTaskID).Waiting)
		require.Zero(t, b.fake.count("create"), "nothing reaches the target before its parent")
		require.True(t, b.wasEnqueued(target.Ref{Target: channel.Name, Kind: "company", ID: task.ChannelCompanyID}))
		require.Nil(t, b.state(t, "task", task.ChannelTaskID).LeaseUntil, "a record given back waiting is not leased")

		b.push(t, "company", task.ChannelCompanyID)
		require.Equal(t, 1, b.push(t, "task", task.ChannelTaskID).Created)
	})

	t.Run("InvalidRecordIsDeadWithReasonAndNotSent", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.set.Users[0].ChannelUserID
		_, err := b.pool.Exec(ctx, `UPDATE users SET id_card = '110101199001011234' WHERE channel_user_id = $1`, id)
		require.NoError(t, err)
		require.Equal(t, 1, b.push(t, "user", id).Dead)
		st := b.state(t, "user", id)
		require.Equal(t, syncstatus.Dead, st.Status)
		require.Contains(t, *st.LastError, "users/"+id+": id_card")
		require.Zero(t, b.fake.count("create"))

		// Untouched, it stays dead without another look.
		require.Equal(t, 1, b.push(t, "user", id).Kept)
	})

	t.Run("ChildOfDeadParentIsBlockedThenWoken", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		task := b.set.Tasks[0]
		_, err := b.pool.Exec(ctx, `UPDATE companies SET social_credit_code = 'bad' WHERE channel_company_id = $1`, task.ChannelCompanyID)
		require.NoError(t, err)
		b.push(t, "company", task.ChannelCompanyID)
		require.Equal(t, 1, b.push(t, "task", task.ChannelTaskID).Blocked)
		st := b.state(t, "task", task.ChannelTaskID)
		require.Equal(t, syncstatus.Blocked, st.Status)
		require.Contains(t, *st.LastError, "channel_company_id")
		require.Contains(t, *st.LastError, "company/"+task.ChannelCompanyID)

		// Fix the company: accepting it wakes the blocked task.
		_, err = b.pool.Exec(ctx, `UPDATE companies SET social_credit_code = '91350100M000100Y43' WHERE channel_company_id = $1`, task.ChannelCompanyID)
		require.NoError(t, err)
		b.push(t, "company", task.ChannelCompanyID)
		require.True(t, b.wasEnqueued(target.Ref{Target: channel.Name, Kind: "task", ID: task.ChannelTaskID}))
		require.Equal(t, 1, b.push(t, "task", task.ChannelTaskID).Created)
	})

	t.Run("TransientFailureRetriesThenDeadOnFinalAttempt", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.set.Users[1].ChannelUserID
		refused := &fakeErr{target.Failure{Class: target.Transient, Answered: true, Reason: "5001 server error"}}
		b.fake.failNext["create"] = []error{refused, refused}
		res, err := b.engine.Push(ctx, b.kind(t, "user"), []string{id}, syncer.Options{Attempt: 1})
		require.NoError(t, err)
		require.Equal(t, 1, res.Failed)
		require.Equal(t, syncstatus.Retrying, b.state(t, "user", id).Status)

		res, err = b.engine.Push(ctx, b.kind(t, "user"), []string{id}, syncer.Options{Attempt: 2, FinalAttempt: true})
		require.NoError(t, err)
		require.Equal(t, 1, res.Dead)
		st := b.state(t, "user", id)
		require.Equal(t, syncstatus.Dead, st.Status)
		require.Contains(t, *st.LastError, "gave up after 2 attempts")
	})

	t.Run("RateLimitWaitsInPlace", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.set.Users[2].ChannelUserID
		b.fake.failNext["create"] = []error{&fakeErr{target.Failure{Class: target.RateLimited, RetryAfter: 50 * time.Millisecond, Answered: true, Reason: "429"}}}
		require.Equal(t, 1, b.push(t, "user", id).Created)
		require.Equal(t, 2, b.fake.count("create"))
	})

	t.Run("ConcurrentPushesOfOneRecordNeverOverlap", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.fake.delay = 30 * time.Millisecond
		id := b.set.Companies[0].ChannelCompanyID
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				_, err := b.engine.Push(ctx, b.kind(t, "company"), []string{id}, syncer.Options{})
				require.NoError(t, err)
			})
		}
		wg.Wait()
		require.Equal(t, 1, b.fake.maxPar)
		require.Equal(t, 1, b.fake.count("create"), "exactly one create; the others found it accepted")
	})
}

// TestNoRepeatedCreate: whenever a create's outcome is unknown, the next
// attempt looks the record up and adopts or updates it; it never sends the
// create again blind.
func TestNoRepeatedCreate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("LostAnswerIsLookedUpAndAdopted", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.set.Users[0].ChannelUserID
		b.fake.lostAnswers = 1
		require.Equal(t, 1, b.push(t, "user", id).Failed)
		st := b.state(t, "user", id)
		require.NotNil(t, st.UnsettledUntil, "the create is unsettled")
		require.Equal(t, syncstatus.Retrying, st.Status)

		res := b.push(t, "user", id)
		require.Equal(t, 1, res.Created)
		require.Equal(t, 1, res.Adopted)
		require.Equal(t, []string{"create user/" + id, "find user/" + id}, b.fake.calls, "looked up, adopted, not created again")
		st = b.state(t, "user", id)
		require.Nil(t, st.UnsettledUntil)
		require.Equal(t, "ch-"+id, *st.RemoteRef)
		require.Equal(t, 1, b.fake.creations("user/"+id))
	})

	t.Run("OutcomeNotWrittenIsLookedUpAndAdopted", func(t *testing.T) {
		t.Parallel()
		b := setup(t, bundleOptions{lease: 800 * time.Millisecond})
		id := b.set.Users[0].ChannelUserID
		// The database refuses the outcome of the create (as when the
		// connection dies between the create and its outcome's write).
		_, err := b.pool.Exec(ctx, `
			CREATE FUNCTION refuse_outcome() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF NEW.status = 'synced' THEN RAISE EXCEPTION 'disk full'; END IF;
				RETURN NEW;
			END $$;
			CREATE TRIGGER refuse_outcome BEFORE UPDATE ON sync_state FOR EACH ROW EXECUTE FUNCTION refuse_outcome();`)
		require.NoError(t, err)
		_, err = b.engine.Push(ctx, b.kind(t, "user"), []string{id}, syncer.Options{})
		require.ErrorContains(t, err, "1 sent to the target")
		require.ErrorContains(t, err, "disk full")
		require.NotNil(t, b.state(t, "user", id).LeaseUntil, "the lease of a record sent is left to run out")

		_, err = b.pool.Exec(ctx, `DROP TRIGGER refuse_outcome ON sync_state`)
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			res := b.push(t, "user", id)
			return res.Created == 1
		}, 10*time.Second, 100*time.Millisecond)
		require.Equal(t, []string{"create user/" + id, "find user/" + id}, b.fake.calls, "looked up, adopted, not created again")
		require.Equal(t, 1, b.fake.creations("user/"+id))
	})

	t.Run("NotFoundAfterLookupIsCreated", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.set.Users[0].ChannelUserID
		b.fake.failNext["create"] = []error{&fakeErr{target.Failure{Class: target.Transient, MaybeApplied: true, Reason: "timeout"}}}
		require.Equal(t, 1, b.push(t, "user", id).Failed)
		require.Equal(t, 1, b.push(t, "user", id).Created)
		require.Equal(t, []string{"create user/" + id, "find user/" + id, "create user/" + id}, b.fake.calls)
	})

	t.Run("RefusalThatWasNotAppliedNeedsNoLookup", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.set.Users[0].ChannelUserID
		b.fake.failNext["create"] = []error{&fakeErr{target.Failure{Class: target.Transient, Answered: true, Reason: "connection refused"}}}
		require.Equal(t, 1, b.push(t, "user", id).Failed)
		require.Nil(t, b.state(t, "user", id).UnsettledUntil)
		b.push(t, "user", id)
		require.Equal(t, []string{"create user/" + id, "create user/" + id}, b.fake.calls)
	})

	t.Run("LookupWaitsUntilTheCreateCannotBeInFlight", func(t *testing.T) {
		t.Parallel()
		const bound = 400 * time.Millisecond
		b := setup(t, bundleOptions{bound: bound})
		id := b.set.Users[0].ChannelUserID
		b.fake.failNext["create"] = []error{&fakeErr{target.Failure{Class: target.Transient, MaybeApplied: true, Reason: "timeout"}}}
		require.Equal(t, 1, b.push(t, "user", id).Failed)

		res := b.push(t, "user", id)
		require.Equal(t, 1, res.Waiting, "too early: the lost create may still be applied")
		require.Positive(t, res.SnoozeFor)
		require.LessOrEqual(t, res.SnoozeFor, bound+200*time.Millisecond)
		require.Equal(t, 1, b.fake.count("create"))
		require.Zero(t, b.fake.count("find"))

		require.Eventually(t, func() bool {
			return b.push(t, "user", id).Created == 1
		}, 5*time.Second, 100*time.Millisecond)
		require.Equal(t, 1, b.fake.count("find"))
	})

	t.Run("CancelledMidCreateIsLookedUp", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.set.Users[0].ChannelUserID
		b.fake.block = make(chan struct{})
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan syncer.Result)
		go func() {
			res, _ := b.engine.Push(cctx, b.kind(t, "user"), []string{id}, syncer.Options{})
			done <- res
		}()
		require.Eventually(t, func() bool { return b.fake.count("create") == 1 }, 5*time.Second, 10*time.Millisecond)
		cancel()
		<-done
		require.NotNil(t, b.state(t, "user", id).UnsettledUntil, "a create cancelled in flight is unsettled")
		b.fake.block = nil
		b.push(t, "user", id)
		require.Equal(t, []string{"create user/" + id, "find user/" + id, "create user/" + id}, b.fake.calls)
	})
}

// TestDeadWorker: a push whose worker died leaves its leases; once they run
// out they are swept and the records pushed again, and one whose create
// may have been sent is looked up first.
func TestDeadWorker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, bundleOptions{lease: time.Second})
	id := b.set.Users[0].ChannelUserID

	// A worker claims the record and dies before releasing it: its
	// create reached the target.
	_, err := b.q.ClaimRecords(ctx, dbsqlc.ClaimRecordsParams{
		Target: string(channel.Name), Kind: "user", Ids: []string{id}, Holder: "dead-worker", LeaseSeconds: 1,
	})
	require.NoError(t, err)
	b.fake.held["user/"+id] = b.set.Built("user")[0].JSON
	b.fake.creates["user/"+id] = 1

	res := b.push(t, "user", id)
	require.Equal(t, 1, res.Waiting, "leased by the dead worker until its lease runs out")

	var swept []target.Ref
	require.Eventually(t, func() bool {
		n, err := b.engine.SweepLostLeases(ctx, func(_ context.Context, _ pgx.Tx, refs []target.Ref) error {
			swept = append(swept, refs...)
			return nil
		})
		require.NoError(t, err)
		return n == 1
	}, 10*time.Second, 100*time.Millisecond)
	require.Equal(t, []target.Ref{{Target: channel.Name, Kind: "user", ID: id}}, swept)
	st := b.state(t, "user", id)
	require.Nil(t, st.LeaseUntil)
	require.NotNil(t, st.UnsettledUntil, "a record never accepted whose holder died is unsettled")

	res = b.push(t, "user", id)
	require.Equal(t, 1, res.Created)
	require.Equal(t, 1, res.Adopted)
	require.Equal(t, 1, b.fake.creations("user/"+id), "adopted, not created twice")
	require.Equal(t, []string{"find user/" + id}, b.fake.calls)
}

// TestHold: a failure that is the target's holds every push to it, in
// every engine (worker process), until one probe succeeds.
func TestHold(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const probe = 300 * time.Millisecond
	b := setup(t, bundleOptions{probe: probe})
	other := b.newEngine(t, bundleOptions{})
	users := b.set.Users
	b.fake.failNext["create"] = []error{&fakeErr{target.Failure{Class: target.Hold, Hold: "auth failing", Answered: true, Reason: "code 1002: bad credentials"}}}

	res := b.push(t, "user", users[0].ChannelUserID, users[1].ChannelUserID)
	require.Equal(t, "auth failing", res.Held)
	require.Equal(t, 2, res.Waiting, "no record is failed or dead for it")
	require.Positive(t, res.SnoozeFor)
	require.Equal(t, 1, b.fake.count("create"), "the batch stops at the refusal")
	st := b.state(t, "user", users[0].ChannelUserID)
	require.Equal(t, int32(0), st.Attempts, "no attempt spent")

	// Another worker process sees the hold and sends nothing.
	res, err := other.Push(ctx, b.kind(t, "user"), []string{users[2].ChannelUserID}, syncer.Options{})
	require.NoError(t, err)
	require.Equal(t, "auth failing", res.Held)
	require.Equal(t, 1, b.fake.count("create"))

	// After the probe interval, one push probes; its success lifts the hold.
	time.Sleep(probe + 1100*time.Millisecond)
	res, err = other.Push(ctx, b.kind(t, "user"), []string{users[2].ChannelUserID, users[3].ChannelUserID}, syncer.Options{})
	require.NoError(t, err)
	require.Equal(t, 1, res.Created, "one record probes")
	_, err = b.q.GetHold(ctx, string(channel.Name))
	require.Error(t, err, "the hold is lifted")
	require.Eventually(t, func() bool {
		r := b.push(t, "user", users[0].ChannelUserID, users[1].ChannelUserID, users[3].ChannelUserID)
		return r.Held == ""
	}, 3*time.Second, 100*time.Millisecond)
	for _, u := range users[:4] {
		require.Equal(t, syncstatus.Synced, b.state(t, "user", u.ChannelUserID).Status, fmt.Sprint(u.ChannelUserID))
	}
}

// TestHoldProbes: while a probe is out, every other push keeps still; a
// probe that learnt nothing of the hold (it sent nothing, or met another
// failure) does not lift it, and lets the next probe come at once.
func TestHoldProbes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	holdNow := func(t *testing.T, b *testBundle) {
		t.Helper()
		_, err := b.q.PutHold(ctx, dbsqlc.PutHoldParams{Target: string(channel.Name), Reason: "points pool too low", Detail: "402", ProbeSeconds: 0})
		require.NoError(t, err)
	}

	t.Run("LosingTheProbeSendsNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t, bundleOptions{probe: time.Hour})
		holdNow(t, b)
		// Another process takes the probe first.
		_, err := b.q.TakeHoldProbe(ctx, dbsqlc.TakeHoldProbeParams{Target: string(channel.Name), ProbeSeconds: 3600})
		require.NoError(t, err)
		for i := 0; i < 3; i++ {
			res := b.push(t, "user", b.set.Users[i].ChannelUserID)
			require.Equal(t, "points pool too low", res.Held)
		}
		require.Zero(t, b.fake.count("create"), "no push sends while the probe is out")
	})

	t.Run("AProbeThatSentNothingLiftsNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t, bundleOptions{probe: time.Hour})
		id := b.set.Users[0].ChannelUserID
		// A create whose answer was lost: the target holds the record.
		b.fake.lostAnswers = 1
		require.Equal(t, 1, b.push(t, "user", id).Failed)
		holdNow(t, b)
		res := b.push(t, "user", id)
		require.Equal(t, 1, res.Adopted, "the probe's record was found by a lookup, nothing sent")
		h, err := b.q.GetHold(ctx, string(channel.Name))
		require.NoError(t, err, "the hold stays: nothing was asked of the target")
		require.Less(t, time.Until(h.NextProbeAt), time.Minute, "the next probe comes at once, not an hour later")
		require.Equal(t, 1, b.fake.count("create"))
	})

	t.Run("AProbeThatMetAnotherFailureLiftsNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t, bundleOptions{probe: time.Hour})
		holdNow(t, b)
		b.fake.failNext["create"] = []error{&fakeErr{target.Failure{Class: target.Transient, Answered: true, Reason: "500"}}}
		res := b.push(t, "user", b.set.Users[0].ChannelUserID, b.set.Users[1].ChannelUserID)
		require.Equal(t, 1, b.fake.count("create"), "one record probes")
		require.Equal(t, 1, res.Failed)
		h, err := b.q.GetHold(ctx, string(channel.Name))
		require.NoError(t, err)
		require.Less(t, time.Until(h.NextProbeAt), time.Minute, "the next probe comes at once, not an hour later")
	})
}

// TestLeaseKeptWhileWaitingForParents: a record waiting in place for its
// parent stays leased to its push (so that a push killed while waiting
// leaves leases to sweep), and is released when the push gives it back.
func TestLeaseKeptWhileWaitingForParents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	task := b.set.Tasks[0]
	var leased bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.push(t, "task", task.ChannelTaskID)
	}()
	require.Eventually(t, func() bool {
		st, err := b.q.SyncStates(context.Background(), dbsqlc.SyncStatesParams{Target: string(channel.Name), Kinds: []string{"task"}, Ids: []string{task.ChannelTaskID}})
		require.NoError(t, err)
		leased = len(st) == 1 && st[0].LeaseUntil != nil && st[0].Status == syncstatus.Pending && st[0].BlockedOnID != nil
		return leased
	}, 5*time.Second, 10*time.Millisecond)
	<-done
	require.Nil(t, b.state(t, "task", task.ChannelTaskID).LeaseUntil)
}

// TestBreakerClassification: only transient failures count against a
// target; once they open its circuit, pushes pause (no request, no
// attempt spent), and the failure that opened it is charged to the outage,
// not to its record.
func TestBreakerClassification(t *testing.T) {
	t.Parallel()
	transient := &fakeErr{target.Failure{Class: target.Transient, Answered: true, Reason: "502"}}
	tests := []struct {
		name     string
		err      error
		wantOpen bool
	}{
		{"TransientFailuresOpenTheCircuit", transient, true},
		{"DataErrorsNeverTripIt", &fakeErr{target.Failure{Class: target.Permanent, Answered: true, Reason: "1004 denied"}}, false},
		{"RateLimitsNeverTripIt", &fakeErr{target.Failure{Class: target.RateLimited, RetryAfter: time.Hour, Answered: true, Reason: "429"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, bundleOptions{failures: 3})
			b.fake.failNext["create"] = []error{tt.err, tt.err, tt.err}
			var results []syncer.Result
			for _, u := range b.set.Users[:3] {
				results = append(results, b.push(t, "user", u.ChannelUserID))
			}
			require.Equal(t, tt.wantOpen, b.engine.Open(channel.Name))
			if !tt.wantOpen {
				return
			}
			require.Equal(t, 1, results[0].Failed, "the first failures are the records'")
			require.Equal(t, 1, results[2].Waiting, "the failure that opened the circuit is the outage's")
			require.Positive(t, results[2].SnoozeFor)
			require.Equal(t, int32(0), b.state(t, "user", b.set.Users[2].ChannelUserID).Attempts)

			calls := b.fake.count("create")
			res := b.push(t, "user", b.set.Users[3].ChannelUserID)
			require.Equal(t, 1, res.Waiting, "paused while the circuit is open")
			require.Positive(t, res.SnoozeFor)
			require.Equal(t, calls, b.fake.count("create"), "no request reaches a target whose circuit is open")
			require.Equal(t, int32(0), b.state(t, "user", b.set.Users[3].ChannelUserID).Attempts)
		})
	}
}

// TestSideBySide: a push sends its records side by side up to its queue's
// bound on requests in flight, never more; once one answer stops the batch
// no more start, and those not started wait, none lost.
func TestSideBySide(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bulk := syncer.Options{Queue: "bulk"}

	t.Run("UpToTheBound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, bundleOptions{inFlight: 4})
		b.fake.block = make(chan struct{})
		var ids []string
		for _, u := range b.set.Users[:8] {
			ids = append(ids, u.ChannelUserID)
		}
		type pushed struct {
			res syncer.Result
			err error
		}
		done := make(chan pushed)
		k := b.kind(t, "user")
		go func() {
			res, err := b.engine.Push(ctx, k, ids, bulk)
			done <- pushed{res, err}
		}()
		// Wait until the bound is reached, then let the creates answer.
		require.Eventually(t, func() bool {
			b.fake.mu.Lock()
			defer b.fake.mu.Unlock()
			return b.fake.total == 4
		}, 10*time.Second, 5*time.Millisecond)
		close(b.fake.block)
		got := <-done
		require.NoError(t, got.err)
		require.Equal(t, 8, got.res.Created)
		require.Equal(t, 4, b.fake.maxTotal, "four requests in flight at once, never more")
	})

	t.Run("OneAtATimeOnAQueueWithoutABound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, bundleOptions{inFlight: 4})
		b.fake.delay = 5 * time.Millisecond
		var ids []string
		for _, u := range b.set.Users[:6] {
			ids = append(ids, u.ChannelUserID)
		}
		res, err := b.engine.Push(ctx, b.kind(t, "user"), ids, syncer.Options{Queue: "events"})
		require.NoError(t, err)
		require.Equal(t, 6, res.Created)
		require.Equal(t, 1, b.fake.maxTotal)
	})

	t.Run("AStopStartsNoMore", func(t *testing.T) {
		t.Parallel()
		// One request in flight: the next record can start only once the
		// refused one has returned its slot, which it does after it stopped
		// the batch. (With more, records started while the refusal was on
		// its way back may complete, and how many do is up to scheduling.)
		b := setup(t, bundleOptions{inFlight: 1})
		b.fake.failNext["create"] = []error{&fakeErr{target.Failure{Class: target.RateLimited, RetryAfter: time.Hour, Reason: "429"}}}
		var ids []string
		for _, u := range b.set.Users[:8] {
			ids = append(ids, u.ChannelUserID)
		}
		res, err := b.engine.Push(ctx, b.kind(t, "user"), ids, bulk)
		require.NoError(t, err)
		require.GreaterOrEqual(t, res.SnoozeFor, time.Hour, "the job waits out the rate limit")
		require.Equal(t, 8, res.Created+res.Waiting, "every record is pushed or waits: none lost")
		require.Positive(t, res.Waiting, "the records not yet sent wait")
		require.Less(t, b.fake.count("create"), len(ids), "the batch stopped sending")
		require.Equal(t, 1, b.fake.count("create"), "nothing was sent after the refusal")
		for _, id := range ids {
			st := b.state(t, "user", id)
			require.Nil(t, st.LeaseUntil, "no lease is left behind")
		}
	})
}
