package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/stageflow/stageflow/shared/atomicfile"
)

// The data directory's files of access control.
const (
	// CredentialsFile holds the admin key in the AWS shared-credentials
	// format, profile CredentialsProfile (mode 0600).
	CredentialsFile = "credentials"
	// CredentialsProfile is the profile of the admin key.
	CredentialsProfile = "stageflow"
	// AccessKeySealFile is the key (mode 0600) the access keys' secrets are
	// sealed with in the store: a copy of the database without it holds no
	// usable secret.
	AccessKeySealFile = "access-key-seal"
)

// AdminKey is the admin key of a data directory, as its credentials file
// holds it.
type AdminKey struct {
	AccessKeyID, SecretAccessKey string
	// Path is the credentials file.
	Path string
	// Created reports that EnsureAdminKey made the key just now.
	Created bool
}

// EnsureAdminKey makes sure the data directory's credentials file names an
// admin key the store holds: at the first start (no file), or when the key
// it names was deleted, it makes a new admin key (service.AdminPolicies)
// and writes the file. Deleting the file and restarting the server is how
// an operator who lost every admin key gets one back.
func (s *System) EnsureAdminKey(ctx context.Context) (*AdminKey, error) {
	path := filepath.Join(s.dataDir, CredentialsFile)
	id, secret, err := ReadCredentialsFile(path, CredentialsProfile)
	switch {
	case err == nil:
		ok, err := s.Service.HasAccessKey(ctx, id)
		if err != nil {
			return nil, err
		}
		if ok {
			return &AdminKey{AccessKeyID: id, SecretAccessKey: secret, Path: path}, nil
		}
		s.log.Warn("the credentials file names a key this server no longer holds: making a new admin key", "file", path, "accessKeyId", id)
	case errors.Is(err, fs.ErrNotExist):
	default:
		return nil, err
	}
	out, err := s.Service.CreateAdminKey(ctx, "made by the server at its start, written to "+path)
	if err != nil {
		return nil, fmt.Errorf("making the admin key: %w", err)
	}
	if err := writeCredentialsFile(path, out.AccessKeyID, out.SecretAccessKey); err != nil {
		return nil, err
	}
	return &AdminKey{AccessKeyID: out.AccessKeyID, SecretAccessKey: out.SecretAccessKey, Path: path, Created: true}, nil
}

// writeCredentialsFile writes the admin key to path (mode 0600), whole or
// not at all (atomicfile).
func writeCredentialsFile(path, id, secret string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# The admin key of the Stageflow server whose data directory is %s,\n", filepath.Dir(path))
	fmt.Fprintf(&b, "# in the AWS shared-credentials format. Use it with\n")
	fmt.Fprintf(&b, "#   AWS_SHARED_CREDENTIALS_FILE=%s AWS_PROFILE=%s aws codepipeline list-pipelines --endpoint-url <server>\n", path, CredentialsProfile)
	fmt.Fprintf(&b, "# Keep it secret: it may do everything. Delete this file and restart the server to get a new one.\n")
	fmt.Fprintf(&b, "[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n", CredentialsProfile, id, secret)
	if err := atomicfile.Write(path, b.Bytes()); err != nil {
		return fmt.Errorf("writing the credentials file: %w", err)
	}
	return nil
}

// ReadCredentialsFile reads the key of a profile from an AWS
// shared-credentials file, with the AWS SDK's own reader of the format (an
// error wrapping fs.ErrNotExist when the file does not exist).
func ReadCredentialsFile(path, profile string) (id, secret string, err error) {
	if _, err := os.Stat(path); err != nil {
		return "", "", err
	}
	cfg, err := config.LoadSharedConfigProfile(context.Background(), profile, func(o *config.LoadSharedConfigOptions) {
		o.CredentialsFiles = []string{path}
		o.ConfigFiles = []string{}
	})
	if err != nil || cfg.Credentials.AccessKeyID == "" || cfg.Credentials.SecretAccessKey == "" {
		return "", "", fmt.Errorf("the credentials file %s has no key in its profile [%s]", path, profile)
	}
	return cfg.Credentials.AccessKeyID, cfg.Credentials.SecretAccessKey, nil
}
