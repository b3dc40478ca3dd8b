// Package tasks holds stevedore's Mage targets. Import it from a magefile
// without an alias to get them as images:build, env:up, db:backup, ...:
//
//	import (
//		// mage:import
//		_ "github.com/stevedore-dev/stevedore/tasks"
//	)
//
// Targets only parse their arguments and call the packages beneath this one,
// one concern each.
package tasks
