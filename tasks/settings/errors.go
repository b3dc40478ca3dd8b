package settings

import (
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

// NoComposeError says no Compose file was found.
type NoComposeError struct{ Where string }

func (e *NoComposeError) Error() string {
	return fmt.Sprintf("no Compose file in %s or its parents (looked for %s), and COMPOSE_FILE is not set",
		e.Where, strings.Join(cli.DefaultFileNames, ", "))
}

// Next shows how to start one.
func (e *NoComposeError) Next() string { return "go tool mage env:init" }
