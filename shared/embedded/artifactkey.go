package embedded

import (
	"fmt"
	"path/filepath"

	"github.com/stageflow/stageflow/shared/seal"
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
	key, err := seal.LoadKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("artifact key: %w (removing it revokes the artifact credentials of the jobs in progress)", err)
	}
	return key, nil
}

// The artifact key is a key file of seal's size.
var _ [service.ArtifactKeySize]byte = [seal.KeySize]byte{}
