//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sqlite

// tryLock is a no-op where flock(2) is not available: SQLite's own exclusive
// lock still keeps a second process out, after its busy timeout.
func tryLock(uintptr) error { return nil }
