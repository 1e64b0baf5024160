package badinput_test

// rkind is one of the channel's kinds, as the catalogue names records.
type rkind string

// The channel's kinds.
const (
	kCompany     rkind = "company"
	kUser        rkind = "user"
	kTask        rkind = "task"
	kApplication rkind = "application"
	kPayment     rkind = "payment"
)

// kinds lists the channel's kinds, parents first.
var kinds = []rkind{kCompany, kUser, kTask, kApplication, kPayment}

// Plural is the kind's table and its path on the channel.
func (k rkind) Plural() string {
	if k == kCompany {
		return "companies"
	}
	return string(k) + "s"
}

// Table is the kind's local table.
func (k rkind) Table() string { return k.Plural() }

// IDField is the column holding our id.
func (k rkind) IDField() string { return "channel_" + string(k) + "_id" }

// rref names one record of the channel.
type rref struct {
	Kind rkind
	ID   string
}

// String renders the ref as "kind/id".
func (r rref) String() string { return string(r.Kind) + "/" + r.ID }

// Tier is the kind's depth in the channel's dependency graph.
func (k rkind) Tier() int {
	return map[rkind]int{kCompany: 0, kUser: 0, kTask: 1, kApplication: 2, kPayment: 3}[k]
}
