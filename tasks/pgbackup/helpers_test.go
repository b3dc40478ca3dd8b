package pgbackup_test

import "github.com/stevedore-dev/stevedore/tasks/dumpscan"

func dumpTable(name string, rows int64) dumpscan.Table { return dumpscan.Table{Name: name, Rows: rows} }
