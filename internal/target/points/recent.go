package points

import (
	"context"
	"fmt"

	"github.com/chansync/chansync/internal/target/points/pointsapi"
)

// Recent returns the user's balance in cents and the n newest entries of
// their ledger, newest first (every entry when n is 0 or less), for the
// status page and the command line.
func Recent(ctx context.Context, api *pointsapi.Client, userID string, n int) (balanceCents int64, entries []pointsapi.LogEntry, err error) {
	bal, err := api.Balance(ctx, userID)
	if err != nil {
		return 0, nil, fmt.Errorf("balance of %s: %w", userID, err)
	}
	if n > 0 && n <= pointsapi.MaxPageSize {
		page, err := api.Logs(ctx, pointsapi.LogsParams{ClientUserID: userID, Page: 1, PageSize: n})
		if err != nil {
			return 0, nil, fmt.Errorf("ledger of %s: %w", userID, err)
		}
		return bal.BalanceCents, page.List[:min(n, len(page.List))], nil
	}
	for e, err := range api.AllLogs(ctx, userID) {
		if err != nil {
			return 0, nil, fmt.Errorf("ledger of %s: %w", userID, err)
		}
		entries = append(entries, e)
		if n > 0 && len(entries) == n {
			break
		}
	}
	return bal.BalanceCents, entries, nil
}
