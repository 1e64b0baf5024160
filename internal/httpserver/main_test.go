package httpserver_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/chansync/chansync/internal/testkit"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testkit.LeakOptions()...)
}
