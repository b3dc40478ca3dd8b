//go:build ignore

// Zero-install bootstrap: `go run magefile.go <target>` runs stevedore's
// targets with nothing installed. Prefer `go tool mage <target>`, which keeps
// each target's exit code (this bootstrap reports every failure as 1).
package main

import (
	"os"

	"github.com/magefile/mage/mage"
)

func main() { os.Exit(mage.Main()) }
