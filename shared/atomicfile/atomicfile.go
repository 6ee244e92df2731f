// Package atomicfile writes a file whole or not at all: the bytes go to a
// temporary file (mode 0600) beside it, synced, then renamed over the path,
// so that a reader, a crash or a full disk never leaves half a file there.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path with data, mode 0600.
func Write(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // once renamed, a no-op
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	return err
}
