// Package channelbody holds the channel API's request bodies (seed 001):
// users, companies, tasks, applications and payments with their nested
// objects. It is a leaf package: the validators, the channel target's
// mapping, the ingest API and the simulator share these types without
// importing the HTTP client.
package channelbody

import "encoding/json"

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

// Resource is one of the channel's five resources, named in the singular
// ("user"); its plural is its path ("/users").
type Resource string

// The channel's resources.
const (
	Users        Resource = "user"
	Companies    Resource = "company"
	Tasks        Resource = "task"
	Applications Resource = "application"
	Payments     Resource = "payment"
)

// Resources lists every resource in dependency order: a resource appears
// after every resource it may reference.
var Resources = []Resource{Companies, Users, Tasks, Applications, Payments}

// Plural returns the resource's plural, which is also its path on the
// channel (users, companies, tasks, applications, payments).
func (r Resource) Plural() string {
	if r == Companies {
		return "companies"
	}
	return string(r) + "s"
}

// IDField returns the field that holds our id for the resource, such as
// channel_user_id.
func (r Resource) IDField() string { return "channel_" + string(r) + "_id" }

// ChannelIDField returns the field in which the channel answers with its
// own id for the resource, such as user_id.
func (r Resource) ChannelIDField() string { return string(r) + "_id" }
