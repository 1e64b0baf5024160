package points

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/source"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/points/pointsapi"
	"github.com/chansync/chansync/internal/validate"
)

// Grant is one points_grants row as APIHub takes it: the body of one
// recharge.
type Grant struct {
	// ExternalOrderID is our id (points_grants.external_order_id).
	ExternalOrderID string `json:"external_order_id"`
	// ClientUserID is the user credited: points_grants.channel_user_id.
	ClientUserID string `json:"client_user_id"`
	// AmountCents is the credit, a positive integer of cents.
	AmountCents int64 `json:"amount_cents"`
	// Reason is the ledger entry's text: the grant's reason (DefaultReason
	// when it has none) followed by the order id in brackets, as
	// pointsapi.ReasonFor writes it, so that the ledger can be searched.
	Reason string `json:"reason"`
}

// DefaultReason is the text of a grant without a reason ("points grant"),
// followed like every reason by the order id: "积分发放 [G1]".
const DefaultReason = "积分发放"

// maxAmountCents is the largest amount APIHub takes: 2^53-1, the largest
// integer every JSON parser reads exactly.
const maxAmountCents = 1<<53 - 1

// grantIdentity is what a grant's hash covers: what was credited, and to
// whom. Its reason is left out: a change of reason alone sends nothing.
type grantIdentity struct {
	ExternalOrderID string `json:"external_order_id"`
	ClientUserID    string `json:"client_user_id"`
	AmountCents     int64  `json:"amount_cents"`
}

// grantKind is the points target's one kind.
var grantKind = newGrantKind()

func newGrantKind() *target.Kind {
	k := &target.Kind{
		Target: Name, Name: "grant", Plural: "grants", IDField: "external_order_id", Source: "points_grant",
		VersionsSQL:  "SELECT external_order_id AS record_id, updated_at FROM points_grants",
		Affected:     map[string]target.AffectedFunc{"points_grant": target.Identity},
		KeepAccepted: true,
	}
	k.Load = func(ctx context.Context, db dbsqlc.DBTX, ids []string) (map[string]*target.Built, error) {
		rows, err := dbsqlc.New(db).GrantsByID(ctx, ids)
		if err != nil {
			return nil, err
		}
		out := make(map[string]*target.Built, len(rows))
		for _, r := range rows {
			out[r.ExternalOrderID] = buildGrant(k, r)
		}
		return out, nil
	}
	k.Page = func(ctx context.Context, db dbsqlc.DBTX, after string, size int32) ([]*target.Built, error) {
		rows, err := dbsqlc.New(db).GrantsPage(ctx, dbsqlc.GrantsPageParams{After: after, PageSize: size})
		if err != nil {
			return nil, err
		}
		out := make([]*target.Built, len(rows))
		for i, r := range rows {
			out[i] = buildGrant(k, r)
		}
		return out, nil
	}
	return k
}

// Kinds returns the points target's kinds: grant (Plural "grants", our id
// in external_order_id, read from points_grants, its accepted body kept
// to name what changed).
func Kinds() []*target.Kind { return []*target.Kind{grantKind} }

// buildGrant turns a points_grants row into its recharge. It checks the
// rules ingest checks (source.ValidateGrant: the order id 1 to 64 of
// [A-Za-z0-9_-], a user id, a positive amount) and that APIHub can take
// the amount; every reason names the local column.
func buildGrant(k *target.Kind, row dbsqlc.PointsGrant) *target.Built {
	b := &target.Built{Ref: k.Ref(row.ExternalOrderID), UpdatedAt: row.UpdatedAt}
	in := source.GrantBody{
		ExternalOrderID: row.ExternalOrderID,
		ChannelUserID:   row.ChannelUserID,
		AmountCents:     json.Number(strconv.FormatInt(row.AmountCents, 10)),
		Reason:          row.Reason,
	}
	b.Errs = source.ValidateGrant(&in)
	if row.AmountCents > maxAmountCents {
		b.Errs.Add("amount_cents", validate.RuleRange, "must be at most 9007199254740991 (APIHub's largest amount)")
	}
	text := ""
	if row.Reason != nil {
		text = strings.TrimSpace(*row.Reason)
	}
	if text == "" {
		text = DefaultReason
	}
	b.Body = &Grant{
		ExternalOrderID: row.ExternalOrderID,
		ClientUserID:    row.ChannelUserID,
		AmountCents:     row.AmountCents,
		Reason:          pointsapi.ReasonFor(text, row.ExternalOrderID),
	}
	return k.Finish(b, grantIdentity{ExternalOrderID: row.ExternalOrderID, ClientUserID: row.ChannelUserID, AmountCents: row.AmountCents})
}
