package store_test

import (
	"fmt"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/store"
)

// A backup name is a plain file name a user can type: anything that could
// reach outside the backup folder or confuse a shell is refused, in one line.
func ExampleValidateName() {
	for _, name := range []string{"before_migration", "2026-11-24.nightly", "../etc/passwd", "drop;table", "dump.sql"} {
		if err := store.ValidateName(name); err != nil {
			fmt.Println("refused:", err)
		} else {
			fmt.Println("ok:", name)
		}
	}
	// Output:
	// ok: before_migration
	// ok: 2026-11-24.nightly
	// refused: backup name "../etc/passwd" holds a path separator; give a plain name such as before_migration
	// refused: backup name "drop;table" may hold only letters, digits, '.', '_' and '-', and must start with a letter or digit
	// refused: backup name "dump.sql" ends in .sql; give the name without an extension
}

func ExampleDefaultName() {
	at := time.Date(2026, 11, 24, 9, 30, 5, 0, time.Local)
	name := store.DefaultName("backup", at)
	back, _ := store.TimeFromName(name)
	fmt.Println(name, back.Equal(at))
	// Output:
	// backup_20261124_093005 true
}
