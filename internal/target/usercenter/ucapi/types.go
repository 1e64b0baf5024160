package ucapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
)

// Account types (the user's "type" field).
const (
	// UserTypeMember is an ordinary account; the client creates only these.
	UserTypeMember = "MEMBER"
	// UserTypeAdmin is an administrator account.
	UserTypeAdmin = "ADMIN"
)

// User is an account as the user centre returns it. Numbers inside Attrs
// and SysAttrs are json.Number (exact); the password hash the service
// returns is not kept.
type User struct {
	// ID is the account's _id.
	ID string
	// Username is the login name.
	Username string
	// Type is UserTypeMember or UserTypeAdmin.
	Type string
	// Attrs are the attributes the person may edit themselves.
	Attrs map[string]any
	// SysAttrs are the system attributes only the application may edit
	// (chansync's channel_user_id, name, phone live here).
	SysAttrs map[string]any
	// Enable reports whether the account may sign in.
	Enable bool
	// FirstCreated and LastModified are the service's timestamps, verbatim
	// (e.g. "2025-05-06T06:36:30.251000").
	FirstCreated string
	LastModified string
}

// SysAttrString returns SysAttrs[key] when it is a string.
func (u *User) SysAttrString(key string) (string, bool) {
	v, ok := u.SysAttrs[key].(string)
	return v, ok
}

// userWire is the wire form of User, read leniently: enable may be a
// boolean or 0/1.
type userWire struct {
	ID           string          `json:"_id"`
	Username     string          `json:"username"`
	Type         string          `json:"type"`
	Attrs        map[string]any  `json:"attrs"`
	SysAttrs     map[string]any  `json:"sys_attrs"`
	Enable       json.RawMessage `json:"enable"`
	FirstCreated string          `json:"firstCreated"`
	LastModified string          `json:"lastModified"`
}

// UnmarshalJSON reads a user object of the service.
func (u *User) UnmarshalJSON(b []byte) error {
	var w userWire
	if err := decodeNumbers(b, &w); err != nil {
		return fmt.Errorf("decode user: %w", err)
	}
	if w.ID == "" {
		return fmt.Errorf("decode user: no _id")
	}
	enable, err := flag(w.Enable)
	if err != nil {
		return fmt.Errorf("decode user: enable: %w", err)
	}
	*u = User{
		ID: w.ID, Username: w.Username, Type: w.Type, Attrs: w.Attrs, SysAttrs: w.SysAttrs,
		Enable: enable, FirstCreated: w.FirstCreated, LastModified: w.LastModified,
	}
	return nil
}

// flag reads a boolean sent as true/false or 1/0 (absent is false).
func flag(raw json.RawMessage) (bool, error) {
	s := string(bytes.TrimSpace(raw))
	switch s {
	case "", "null", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, fmt.Errorf("%.20s is not a boolean", s)
}

// Group is a group (a company, for chansync) as the service returns it.
type Group struct {
	// ID is the group's _id.
	ID string `json:"_id"`
	// Name may not contain "/".
	Name string `json:"name"`
	// Desc is the long description.
	Desc string `json:"desc"`
	// Parent is the parent group's _id; "" for a top-level group.
	Parent string `json:"parent"`
	// Order sorts siblings (ascending; fractions and negatives allowed).
	Order json.Number `json:"order"`
	// Type is free text ("dept" by default; chansync's are "company").
	Type string `json:"type"`
	// Attrs are the group's extended attributes (chansync's
	// channel_company_id and social_credit_code).
	Attrs map[string]any `json:"attrs"`
	// Children holds the subgroups when they were asked for (recursive);
	// nil when they were not looked up.
	Children []Group `json:"children"`
	// IDPath, NamePath and TypePath are the service's paths of the group's
	// ancestors ("/" for a top-level group).
	IDPath   string `json:"id_path"`
	NamePath string `json:"name_path"`
	TypePath string `json:"type_path"`
	// FirstCreated and LastModified are the service's timestamps, verbatim.
	FirstCreated string `json:"firstCreated"`
	LastModified string `json:"lastModified"`
}

// AttrString returns Attrs[key] when it is a string.
func (g *Group) AttrString(key string) (string, bool) {
	v, ok := g.Attrs[key].(string)
	return v, ok
}

// Role is a role of the application's accounts.
type Role struct {
	// Code identifies the role; it cannot change.
	Code string `json:"code"`
	// Name and Desc are for display.
	Name string `json:"name"`
	Desc string `json:"desc"`
	// Order sorts roles (the service's default: the creation time, in
	// seconds).
	Order json.Number `json:"order"`
}

// UserPage is one page of list-users.
type UserPage struct {
	// Total is the number of accounts matching, over all pages.
	Total int `json:"total"`
	// Items are this page's accounts.
	Items []User `json:"items"`
}

// CreateUserRequest is the body of create-user. The account is created as
// a MEMBER (user_type is not sent: the seed's default). String, GoString
// and LogValue hide Password; the client never logs request bodies.
type CreateUserRequest struct {
	// Username is the login name (required). A taken one is refused.
	Username string `json:"username"`
	// Password is the initial password in clear (required). It is the
	// caller's: the client neither generates, keeps nor logs it.
	Password string `json:"password"`
	// Attrs are the person's own attributes (optional).
	Attrs map[string]any `json:"attrs,omitempty"`
	// SysAttrs are the system attributes (optional; chansync always sets
	// channel_user_id).
	SysAttrs map[string]any `json:"sys_attrs,omitempty"`
}

// String renders the request with the password hidden.
func (r CreateUserRequest) String() string {
	return fmt.Sprintf("CreateUserRequest{Username:%s Password:%s Attrs:%v SysAttrs:%v}", strconv.Quote(r.Username), redacted, r.Attrs, r.SysAttrs)
}

// GoString renders the request with the password hidden.
func (r CreateUserRequest) GoString() string { return r.String() }

// LogValue renders the request for slog with the password hidden.
func (r CreateUserRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("username", r.Username), slog.String("password", redacted))
}

// CreateGroupRequest is the body of create-group.
type CreateGroupRequest struct {
	// Name is required and may not contain "/". Names need not be unique.
	Name string `json:"name"`
	// Type is free text without "/" (optional; the service's default is
	// "dept").
	Type string `json:"type,omitempty"`
	// Attrs are extended attributes (optional).
	Attrs map[string]any `json:"attrs,omitempty"`
	// Desc is a long description (optional).
	Desc string `json:"desc,omitempty"`
	// Parent is the parent group's _id (optional; "" for a top-level group).
	Parent string `json:"parent,omitempty"`
	// Order sorts siblings (optional; the service's default is 0).
	Order *float64 `json:"order,omitempty"`
}

// UpdateGroupRequest is the body of update-group: a partial update; nil
// fields are not sent and stay as they are. Keys of Attrs are merged into
// the group's attrs; a dotted key ("a.b") updates a nested value.
type UpdateGroupRequest struct {
	// ID is the group's _id (required).
	ID string `json:"id"`
	// Name, if set, may not be empty or contain "/".
	Name *string `json:"name,omitempty"`
	// Desc, if set, replaces the description.
	Desc *string `json:"desc,omitempty"`
	// Parent, if set, moves the group ("" makes it top-level).
	Parent *string `json:"parent,omitempty"`
	// Order, if set, replaces the sort key.
	Order *float64 `json:"order,omitempty"`
	// Type, if set, may not contain "/".
	Type *string `json:"type,omitempty"`
	// Attrs, if not nil, are merged into the group's attrs.
	Attrs map[string]any `json:"attrs,omitempty"`
}

// SaveRoleRequest is the body of save-role: it creates the role named by
// Code, or updates its name and description.
type SaveRoleRequest struct {
	// Code identifies the role (required).
	Code string `json:"code"`
	// Name is for display (optional).
	Name string `json:"name,omitempty"`
	// Desc is for display (optional).
	Desc string `json:"desc,omitempty"`
}

// ListUsersParams are list-users' query parameters.
type ListUsersParams struct {
	// Skip is how many accounts to skip (default 0).
	Skip int
	// Limit is the most accounts to return (0: the service's default, 10).
	Limit int
	// SortKey is the field to sort by ("": the service's default,
	// firstCreated).
	SortKey string
	// SortDirection is 1 (ascending) or -1 (descending); 0 sends none (the
	// service's default, -1).
	SortDirection int
}

// decodeNumbers decodes b into v with numbers kept as json.Number.
func decodeNumbers(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v) //nolint:wrapcheck // wrapped by the callers
}
