package pointsapi

import (
	"context"
	"fmt"
	"iter"
	"strings"
)

// AllLogs yields every entry of the user's ledger, newest first, reading
// pages of MaxPageSize. Entries added while it reads push older ones onto
// later pages; an entry seen twice (by id) is yielded once, so none is
// missed or counted twice. It stops at the first error, which it yields
// (with a zero entry): an API error, a ledger longer than
// Config.MaxLedgerPages pages, or paging that contradicts itself (a full
// page with nothing new, a last page that ends before the total the API reported),
// since a ledger read in part could hide a credit.
func (c *Client) AllLogs(ctx context.Context, clientUserID string) iter.Seq2[LogEntry, error] {
	return func(yield func(LogEntry, error) bool) {
		seen := make(map[int64]struct{})
		for page := 1; ; page++ {
			if page > c.maxLedgerPages {
				yield(LogEntry{}, &Error{Op: RouteLogs, Class: ClassTransient,
					Message: fmt.Sprintf("ledger of %q is longer than %d pages; not read to the end", clientUserID, c.maxLedgerPages)})
				return
			}
			p, err := c.Logs(ctx, LogsParams{ClientUserID: clientUserID, Page: page, PageSize: MaxPageSize})
			if err != nil {
				yield(LogEntry{}, err)
				return
			}
			fresh := 0
			for _, e := range p.List {
				if _, dup := seen[e.ID]; dup {
					continue
				}
				seen[e.ID] = struct{}{}
				fresh++
				if !yield(e, nil) {
					return
				}
			}
			size := MaxPageSize
			if p.PageSize > 0 && p.PageSize < size {
				size = p.PageSize // the API may page by less than asked
			}
			if len(p.List) < size {
				// Positions, not distinct entries: an entry added during
				// the read shifts the rest down without being seen.
				if reached := (page-1)*size + len(p.List); p.Total > reached {
					yield(LogEntry{}, &Error{Op: RouteLogs, Class: ClassTransient,
						Message: fmt.Sprintf("ledger paging of %q ended at entry %d of a total of %d", clientUserID, reached, p.Total)})
				}
				return
			}
			if fresh == 0 {
				yield(LogEntry{}, &Error{Op: RouteLogs, Class: ClassTransient,
					Message: fmt.Sprintf("ledger page %d of %q brought no new entry; paging is not advancing", page, clientUserID)})
				return
			}
		}
	}
}

// FindRecharge reads the user's whole ledger and counts the recharge
// entries (record_type "recharge") whose amount_cents equals amountCents
// and whose reason mentions orderID (ReasonMentions). found is entries > 0.
// More than one entry means the order was credited more than once.
//
// Call it for a recharge whose outcome is unknown only once the request
// can no longer be in flight (MaxInFlight after it was sent): before that,
// "not found" proves nothing.
func (c *Client) FindRecharge(ctx context.Context, clientUserID, orderID string, amountCents int64) (found bool, entries int, err error) {
	if strings.TrimSpace(orderID) == "" {
		return false, 0, refused(RouteLogs, "order id: required")
	}
	for e, err := range c.AllLogs(ctx, clientUserID) {
		if err != nil {
			return false, 0, fmt.Errorf("find recharge of order %s: %w", orderID, err)
		}
		if e.RecordType == RecordRecharge && e.AmountCents == amountCents && ReasonMentions(e.Reason, orderID) {
			entries++
		}
	}
	return entries > 0, entries, nil
}

// CountRecharges reads the user's whole ledger once and returns, for each
// order id, how many recharge entries mention it in their reason, whatever
// their amount (a verify's view: more than 1 is a double credit, an entry
// of another amount a changed grant). Every given id has a key.
func (c *Client) CountRecharges(ctx context.Context, clientUserID string, orderIDs ...string) (map[string]int, error) {
	counts := make(map[string]int, len(orderIDs))
	for _, id := range orderIDs {
		if strings.TrimSpace(id) == "" {
			return nil, refused(RouteLogs, "order id: required")
		}
		counts[id] = 0
	}
	for e, err := range c.AllLogs(ctx, clientUserID) {
		if err != nil {
			return nil, fmt.Errorf("count recharges of %d orders: %w", len(orderIDs), err)
		}
		if e.RecordType != RecordRecharge {
			continue
		}
		for id := range counts {
			if ReasonMentions(e.Reason, id) {
				counts[id]++
			}
		}
	}
	return counts, nil
}

// ReasonFor returns the reason to send with a recharge of orderID: text
// followed by the order id in brackets, e.g. "年终奖励 [G20261130001]", so
// that ReasonMentions finds it in the ledger.
func ReasonFor(text, orderID string) string {
	text = strings.TrimSpace(text)
	if text == "" {
		return "[" + orderID + "]"
	}
	return text + " [" + orderID + "]"
}

// ReasonMentions reports whether reason contains orderID as a whole word:
// not glued to an ASCII letter, digit, '_' or '-' on either side, so that
// order "G1" is not found in "[G10]" or "[XG1]". Any other character
// (brackets, spaces, punctuation, Chinese text) delimits it.
func ReasonMentions(reason, orderID string) bool {
	if orderID == "" {
		return false
	}
	for i := 0; ; {
		j := strings.Index(reason[i:], orderID)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(orderID)
		if (start == 0 || !isWordByte(reason[start-1])) && (end == len(reason) || !isWordByte(reason[end])) {
			return true
		}
		i = start + 1
	}
}

func isWordByte(b byte) bool {
	return b == '_' || b == '-' || ('0' <= b && b <= '9') || ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z')
}
