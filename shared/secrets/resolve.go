package secrets

import (
	"encoding/json"
	"fmt"
	"strings"
)

// SecretsManager resolves a reference as CodeBuild's env.secrets-manager
// and SECRETS_MANAGER environment variables write it:
// name[:json-key[:version-stage[:version-id]]]. With a json-key, the
// secret must hold a JSON object and the value is that key's (a string as
// is, anything else as JSON). Versions do not exist locally: a
// version-stage other than AWSCURRENT, or a version-id, is refused. An ARN
// is refused too: locally, secrets go by name. Errors name the secret,
// never its value.
func (s *Store) SecretsManager(ref string) (string, error) {
	if strings.HasPrefix(ref, "arn:") {
		return "", fmt.Errorf("secret %q: an ARN names a secret in AWS; the local store knows secrets by name (name[:json-key])", ref)
	}
	parts := strings.Split(ref, ":")
	if len(parts) > 4 {
		return "", fmt.Errorf("secret reference %q: want name[:json-key[:version-stage[:version-id]]]", ref)
	}
	for len(parts) < 4 {
		parts = append(parts, "")
	}
	name, jsonKey, stage, id := parts[0], parts[1], parts[2], parts[3]
	if (stage != "" && stage != "AWSCURRENT") || id != "" {
		return "", fmt.Errorf("secret %q: the local store keeps one version of each secret; drop the version stage and id", name)
	}
	value, err := s.Get(name)
	if err != nil || jsonKey == "" {
		return value, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(value), &obj); err != nil {
		return "", fmt.Errorf("secret %q does not hold a JSON object, so it has no key %q", name, jsonKey)
	}
	raw, ok := obj[jsonKey]
	if !ok {
		return "", fmt.Errorf("secret %q has no JSON key %q", name, jsonKey)
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return str, nil
	}
	return string(raw), nil
}

// Parameter resolves a Parameter Store name (env.parameter-store,
// PARAMETER_STORE environment variables) from the same store.
func (s *Store) Parameter(name string) (string, error) { return s.Get(name) }
