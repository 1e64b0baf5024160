package syncer_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEngineImportsNoHTTPClient: the engine and everything shared between
// targets (the registry, the job queue, the outbox, the operator's
// controls, sync status, the local tables) reach targets only through the
// registry: none of them imports an HTTP client, a target's client or a
// target's package; only request bodies in leaf packages.
func TestEngineImportsNoHTTPClient(t *testing.T) {
	t.Parallel()
	const module = "github.com/chansync/chansync/"
	engine := []string{"syncer", "jobs", "queue", "control", "outbox", "schedule", "target", "syncstatus", "source"}
	pkgs := make([]string, len(engine))
	for i, p := range engine {
		pkgs[i] = module + "internal/" + p
	}
	out, err := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...).CombinedOutput()
	require.NoError(t, err, "go list: %s", out)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, module+"internal/syncer", "go list listed the engine")

	leafBodies := map[string]bool{module + "internal/target/channel/channelbody": true}
	for _, d := range deps {
		require.NotEqual(t, "net/http", d, "the engine imports net/http")
		if rest, ok := strings.CutPrefix(d, module+"internal/target/"); ok && rest != "" && !leafBodies[d] {
			t.Errorf("the engine imports a target's package: %s", d)
		}
	}
}
