//go:build mage

package main

// mage:import
import _ "github.com/stevedore-dev/stevedore/tasks"
