package sqlite

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// ErrInUse is returned by Open when another process has the database open.
var ErrInUse = errors.New("the database is in use by another process")

var errLocked = errors.New("locked")

// ownFile takes the lock file beside the database (path + ".lock") for this
// process and writes its PID there for the message another process gets.
// The lock lasts until the returned file is closed (or the process ends, so
// a crash never leaves a stale lock behind).
func ownFile(path string) (*os.File, error) {
	lockPath := path + ".lock"
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: opening the lock file: %w", err)
	}
	if err := tryLock(f.Fd()); err != nil {
		holder, _ := os.ReadFile(lockPath)
		f.Close()
		if errors.Is(err, errLocked) {
			pid := string(bytes.TrimSpace(holder))
			if _, perr := strconv.Atoi(pid); perr != nil {
				pid = "unknown"
			}
			return nil, fmt.Errorf("sqlite store: %s: %w (pid %s)", path, ErrInUse, pid)
		}
		return nil, fmt.Errorf("sqlite store: locking %s: %w", lockPath, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}
