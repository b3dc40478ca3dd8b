package pgtarget_test

import (
	"fmt"

	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
)

// Explicit flags decide without asking anything; otherwise Docker wins
// when its engine answers, and a cluster is chosen only when it alone does.
func ExampleSelect() {
	up := func() bool { return true }
	down := func() bool { return false }
	for _, c := range []struct {
		flags   pgtarget.Flags
		answers pgtarget.Probes
	}{
		{flags: pgtarget.Flags{}, answers: pgtarget.Probes{Docker: up, Cluster: up}},
		{flags: pgtarget.Flags{}, answers: pgtarget.Probes{Docker: down, Cluster: up}},
		{flags: pgtarget.Flags{Namespace: "shop"}, answers: pgtarget.Probes{Docker: up}},
		{flags: pgtarget.Flags{Container: "db", Pod: "pg-0"}},
	} {
		sel, err := pgtarget.Select(c.flags, c.answers)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Printf("%s: %s\n", sel.Kind, sel.Reason)
	}
	// Output:
	// docker: the Docker engine answers
	// kubernetes: no Docker engine answers, a Kubernetes cluster does
	// kubernetes: [-namespace] given
	// error: -container names a Docker container but [-pod] are for Kubernetes: give one or the other
}

// The flags that reach the same database again, for the commands stevedore
// suggests next.
func ExampleFlags_CommandFlags() {
	f := pgtarget.Flags{Kube: true, Namespace: "shop", Selector: "app=postgres,tier=db"}
	fmt.Printf("go tool mage db:list%s\n", f.CommandFlags())
	// Output:
	// go tool mage db:list -kube -namespace=shop -selector=app=postgres,tier=db
}
