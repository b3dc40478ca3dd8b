//go:build !linux

package store

import "os"

// startWriteback is Linux's sync_file_range; elsewhere Commit's flush does
// all the work.
func startWriteback(*os.File, int64, int64) {}

// directFlag is 0 where files have no direct mode: Direct files are
// written through the cache.
const directFlag = 0

func clearDirect(*os.File) error { return nil }
