package channelapi

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Envelope is the shape of every answer of the channel:
// {"code": int, "message": str, "data": {...}}.
type Envelope struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// ID is an identifier the channel assigns (user_id, task_id, ...). The seed
// shows them as strings; ID also accepts a JSON number, so that a channel that
// answers with numbers still decodes.
type ID string

// UnmarshalJSON accepts a JSON string or number.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ID(s)
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		*id = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("channel id: want string or number, got %s", b)
	}
	*id = ID(n.String())
	return nil
}

// TokenRequest is the body of POST /auth/token.
type TokenRequest struct {
	AppKey    string `json:"appkey"`
	Secret    string `json:"secret"`
	GrantType string `json:"grant_type"`
}

// RefreshRequest is the body of POST /auth/refresh.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token"`
	GrantType    string `json:"grant_type"`
}

// Token is the data of a successful /auth/token or /auth/refresh answer.
type Token struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// Created is the data of a successful create or update: the channel's own id
// under a kind-specific name (user_id, company_id, ...), our id, and when the
// channel created the record. Decode it with DecodeCreated.
type Created struct {
	// ChannelRef is the channel's own id for the record.
	ChannelRef ID
	// CreatedAt is the channel's created_at, verbatim.
	CreatedAt string
}

// Page is the data of a list answer: the records of one page, decoded
// loosely, and the paging figures when the channel gives them.
type Page struct {
	Items    []json.RawMessage
	Total    int
	Page     int
	PageSize int
}

// ListParams are the filters and paging of GET /tasks, GET /applications
// and GET /payments. Empty fields are not sent. Filters a resource does not
// define are rejected by the client.
type ListParams struct {
	ChannelCompanyID     string
	ChannelUserID        string
	ChannelTaskID        string
	ChannelApplicationID string
	PaymentType          string
	Status               string
	StartDate            string
	EndDate              string
	Page                 int
	PageSize             int
}
