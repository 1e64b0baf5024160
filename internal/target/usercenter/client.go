package usercenter

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"

	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/usercenter/ucapi"
)

// sysAttrKey is the system attribute an account of ours carries our id in.
const sysAttrKey = "channel_user_id"

// groupAttrKey is the attribute a group of ours carries our id in.
const groupAttrKey = "channel_company_id"

// groupType is the type of the groups chansync manages.
const groupType = "company"

// passwordLen is the length of a new account's random password.
const passwordLen = 32

// client adapts the user centre's API client to the engine.
type client struct {
	api  *ucapi.Client
	role string

	roleMu    sync.Mutex
	roleReady bool
}

var _ target.Client = (*client)(nil)

// errPartly wraps the error of a step after a successful create.
type errPartly struct{ err error }

func (e *errPartly) Error() string { return "created, then: " + e.err.Error() }
func (e *errPartly) Unwrap() error { return e.err }

// Create creates the record: an account (with a random password, never
// kept), a group, or a membership (reconciled: creates and updates of a
// membership are the same).
func (c *client) Create(ctx context.Context, r target.Request) (target.Result, error) {
	switch body := r.Body.(type) {
	case *Account:
		return c.createAccount(ctx, body)
	case *Group:
		g, err := c.api.CreateGroup(ctx, ucapi.CreateGroupRequest{
			Name: body.Name, Type: groupType, Attrs: groupAttrs(body),
		})
		if err != nil {
			return target.Result{}, err
		}
		return target.Result{Ref: g.ID}, nil
	case *Membership:
		return c.reconcile(ctx, r, body)
	}
	return target.Result{}, fmt.Errorf("usercenter: no create for %T", r.Body)
}

// Update brings the record in line: an account's sys_attrs, enable flag
// and role; a group's name and attrs; a membership's groups.
func (c *client) Update(ctx context.Context, r target.Request) (target.Result, error) {
	switch body := r.Body.(type) {
	case *Account:
		if r.Ref == "" {
			return target.Result{}, errNoRef
		}
		if _, err := c.api.SaveUserSysAttrs(ctx, r.Ref, accountSysAttrs(body, false)); err != nil {
			return target.Result{}, err
		}
		if _, err := c.api.EnableUserAccount(ctx, r.Ref, body.Active); err != nil {
			return target.Result{Ref: r.Ref}, err
		}
		if err := c.assignRole(ctx, r.Ref); err != nil {
			return target.Result{Ref: r.Ref}, err
		}
		return target.Result{Ref: r.Ref}, nil
	case *Group:
		if r.Ref == "" {
			return target.Result{}, errNoRef
		}
		name := body.Name
		if _, err := c.api.UpdateGroup(ctx, ucapi.UpdateGroupRequest{ID: r.Ref, Name: &name, Attrs: groupAttrs(body)}); err != nil {
			return target.Result{}, err
		}
		return target.Result{Ref: r.Ref}, nil
	case *Membership:
		return c.reconcile(ctx, r, body)
	}
	return target.Result{}, fmt.Errorf("usercenter: no update for %T", r.Body)
}

// errNoRef is an update of a record whose user-centre id is not known: a
// conflict the engine confirms with Find.
var errNoRef = &ucapi.Error{Route: "update", Class: ucapi.ClassData, Message: "the record's user-centre id is not known"}

func (c *client) createAccount(ctx context.Context, a *Account) (target.Result, error) {
	pw := rand.Text() // 26 characters of base32, 130 bits from crypto/rand
	pw += rand.Text()
	u, err := c.api.CreateUser(ctx, ucapi.CreateUserRequest{
		Username: a.ChannelUserID,
		Password: ucapi.NewSecret(pw[:passwordLen]),
		Attrs:    map[string]any{"nickname": a.Name},
		SysAttrs: accountSysAttrs(a, true),
	})
	if err != nil {
		return target.Result{}, err
	}
	if !a.Active {
		if _, err := c.api.EnableUserAccount(ctx, u.ID, false); err != nil {
			return target.Result{Ref: u.ID}, &errPartly{err}
		}
	}
	if err := c.assignRole(ctx, u.ID); err != nil {
		return target.Result{Ref: u.ID}, &errPartly{err}
	}
	return target.Result{Ref: u.ID}, nil
}

func accountSysAttrs(a *Account, create bool) map[string]any {
	m := map[string]any{sysAttrKey: a.ChannelUserID, "name": a.Name, "phone": a.Phone}
	if create {
		m["username_password_temporary"] = true
	}
	return m
}

func groupAttrs(g *Group) map[string]any {
	return map[string]any{groupAttrKey: g.ChannelCompanyID, "social_credit_code": g.SocialCreditCode}
}

// assignRole gives the account the configured role unless it has it
// already (the contract does not say a second assignment succeeds), making
// the role first if the user centre lacks it (once per process).
func (c *client) assignRole(ctx context.Context, userID string) error {
	if c.role == "" {
		return nil
	}
	if err := c.ensureRole(ctx); err != nil {
		return err
	}
	roles, err := c.api.ListUserRoles(ctx, userID)
	if err != nil {
		return err
	}
	if slices.Contains(roles, c.role) {
		return nil
	}
	return c.api.AssignUserRole(ctx, userID, c.role)
}

func (c *client) ensureRole(ctx context.Context) error {
	c.roleMu.Lock()
	defer c.roleMu.Unlock()
	if c.roleReady {
		return nil
	}
	roles, err := c.api.ListRoles(ctx)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(roles, func(r ucapi.Role) bool { return r.Code == c.role }) {
		if _, err := c.api.SaveRole(ctx, ucapi.SaveRoleRequest{Code: c.role, Name: c.role}); err != nil {
			return err
		}
	}
	c.roleReady = true
	return nil
}

// reconcile makes the account's company groups the membership's: it adds
// what is missing and removes what is no longer due (only groups of type
// company that chansync manages). The account's and the groups' user-centre
// ids come from the parents' sync state.
func (c *client) reconcile(ctx context.Context, r target.Request, m *Membership) (target.Result, error) {
	userID := r.ParentRefs[target.Ref{Target: Name, Kind: "account", ID: m.ChannelUserID}]
	if userID == "" {
		return target.Result{}, &ucapi.Error{Route: "membership", Class: ucapi.ClassTransient, Message: "the account's user-centre id is not known yet"}
	}
	want := map[string]bool{}
	for _, co := range m.Companies {
		g := r.ParentRefs[target.Ref{Target: Name, Kind: "group", ID: co}]
		if g == "" {
			return target.Result{}, &ucapi.Error{Route: "membership", Class: ucapi.ClassTransient, Message: "group of company " + co + " has no user-centre id yet"}
		}
		want[g] = true
	}
	have, err := c.companyGroups(ctx, userID)
	if err != nil {
		return target.Result{}, err
	}
	for g := range want {
		if !have[g] {
			if err := c.api.AddUserToGroup(ctx, g, userID); err != nil {
				return target.Result{}, err
			}
		}
	}
	for g := range have {
		if !want[g] {
			if err := c.api.RemoveUserFromGroup(ctx, g, userID); err != nil {
				return target.Result{}, err
			}
		}
	}
	return target.Result{Ref: userID}, nil
}

// companyGroups returns the ids of the company groups chansync manages
// that the account belongs to.
func (c *client) companyGroups(ctx context.Context, userID string) (map[string]bool, error) {
	groups, err := c.api.ListUserGroups(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, g := range groups {
		if ours(&g) {
			out[g.ID] = true
		}
	}
	return out, nil
}

// ours reports whether a group is one chansync manages: a top-level group
// of type company carrying a channel_company_id.
func ours(g *ucapi.Group) bool {
	id, ok := g.AttrString(groupAttrKey)
	return ok && id != "" && g.Type == groupType && g.Parent == ""
}

// Find looks the record up by our id: an account by its system attribute
// (an account of somebody else's is never found, so never adopted), a
// group among the top-level groups by its attribute, a membership by the
// account's groups.
func (c *client) Find(ctx context.Context, r target.Request) (target.Found, error) {
	switch body := r.Body.(type) {
	case *Account:
		u, err := c.api.GetUserBySysAttr(ctx, sysAttrKey, body.ChannelUserID)
		if err != nil || u == nil {
			return target.Found{}, err
		}
		name, _ := u.SysAttrString("name")
		phone, _ := u.SysAttrString("phone")
		same := name == body.Name && phone == body.Phone && u.Enable == body.Active && body.Role == ""
		return target.Found{Exists: true, Ref: u.ID, Same: same}, nil
	case *Group:
		g, err := c.findGroup(ctx, body.ChannelCompanyID)
		if err != nil || g == nil {
			return target.Found{}, err
		}
		scc, _ := g.AttrString("social_credit_code")
		return target.Found{Exists: true, Ref: g.ID, Same: g.Name == body.Name && scc == body.SocialCreditCode}, nil
	case *Membership:
		// A membership always exists once its account does; reconciling it
		// is safe to repeat.
		return target.Found{}, nil
	}
	return target.Found{}, fmt.Errorf("usercenter: no lookup for %T", r.Body)
}

// findGroup returns the company group carrying our id, nil when none.
func (c *client) findGroup(ctx context.Context, companyID string) (*ucapi.Group, error) {
	groups, err := c.api.ListChildGroups(ctx, "", false)
	if err != nil {
		return nil, err
	}
	for i := range groups {
		if id, _ := groups[i].AttrString(groupAttrKey); id == companyID && ours(&groups[i]) {
			return &groups[i], nil
		}
	}
	return nil, nil
}

// The reasons the user centre is held for.
const (
	// HoldAuth: the user centre refuses our app token (401/403).
	HoldAuth = "auth failing"
)

// Classify maps a user-centre error to the engine's classes: 401/403 hold
// the target; 429 waits; 408, 5xx and network errors are transient and may
// have been applied unless the connection was never made; any other
// refusal of a create or update is a conflict to confirm with Find (a
// taken username, an id the user centre no longer has) before it is
// called a data error.
func (c *client) Classify(err error) target.Failure {
	var pe *errPartly
	var ue *ucapi.Error
	if !errors.As(err, &ue) {
		return target.Failure{Class: target.Transient, MaybeApplied: !neverSent(err), Reason: err.Error()}
	}
	f := target.Failure{Reason: reason(ue), RetryAfter: ue.RetryAfter, Answered: ue.HTTPStatus != 0}
	switch ue.Class {
	case ucapi.ClassAuth:
		f.Class, f.Hold = target.Hold, HoldAuth
	case ucapi.ClassRateLimited:
		f.Class = target.RateLimited
	case ucapi.ClassData:
		f.Class, f.Conflict = target.Permanent, !errors.As(err, &pe)
	default:
		f.Class = target.Transient
		f.MaybeApplied = !neverSent(ue)
		// A 5xx is the end of the request only when the user centre itself
		// said so: a gateway's page (a 502, any 504) may come while the
		// request is still being applied behind it, and a lookup must then
		// wait until it can no longer be in flight.
		f.Answered = ue.Envelope && ue.HTTPStatus != http.StatusGatewayTimeout
	}
	return f
}

// reason renders a user-centre error in one line, naming the field the
// refusal is about where it can: create-user refuses a taken username.
func reason(e *ucapi.Error) string {
	switch {
	case e.Class == ucapi.ClassData && e.Route == ucapi.RouteCreateUser:
		return "username: create-user refused it (taken by an account that is not ours, or invalid): " + e.Error()
	case e.Field != "":
		return e.Field + ": " + e.Error()
	}
	return e.Error()
}

func neverSent(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}
