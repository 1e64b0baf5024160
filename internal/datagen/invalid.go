package datagen

import (
	"time"
)

// AddInvalid appends a handful of invalid records to a generated set, each
// breaking one rule the worker checks before a push, plus records that
// depend on an invalid one (they must wait, blocked, not fail the order).
// It returns the ids of the invalid records and of their dependants.
func (s *Set) AddInvalid(prefix string) (invalid, dependants []string) {
	now := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	validUser := s.Users[0].ChannelUserID
	validApp := s.Applications[0].ChannelApplicationID

	badIDCard := s.Users[0]
	badIDCard.ChannelUserID = prefix + "U-BAD-IDCARD"
	badIDCard.IDCard = "110101199001011234" // the seed's own example: wrong check digit
	badPhone := s.Users[0]
	badPhone.ChannelUserID = prefix + "U-BAD-PHONE"
	badPhone.Phone = "1380013800"
	s.Users = append(s.Users, badIDCard, badPhone)

	badCompany := s.Companies[0]
	badCompany.ChannelCompanyID = prefix + "C-BAD-CREDIT"
	badCompany.SocialCreditCode = "91110000MA00ABCD01" // the seed's own example: wrong check digit
	s.Companies = append(s.Companies, badCompany)

	orphanTask := s.Tasks[0]
	orphanTask.ChannelTaskID = prefix + "T-UNDER-BAD-COMPANY"
	orphanTask.ChannelCompanyID = badCompany.ChannelCompanyID
	badOrder := s.Tasks[0]
	badOrder.ChannelTaskID = prefix + "T-END-BEFORE-START"
	badOrder.RecruitmentStartTime = now.Add(48 * time.Hour)
	badOrder.RecruitmentEndTime = now
	badEnum := s.Tasks[0]
	badEnum.ChannelTaskID = prefix + "T-BAD-TYPE"
	badEnum.TaskType = "seasonal"
	s.Tasks = append(s.Tasks, orphanTask, badOrder, badEnum)

	orphanApp := s.Applications[0]
	orphanApp.ChannelApplicationID = prefix + "A-UNDER-BLOCKED-TASK"
	orphanApp.ChannelTaskID = orphanTask.ChannelTaskID
	orphanApp.ChannelUserID = validUser
	s.Applications = append(s.Applications, orphanApp)

	zero := s.Payments[0]
	zero.ChannelPaymentID = prefix + "P-ZERO-AMOUNT"
	zero.Amount = "0"
	zero.PaymentType = "application"
	zero.ChannelApplicationID = ptr(validApp)
	zero.ChannelUserID = nil
	noUser := s.Payments[0]
	noUser.ChannelPaymentID = prefix + "P-USER-WITHOUT-USER"
	noUser.PaymentType = "user"
	noUser.ChannelUserID = nil
	noUser.ChannelApplicationID = nil
	s.Payments = append(s.Payments, zero, noUser)

	invalid = []string{badIDCard.ChannelUserID, badPhone.ChannelUserID, badCompany.ChannelCompanyID,
		badOrder.ChannelTaskID, badEnum.ChannelTaskID, zero.ChannelPaymentID, noUser.ChannelPaymentID}
	dependants = []string{orphanTask.ChannelTaskID, orphanApp.ChannelApplicationID}
	return invalid, dependants
}
