package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/chansync/chansync/internal/target/channel/channelapi"
)

// APIHub is how to reach the APIHub platform: its user centre is on with
// APIHUB_BASE_URL, APIHUB_AK and APIHUB_SK; its points and the projects
// mirror with APIHUB_BASE_URL and APIHUB_API_KEY.
type APIHub struct {
	APIHubBaseURL     string        `name:"apihub-base-url" env:"APIHUB_BASE_URL" help:"APIHub's root URL, e.g. https://open.apihub.net; with APIHUB_AK and APIHUB_SK the user centre is on, with APIHUB_API_KEY points and the projects mirror."`
	APIHubAK          string        `name:"apihub-ak" env:"APIHUB_AK" help:"The user centre's app key (the app token's sub and iss)."`
	APIHubSK          string        `name:"apihub-sk" env:"APIHUB_SK" help:"The user centre's secret key, which signs the app token in this process; never logged or stored (prefer the environment variable: flags show in ps)."`
	APIHubMemberRole  string        `name:"apihub-member-role" env:"APIHUB_MEMBER_ROLE" help:"A role every user-centre account has (made if missing); none when empty."`
	APIHubAPIKey      string        `name:"apihub-api-key" env:"APIHUB_API_KEY" help:"The points API key (X-API-Key); turns points and the projects mirror on (prefer the environment variable: flags show in ps)."`
	APIHubServiceUser string        `name:"apihub-service-user" env:"APIHUB_SERVICE_USER" default:"chansync" help:"The client_user_id chansync asks project tokens for."`
	APIHubRPS         float64       `name:"apihub-rps" env:"APIHUB_RPS" default:"0" help:"Cap on requests per second to APIHub from this process, per target; 0 for no cap."`
	PointsPoolProbe   time.Duration `name:"points-pool-probe" env:"POINTS_POOL_PROBE" default:"3m" help:"How often grants held for an empty points pool (402) or a refused key (401) are probed with one recharge."`
}

// Validate reports an incomplete or malformed APIHub setting.
func (a *APIHub) Validate() error {
	switch {
	case (a.APIHubAK == "") != (a.APIHubSK == ""):
		return errors.New("APIHUB_AK (--apihub-ak) and APIHUB_SK (--apihub-sk) go together: set both for the user centre, or neither")
	case (a.APIHubAK != "" || a.APIHubAPIKey != "") && a.APIHubBaseURL == "":
		return errors.New("APIHUB_BASE_URL (--apihub-base-url) is required with APIHUB_AK/APIHUB_SK or APIHUB_API_KEY")
	case a.APIHubRPS < 0:
		return errors.New("APIHUB_RPS (--apihub-rps) must not be negative")
	case a.PointsPoolProbe < time.Second:
		return errors.New("POINTS_POOL_PROBE (--points-pool-probe) must be at least 1s")
	}
	if a.APIHubBaseURL != "" {
		if err := channelapi.CheckBaseURL(a.APIHubBaseURL); err != nil {
			return fmt.Errorf("APIHUB_BASE_URL (--apihub-base-url): %w", err)
		}
	}
	return nil
}
