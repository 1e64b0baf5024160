package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/channel"
	"github.com/chansync/chansync/internal/target/channel/channelapi"
	"github.com/chansync/chansync/internal/target/usercenter"
	"github.com/chansync/chansync/internal/target/usercenter/ucapi"
	"github.com/chansync/chansync/internal/targets"
)

// wireRecord is one record the both-targets wire loop sends: its kind and
// its request, built by the kind from the loaded rows as a push builds it.
type wireRecord struct {
	kind  *target.Kind
	built *target.Built
}

// targetRecords reads every valid record of every kind of the channel and
// the user centre from the template database, grouped by tier (the
// registry's dependency depth: companies, users, accounts and groups
// first; then tasks and memberships; then applications; then payments):
// what a first full sync with both targets on pushes. It is read once per
// template.
func (b *bench) targetRecords(ctx context.Context, tmpl string) ([][]wireRecord, error) {
	if t, ok := b.targetTiers[tmpl]; ok {
		return t, nil
	}
	reg, err := targets.Describe(targets.Settings{UserCenter: usercenter.Settings{BaseURL: "http://127.0.0.1", AppKey: hubAK, SecretKey: hubSK}})
	if err != nil {
		return nil, fmt.Errorf("describe targets: %w", err)
	}
	dbURL, err := b.dbURL(tmpl)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, fmt.Errorf("connect to the template: %w", err)
	}
	// The template is cloned later: no connection may stay open to it.
	defer conn.Close(context.WithoutCancel(ctx))
	var tiers [][]wireRecord
	for _, k := range reg.Kinds() {
		for len(tiers) <= k.Tier() {
			tiers = append(tiers, nil)
		}
		recs, err := readKind(ctx, conn, k)
		if err != nil {
			return nil, err
		}
		tiers[k.Tier()] = append(tiers[k.Tier()], recs...)
	}
	b.targetTiers[tmpl] = tiers
	return tiers, nil
}

// readKind reads and builds every valid record of kind k, a page at a time.
func readKind(ctx context.Context, conn *pgx.Conn, k *target.Kind) ([]wireRecord, error) {
	var out []wireRecord
	after := ""
	for {
		page, err := k.Page(ctx, conn, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", k, err)
		}
		if len(page) == 0 {
			return out, nil
		}
		for _, bt := range page {
			if bt.Valid() {
				out = append(out, wireRecord{kind: k, built: bt})
			}
		}
		after = page[len(page)-1].Ref.ID
	}
}

// wireLimitTargets sends, tier by tier with conc requests in flight, the
// requests a first full sync sends to both targets — a create per channel
// record; create-user per account, create-group per group; per membership
// list-user-groups, then add-user-to-group per company — to fresh
// simulators answering after latency, over keep-alive clients, with no
// database and no queue, and times it.
func (b *bench) wireLimitTargets(ctx context.Context, tmpl string, latency time.Duration, conc int) (wireResult, error) {
	tiers, err := b.targetRecords(ctx, tmpl)
	if err != nil {
		return wireResult{}, err
	}
	sims, err := b.startSims(latency, true)
	if err != nil {
		return wireResult{}, err
	}
	defer sims.stop()
	w, err := newTargetWire(ctx, sims)
	if err != nil {
		return wireResult{}, err
	}
	res := wireResult{Targets: bothTargets}
	var lastErr error
	procs := sims.procs("", nil)
	cpu0 := map[string]float64{"wire loop": selfCPU()}
	for name, ps := range procs {
		cpu0[name] = procCPU(ps[0])
	}
	start := time.Now()
	for _, t := range tiers {
		failed, err := sendAll(ctx, t, conc, w.send)
		res.Failed += failed
		if err != nil {
			lastErr = err
		}
		res.Records += len(t)
	}
	wall := time.Since(start)
	res.CPU = map[string]float64{"wire loop": selfCPU() - cpu0["wire loop"]}
	for name, ps := range procs {
		res.CPU[name] = procCPU(ps[0]) - cpu0[name]
	}
	res.Requests = w.requests.Load()
	res.WallS = wall.Seconds()
	res.RecPerSec = float64(res.Records) / wall.Seconds()
	if res.Failed > 0 {
		return res, fmt.Errorf("wire loop (both targets): %d of %d records failed, last: %w", res.Failed, res.Records, lastErr)
	}
	return res, ctx.Err()
}

// targetWire sends the both-targets wire loop's requests: the channel's
// with a token from its simulator, the user centre's through ucapi (which
// signs its app token), remembering the user centre's ids of the accounts
// and groups it created for the memberships.
type targetWire struct {
	ch      *http.Client
	chBase  string
	chToken string
	uc      *ucapi.Client

	mu    sync.Mutex
	ucIDs map[target.Ref]string

	requests atomic.Int64
}

// newTargetWire makes the clients of the loop: one keep-alive client per
// simulator.
func newTargetWire(ctx context.Context, sims *simSet) (*targetWire, error) {
	ch := channelapi.DefaultHTTPClient()
	token, err := simToken(ctx, ch, sims.ch.base)
	if err != nil {
		return nil, err
	}
	uc, err := ucapi.New(ucapi.Config{BaseURL: sims.hub.base, AppKey: hubAK, SecretKey: ucapi.NewSecret(hubSK), HTTPClient: ucapi.DefaultHTTPClient()})
	if err != nil {
		return nil, fmt.Errorf("user centre client: %w", err)
	}
	return &targetWire{ch: ch, chBase: sims.ch.base, chToken: token, uc: uc, ucIDs: map[target.Ref]string{}}, nil
}

// send sends the requests of one record, one after the other, as a push
// does.
func (w *targetWire) send(ctx context.Context, r wireRecord) error {
	if r.kind.Target == channel.Name {
		w.requests.Add(1)
		return postOne(ctx, w.ch, w.chBase+"/"+r.kind.Plural, w.chToken, r.built.JSON)
	}
	var err error
	switch body := r.built.Body.(type) {
	case *usercenter.Account:
		err = w.createAccount(ctx, r.built.Ref, body)
	case *usercenter.Group:
		err = w.createGroup(ctx, r.built.Ref, body)
	case *usercenter.Membership:
		err = w.reconcile(ctx, body)
	default:
		err = fmt.Errorf("no request for %T", body)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", r.built.Ref, err)
	}
	return nil
}

// createAccount sends create-user as the user centre target does
// (usercenter's createAccount: a random password, the nickname, the
// system attributes), then disables an inactive account.
func (w *targetWire) createAccount(ctx context.Context, ref target.Ref, a *usercenter.Account) error {
	pw := rand.Text() + rand.Text()
	w.requests.Add(1)
	u, err := w.uc.CreateUser(ctx, ucapi.CreateUserRequest{
		Username: a.ChannelUserID,
		Password: ucapi.NewSecret(pw[:32]),
		Attrs:    map[string]any{"nickname": a.Name},
		SysAttrs: map[string]any{"channel_user_id": a.ChannelUserID, "name": a.Name, "phone": a.Phone, "username_password_temporary": true},
	})
	if err != nil {
		return fmt.Errorf("create-user: %w", err)
	}
	w.remember(ref, u.ID)
	if !a.Active {
		w.requests.Add(1)
		if _, err := w.uc.EnableUserAccount(ctx, u.ID, false); err != nil {
			return fmt.Errorf("enable-user-account: %w", err)
		}
	}
	return nil
}

// createGroup sends create-group as the user centre target does: a
// top-level group of type company carrying our id.
func (w *targetWire) createGroup(ctx context.Context, ref target.Ref, g *usercenter.Group) error {
	w.requests.Add(1)
	got, err := w.uc.CreateGroup(ctx, ucapi.CreateGroupRequest{
		Name: g.Name, Type: "company",
		Attrs: map[string]any{"channel_company_id": g.ChannelCompanyID, "social_credit_code": g.SocialCreditCode},
	})
	if err != nil {
		return fmt.Errorf("create-group: %w", err)
	}
	w.remember(ref, got.ID)
	return nil
}

// reconcile sends what a membership's first push sends: list-user-groups,
// then add-user-to-group for each company group the account is not in.
func (w *targetWire) reconcile(ctx context.Context, m *usercenter.Membership) error {
	userID := w.ucID(target.Ref{Target: usercenter.Name, Kind: "account", ID: m.ChannelUserID})
	if userID == "" {
		return fmt.Errorf("account %s was not created", m.ChannelUserID)
	}
	w.requests.Add(1)
	groups, err := w.uc.ListUserGroups(ctx, userID)
	if err != nil {
		return fmt.Errorf("list-user-groups: %w", err)
	}
	have := map[string]bool{}
	for _, g := range groups {
		have[g.ID] = true
	}
	for _, co := range m.Companies {
		groupID := w.ucID(target.Ref{Target: usercenter.Name, Kind: "group", ID: co})
		if groupID == "" {
			return fmt.Errorf("group of company %s was not created", co)
		}
		if have[groupID] {
			continue
		}
		w.requests.Add(1)
		if err := w.uc.AddUserToGroup(ctx, groupID, userID); err != nil {
			return fmt.Errorf("add-user-to-group: %w", err)
		}
	}
	return nil
}

func (w *targetWire) remember(ref target.Ref, id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ucIDs[ref] = id
}

func (w *targetWire) ucID(ref target.Ref) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ucIDs[ref]
}
