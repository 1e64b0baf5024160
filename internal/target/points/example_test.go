package points_test

import (
	"fmt"

	"github.com/chansync/chansync/internal/target/points"
	"github.com/chansync/chansync/internal/target/points/pointsapi"
)

// ExampleOrderIDOf shows the reason chansync sends with a grant's
// recharge, and how verify tells a ledger entry of ours from others.
func ExampleOrderIDOf() {
	reason := pointsapi.ReasonFor("年终奖励", "G20261130001")
	fmt.Println(reason)
	fmt.Printf("%q\n", points.OrderIDOf(reason))
	fmt.Printf("%q\n", points.OrderIDOf("运营手工充值"))
	fmt.Printf("%q\n", points.OrderIDOf("见 [附件] 说明")) // brackets not at the end
	// Output:
	// 年终奖励 [G20261130001]
	// "G20261130001"
	// ""
	// ""
}
