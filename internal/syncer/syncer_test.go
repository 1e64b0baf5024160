package syncer_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/database/dbtest"
	"github.com/chansync/chansync/internal/datagen"
	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/record"
	"github.com/chansync/chansync/internal/syncer"
)

// scriptedPusher is a target held in memory whose answers a test can
// script. It is a stand-in for the channel, not for the database: the
// engine under test runs against a real Postgres.
type scriptedPusher struct {
	mu       sync.Mutex
	held     map[record.Ref]json.RawMessage
	calls    []string
	failNext map[string][]error // "create"/"update"/"exists" -> errors to return first
	inFlight map[record.Ref]int
	maxPar   int
	delay    time.Duration
}

type fakeErr struct{ f syncer.Failure }

func (e *fakeErr) Error() string { return e.f.Reason }

func newPusher() *scriptedPusher {
	return &scriptedPusher{held: map[record.Ref]json.RawMessage{}, failNext: map[string][]error{}, inFlight: map[record.Ref]int{}}
}

func idOf(kind record.Kind, body json.RawMessage) string {
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	s, _ := m[kind.IDField()].(string)
	return s
}

func (p *scriptedPusher) enter(ref record.Ref, verb string) error {
	p.mu.Lock()
	p.calls = append(p.calls, verb+" "+ref.String())
	p.inFlight[ref]++
	if p.inFlight[ref] > p.maxPar {
		p.maxPar = p.inFlight[ref]
	}
	var err error
	if q := p.failNext[verb]; len(q) > 0 {
		err, p.failNext[verb] = q[0], q[1:]
	}
	p.mu.Unlock()
	if p.delay > 0 {
		time.Sleep(p.delay)
	}
	return err
}

func (p *scriptedPusher) leave(ref record.Ref) {
	p.mu.Lock()
	p.inFlight[ref]--
	p.mu.Unlock()
}

func (p *scriptedPusher) Create(_ context.Context, kind record.Kind, body json.RawMessage) (string, error) {
	ref := record.Ref{Kind: kind, ID: idOf(kind, body)}
	defer p.leave(ref)
	if err := p.enter(ref, "create"); err != nil {
		return "", err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.held[ref]; ok {
		return "", &fakeErr{syncer.Failure{Class: syncer.Permanent, Conflict: true, Reason: "1001 already exists"}}
	}
	p.held[ref] = append(json.RawMessage(nil), body...)
	return "ch-" + ref.ID, nil
}

func (p *scriptedPusher) Update(_ context.Context, kind record.Kind, id string, body json.RawMessage) (string, error) {
	ref := record.Ref{Kind: kind, ID: id}
	defer p.leave(ref)
	if err := p.enter(ref, "update"); err != nil {
		return "", err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.held[ref]; !ok {
		return "", &fakeErr{syncer.Failure{Class: syncer.Permanent, Conflict: true, Reason: "1001 not found"}}
	}
	p.held[ref] = append(json.RawMessage(nil), body...)
	return "ch-" + id, nil
}

func (p *scriptedPusher) Exists(_ context.Context, kind record.Kind, id string) (string, bool, error) {
	ref := record.Ref{Kind: kind, ID: id}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, "exists "+ref.String())
	_, ok := p.held[ref]
	return "ch-" + id, ok, nil
}

func (p *scriptedPusher) Classify(err error) syncer.Failure {
	var fe *fakeErr
	if errors.As(err, &fe) {
		return fe.f
	}
	return syncer.Failure{Class: syncer.Transient, Reason: err.Error()}
}

func (p *scriptedPusher) callCount(prefix string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.calls {
		if len(c) >= len(prefix) && c[:len(prefix)] == prefix {
			n++
		}
	}
	return n
}

type testBundle struct {
	pool     *pgxpool.Pool
	q        *dbsqlc.Queries
	pusher   *scriptedPusher
	engine   *syncer.Engine
	set      *datagen.Set
	enqueued []record.Ref
	mu       sync.Mutex
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	s := dbtest.New(t)
	b := &testBundle{pool: s.Pool, q: dbsqlc.New(s.Pool), pusher: newPusher()}
	b.set = datagen.Generate(datagen.Options{Records: 50, Seed: 7})
	require.NoError(t, b.set.Load(context.Background(), s.Pool))
	b.engine = syncer.New(s.Pool, b.pusher, func(_ context.Context, refs []record.Ref) error {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.enqueued = append(b.enqueued, refs...)
		return nil
	}, slog.New(slog.NewTextHandler(io.Discard, nil)), syncer.Config{ParentWait: 200 * time.Millisecond, ParentPoll: 20 * time.Millisecond})
	return b
}

func (b *testBundle) state(t *testing.T, kind record.Kind, id string) dbsqlc.SyncState {
	t.Helper()
	st, err := b.q.SyncStates(context.Background(), dbsqlc.SyncStatesParams{Kinds: []string{string(kind)}, Ids: []string{id}})
	require.NoError(t, err)
	require.Len(t, st, 1)
	return st[0]
}

func TestPush(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("CreatesThenSkipsUnchanged", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.set.Companies[0].ChannelCompanyID
		res, err := b.engine.Push(ctx, record.Company, []string{id}, syncer.Options{})
		require.NoError(t, err)
		require.Equal(t, 1, res.Created)
		st := b.state(t, record.Company, id)
		require.Equal(t, "synced", st.Status)
		require.NotNil(t, st.AcceptedHash)
		require.Equal(t, "ch-"+id, *st.ChannelRef)

		res, err = b.engine.Push(ctx, record.Company, []string{id}, syncer.Options{})
		require.NoError(t, err)
		require.Equal(t, 1, res.Unchanged)
		require.Equal(t, 1, b.pusher.callCount("create"))
		require.Equal(t, 0, b.pusher.callCount("update"))
	})

	t.Run("UpdatesAChangedRow", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.set.Companies[0].ChannelCompanyID
		_, err := b.engine.Push(ctx, record.Company, []string{id}, syncer.Options{})
		require.NoError(t, err)
		_, err = b.pool.Exec(ctx, `UPDATE companies SET business_scope = '新的经营范围' WHERE channel_company_id = $1`, id)
		require.NoError(t, err)
		res, err := b.engine.Push(ctx, record.Company, []string{id}, syncer.Options{})
		require.NoError(t, err)
		require.Equal(t, 1, res.Updated)
		require.Contains(t, string(b.pusher.held[record.Ref{Kind: record.Company, ID: id}]), "新的经营范围")
	})

	t.Run("ConflictOnCreateSwitchesToUpdate", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.set.Companies[0].ChannelCompanyID
		// The channel already holds it (an earlier answer was lost).
		b.pusher.held[record.Ref{Kind: record.Company, ID: id}] = json.RawMessage(`{}`)
		res, err := b.engine.Push(ctx, record.Company, []string{id}, syncer.Options{})
		require.NoError(t, err)
		require.Equal(t, 1, res.Updated)
		require.Equal(t, []string{"create company/" + id, "exists company/" + id, "update company/" + id}, b.pusher.calls)
	})

	t.Run("ChildWaitsForItsParentAndAsksForIt", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		task := b.set.Tasks[0]
		res, err := b.engine.Push(ctx, record.Task, []string{task.ChannelTaskID}, syncer.Options{})
		require.NoError(t, err)
		require.Equal(t, 1, res.Waiting)
		require.Zero(t, b.pusher.callCount("create"), "nothing reaches the target before its parent")
		require.Contains(t, b.enqueued, record.Ref{Kind: record.Company, ID: task.ChannelCompanyID})

		_, err = b.engine.Push(ctx, record.Company, []string{task.ChannelCompanyID}, syncer.Options{})
		require.NoError(t, err)
		res, err = b.engine.Push(ctx, record.Task, []string{task.ChannelTaskID}, syncer.Options{})
		require.NoError(t, err)
		require.Equal(t, 1, res.Created)
	})

	t.Run("InvalidRecordIsDeadWithReasonAndNotSent", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.set.Users[0].ChannelUserID
		_, err := b.pool.Exec(ctx, `UPDATE users SET id_card = '110101199001011234' WHERE channel_user_id = $1`, id)
		require.NoError(t, err)
		res, err := b.engine.Push(ctx, record.User, []string{id}, syncer.Options{})
		require.NoError(t, err)
		require.Equal(t, 1, res.Dead)
		st := b.state(t, record.User, id)
		require.Equal(t, "dead", st.Status)
		require.Contains(t, *st.LastError, "users/"+id+": id_card")
		require.Zero(t, b.pusher.callCount("create"))

		// Untouched, it stays dead without another look.
		res, err = b.engine.Push(ctx, record.User, []string{id}, syncer.Options{})
		require.NoError(t, err)
		require.Equal(t, 1, res.Kept)
	})

	t.Run("ChildOfDeadParentIsBlockedThenWoken", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		task := b.set.Tasks[0]
		_, err := b.pool.Exec(ctx, `UPDATE companies SET social_credit_code = 'bad' WHERE channel_company_id = $1`, task.ChannelCompanyID)
		require.NoError(t, err)
		_, err = b.engine.Push(ctx, record.Company, []string{task.ChannelCompanyID}, syncer.Options{})
		require.NoError(t, err)
		res, err := b.engine.Push(ctx, record.Task, []string{task.ChannelTaskID}, syncer.Options{})
		require.NoError(t, err)
		require.Equal(t, 1, res.Blocked)
		st := b.state(t, record.Task, task.ChannelTaskID)
		require.Equal(t, "blocked", st.Status)
		require.Contains(t, *st.LastError, "channel_company_id")
		require.Contains(t, *st.LastError, "company/"+task.ChannelCompanyID)

		// Fix the company: accepting it wakes the blocked task.
		_, err = b.pool.Exec(ctx, `UPDATE companies SET social_credit_code = '91350100M000100Y43' WHERE channel_company_id = $1`, task.ChannelCompanyID)
		require.NoError(t, err)
		b.enqueued = nil
		_, err = b.engine.Push(ctx, record.Company, []string{task.ChannelCompanyID}, syncer.Options{})
		require.NoError(t, err)
		require.Contains(t, b.enqueued, record.Ref{Kind: record.Task, ID: task.ChannelTaskID})
		res, err = b.engine.Push(ctx, record.Task, []string{task.ChannelTaskID}, syncer.Options{})
		require.NoError(t, err)
		require.Equal(t, 1, res.Created)
	})

	t.Run("TransientFailureRetriesThenDeadOnFinalAttempt", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.set.Users[1].ChannelUserID
		b.pusher.failNext["create"] = []error{errors.New("5001 server error"), errors.New("5001 server error")}
		res, err := b.engine.Push(ctx, record.User, []string{id}, syncer.Options{Attempt: 1})
		require.NoError(t, err)
		require.Equal(t, 1, res.Failed)
		require.Equal(t, "retrying", b.state(t, record.User, id).Status)

		res, err = b.engine.Push(ctx, record.User, []string{id}, syncer.Options{Attempt: 2, FinalAttempt: true})
		require.NoError(t, err)
		require.Equal(t, 1, res.Dead)
		st := b.state(t, record.User, id)
		require.Equal(t, "dead", st.Status)
		require.Contains(t, *st.LastError, "gave up after 2 attempts")
	})

	t.Run("RateLimitWaitsInPlace", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.set.Users[2].ChannelUserID
		b.pusher.failNext["create"] = []error{&fakeErr{syncer.Failure{Class: syncer.RateLimited, RetryAfter: 50 * time.Millisecond, Reason: "429"}}}
		res, err := b.engine.Push(ctx, record.User, []string{id}, syncer.Options{})
		require.NoError(t, err)
		require.Equal(t, 1, res.Created)
		require.Equal(t, 2, b.pusher.callCount("create"))
	})

	t.Run("AuthFailureStopsTheBatch", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ids := []string{b.set.Users[0].ChannelUserID, b.set.Users[1].ChannelUserID}
		b.pusher.failNext["create"] = []error{&fakeErr{syncer.Failure{Class: syncer.AuthFailed, Reason: "1002"}}}
		res, err := b.engine.Push(ctx, record.User, ids, syncer.Options{})
		require.NoError(t, err)
		require.True(t, res.AuthFailed)
		require.Equal(t, 1, b.pusher.callCount("create"), "the batch stops at the first refusal")
		require.Equal(t, "pending", b.state(t, record.User, ids[1]).Status)
	})

	t.Run("ConcurrentPushesOfOneRecordNeverOverlap", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.pusher.delay = 30 * time.Millisecond
		id := b.set.Companies[0].ChannelCompanyID
		var wg sync.WaitGroup
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := b.engine.Push(ctx, record.Company, []string{id}, syncer.Options{})
				require.NoError(t, err)
			}()
		}
		wg.Wait()
		require.Equal(t, 1, b.pusher.maxPar)
		require.Equal(t, 1, b.pusher.callCount("create"), "exactly one create; the others found it accepted")
	})
}
