package embedded

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/stageflow/stageflow/shared/service"
)

// ArtifactKeyFile is the file of the data directory holding the secret every
// job's artifact credentials are derived from (service.ArtifactKeySize
// random bytes, mode 0600). It is made at the first start and read at every
// later one, so that jobs handed out before a restart keep their
// credentials. Deleting it (with the server stopped) revokes every
// credential ever issued.
const ArtifactKeyFile = "artifact-key"

// LoadArtifactKey reads the artifact key of the data directory dir, making
// it first if there is none.
func LoadArtifactKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, ArtifactKeyFile)
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createArtifactKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the artifact key: %w", err)
	}
	if len(key) != service.ArtifactKeySize {
		return nil, fmt.Errorf("artifact key %s holds %d bytes, not %d: remove it (jobs in progress then lose their artifact credentials) and start again",
			path, len(key), service.ArtifactKeySize)
	}
	return key, nil
}

// createArtifactKey writes a new random key to a temporary file and renames
// it to path, so that path never holds a partial key. The caller owns the
// data directory (its store is open), so no other process races it.
func createArtifactKey(path string) ([]byte, error) {
	key := make([]byte, service.ArtifactKeySize)
	rand.Read(key) // never fails (crypto/rand panics instead)
	f, err := os.CreateTemp(filepath.Dir(path), ArtifactKeyFile+".*")
	if err != nil {
		return nil, fmt.Errorf("creating the artifact key: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // once renamed, a no-op
	// CreateTemp makes files of mode 0600.
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing the artifact key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing the artifact key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("writing the artifact key: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("creating the artifact key: %w", err)
	}
	return key, nil
}
