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

// User is the body of POST /users and PUT /users/:channel_user_id.
// Optional fields left empty are omitted.
type User struct {
	ChannelUserID     string             `json:"channel_user_id"`
	Name              string             `json:"name"`
	IDCard            string             `json:"id_card"`
	Phone             string             `json:"phone"`
	LiveCertification *LiveCertification `json:"live_certification,omitempty"`
}

// LiveCertification is the nested live_certification object of a user.
// Pointer fields are pointers so that a missing required field can be told
// from a zero value.
type LiveCertification struct {
	Certified           *bool        `json:"certified,omitempty"`
	CertificationTime   string       `json:"certification_time,omitempty"`
	CertificationMethod string       `json:"certification_method,omitempty"`
	FaceScore           *json.Number `json:"face_score,omitempty"`
	LivenessScore       *json.Number `json:"liveness_score,omitempty"`
	Photos              []string     `json:"photos,omitempty"`
}

// Company is the body of POST /companies and PUT /companies/:channel_company_id.
type Company struct {
	ChannelCompanyID  string           `json:"channel_company_id"`
	CompanyName       string           `json:"company_name"`
	SocialCreditCode  string           `json:"social_credit_code"`
	LegalPerson       string           `json:"legal_person,omitempty"`
	ContactPerson     string           `json:"contact_person,omitempty"`
	ContactPhone      string           `json:"contact_phone,omitempty"`
	BusinessLicense   *BusinessLicense `json:"business_license,omitempty"`
	RegisteredAddress string           `json:"registered_address,omitempty"`
	BusinessScope     string           `json:"business_scope,omitempty"`
}

// BusinessLicense is the nested business_license object of a company.
type BusinessLicense struct {
	LicenseNumber       string       `json:"license_number,omitempty"`
	LicensePhoto        string       `json:"license_photo,omitempty"`
	IssueDate           string       `json:"issue_date,omitempty"`
	ExpiryDate          string       `json:"expiry_date,omitempty"`
	RegistrationCapital *json.Number `json:"registration_capital,omitempty"`
	PaidInCapital       *json.Number `json:"paid_in_capital,omitempty"`
}

// Task is the body of POST /tasks and PUT /tasks/:channel_task_id.
type Task struct {
	ChannelTaskID          string  `json:"channel_task_id"`
	ChannelCompanyID       string  `json:"channel_company_id"`
	TaskName               string  `json:"task_name"`
	TaskType               string  `json:"task_type"`
	RecruitCount           int64   `json:"recruit_count"`
	RecruitmentStartTime   string  `json:"recruitment_start_time"`
	RecruitmentEndTime     string  `json:"recruitment_end_time"`
	WorkStartTime          string  `json:"work_start_time,omitempty"`
	WorkEndTime            string  `json:"work_end_time,omitempty"`
	WageDescription        string  `json:"wage_description,omitempty"`
	RecruitmentDescription string  `json:"recruitment_description,omitempty"`
	WorkLocation           string  `json:"work_location,omitempty"`
	JobRequirements        string  `json:"job_requirements,omitempty"`
	Salary                 *Salary `json:"salary,omitempty"`
	Status                 string  `json:"status,omitempty"`
}

// Salary is the nested salary object of a task.
type Salary struct {
	SalaryType     string       `json:"salary_type,omitempty"`
	Amount         *json.Number `json:"amount,omitempty"`
	Currency       string       `json:"currency,omitempty"`
	SettlementType string       `json:"settlement_type,omitempty"`
}

// Application is the body of POST /applications and
// PUT /applications/:channel_application_id.
type Application struct {
	ChannelApplicationID string `json:"channel_application_id"`
	ChannelUserID        string `json:"channel_user_id"`
	ChannelTaskID        string `json:"channel_task_id"`
	AppliedAt            string `json:"applied_at"`
	ResumeURL            string `json:"resume_url,omitempty"`
	ApplicationChannel   string `json:"application_channel,omitempty"`
	Status               string `json:"status,omitempty"`
	Remark               string `json:"remark,omitempty"`
}

// Payment is the body of POST /payments and PUT /payments/:channel_payment_id.
// Amount is a decimal number carried as text (never a float).
type Payment struct {
	ChannelPaymentID     string        `json:"channel_payment_id"`
	PaymentType          string        `json:"payment_type"`
	ChannelUserID        string        `json:"channel_user_id,omitempty"`
	ChannelApplicationID string        `json:"channel_application_id,omitempty"`
	Amount               json.Number   `json:"amount"`
	Currency             string        `json:"currency,omitempty"`
	PaymentTime          string        `json:"payment_time"`
	PaymentMethod        string        `json:"payment_method,omitempty"`
	PaymentChannel       string        `json:"payment_channel,omitempty"`
	BankName             string        `json:"bank_name,omitempty"`
	BankAccount          string        `json:"bank_account,omitempty"`
	TransactionNo        string        `json:"transaction_no,omitempty"`
	PaymentBasis         *PaymentBasis `json:"payment_basis"`
	Status               string        `json:"status,omitempty"`
	Remark               string        `json:"remark,omitempty"`
}

// PaymentBasis is the nested payment_basis object of a payment.
type PaymentBasis struct {
	BasisType      string       `json:"basis_type,omitempty"`
	WorkHours      *json.Number `json:"work_hours,omitempty"`
	WorkDateStart  string       `json:"work_date_start,omitempty"`
	WorkDateEnd    string       `json:"work_date_end,omitempty"`
	Description    string       `json:"description,omitempty"`
	SupportingDocs []string     `json:"supporting_docs,omitempty"`
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
