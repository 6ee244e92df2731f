package sqlite

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// ErrInUse is returned by Open when another process has had the database
// open for lockWait.
var ErrInUse = errors.New("the database is in use by another process")

var errLocked = errors.New("locked")

// lockWait is how long Open waits for a lock held by another process.
const lockWait = 2 * time.Second

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
	// A child process forked by this one (an action's shell) holds a copy
	// of a lock file descriptor until it execs: a lock just released may
	// still be held for that long.
	err = tryLock(f.Fd())
	for deadline := time.Now().Add(lockWait); errors.Is(err, errLocked) && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		err = tryLock(f.Fd())
	}
	if err != nil {
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
