package gitsource

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// The output artifact formats of both providers.
const (
	FormatCodeZip  = "CODE_ZIP"
	FormatCloneRef = "CODEBUILD_CLONE_REF"
)

// config is an action's configuration, checked.
type config struct {
	provider      string
	repository    string // FullRepositoryId or RepositoryName
	connectionArn string
	branch        string
	format        string
}

// The configuration keys of each provider, and which are required.
var keys = map[string]map[string]bool{
	ProviderConnection: {"ConnectionArn": true, "FullRepositoryId": true, "BranchName": true,
		"OutputArtifactFormat": false, "DetectChanges": false},
	ProviderCodeCommit: {"RepositoryName": true, "BranchName": true,
		"OutputArtifactFormat": false, "PollForSourceChanges": false},
}

func parseConfig(provider string, c map[string]string) (*config, error) {
	allowed, ok := keys[provider]
	if !ok {
		return nil, fmt.Errorf("gitsource serves %s and %s, not %s", ProviderConnection, ProviderCodeCommit, provider)
	}
	for _, k := range slices.Sorted(maps.Keys(c)) {
		if _, ok := allowed[k]; !ok {
			return nil, fmt.Errorf("configuration: %s has no key %q (its keys: %s)", provider, truncate(k, 100),
				strings.Join(slices.Sorted(maps.Keys(allowed)), ", "))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(allowed)) {
		if allowed[k] && strings.TrimSpace(c[k]) == "" {
			return nil, fmt.Errorf("configuration.%s: required for %s", k, provider)
		}
	}
	cfg := &config{provider: provider, branch: c["BranchName"], format: c["OutputArtifactFormat"]}
	if cfg.format == "" {
		cfg.format = FormatCodeZip
	}
	if cfg.format != FormatCodeZip && cfg.format != FormatCloneRef {
		return nil, fmt.Errorf("configuration.OutputArtifactFormat: %q is neither %s nor %s", truncate(cfg.format, 100), FormatCodeZip, FormatCloneRef)
	}
	if err := CheckBranchName(cfg.branch); err != nil {
		return nil, fmt.Errorf("configuration.BranchName: %v", err)
	}
	for _, k := range []string{"DetectChanges", "PollForSourceChanges"} {
		if v, ok := c[k]; ok && v != "true" && v != "false" {
			return nil, fmt.Errorf("configuration.%s: %q is neither true nor false", k, truncate(v, 100))
		}
	}
	if provider == ProviderConnection {
		cfg.repository, cfg.connectionArn = c["FullRepositoryId"], c["ConnectionArn"]
		if err := CheckFullRepositoryID(cfg.repository); err != nil {
			return nil, fmt.Errorf("configuration.FullRepositoryId: %v", err)
		}
		if !strings.HasPrefix(cfg.connectionArn, "arn:") || len(cfg.connectionArn) > 256 || !printable(cfg.connectionArn) {
			return nil, fmt.Errorf("configuration.ConnectionArn: %q is not a connection ARN", truncate(cfg.connectionArn, 100))
		}
		return cfg, nil
	}
	cfg.repository = c["RepositoryName"]
	if err := CheckRepositoryName(cfg.repository); err != nil {
		return nil, fmt.Errorf("configuration.RepositoryName: %v", err)
	}
	return cfg, nil
}

// CheckBranchName refuses a branch name that is not a valid git ref name
// (git check-ref-format's rules for refs/heads/<name>).
func CheckBranchName(b string) error {
	bad := func(why string) error { return fmt.Errorf("%q is not a valid branch name: %s", truncate(b, 100), why) }
	switch {
	case b == "":
		return bad("empty")
	case len(b) > 255:
		return bad("longer than 255 characters")
	case !utf8.ValidString(b):
		return bad("not UTF-8")
	case b == "@" || strings.Contains(b, "@{"):
		return bad("it contains @{ or is @")
	case strings.Contains(b, ".."):
		return bad("it contains ..")
	case strings.HasPrefix(b, "/") || strings.HasSuffix(b, "/") || strings.Contains(b, "//"):
		return bad("empty path component")
	case strings.HasSuffix(b, ".") || strings.HasSuffix(b, ".lock"):
		return bad("it ends with . or .lock")
	case strings.HasPrefix(b, "-"):
		return bad("it starts with -")
	}
	for _, r := range b {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			return bad(fmt.Sprintf("it contains %q", r))
		}
	}
	for _, part := range strings.Split(b, "/") {
		if strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock") {
			return bad("a component starts with . or ends with .lock")
		}
	}
	if err := branchRef(b).Validate(); err != nil {
		return bad(err.Error())
	}
	return nil
}

// CheckFullRepositoryID refuses a FullRepositoryId not of the form
// owner/repo (GitLab's group/subgroup/repo is accepted): components of
// letters, digits, '-', '_' and '.', none of them "." or "..".
func CheckFullRepositoryID(id string) error {
	parts := strings.Split(id, "/")
	if len(parts) < 2 || len(id) > 512 {
		return fmt.Errorf("%q is not of the form owner/repository", truncate(id, 100))
	}
	for _, p := range parts {
		if !nameOK(p) {
			return fmt.Errorf("%q is not of the form owner/repository: component %q is empty, '.' or '..', or has characters other than letters, digits, '-', '_' and '.'",
				truncate(id, 100), truncate(p, 100))
		}
	}
	return nil
}

// CheckRepositoryName refuses a name CodeCommit would not accept: 1 to 100
// letters, digits, '-', '_' and '.', not ending in ".git".
func CheckRepositoryName(n string) error {
	if len(n) > 100 || !nameOK(n) || strings.HasSuffix(strings.ToLower(n), ".git") {
		return fmt.Errorf("%q is not a repository name: 1 to 100 letters, digits, '-', '_' and '.', not '.', '..' nor ending in .git", truncate(n, 100))
	}
	return nil
}

func nameOK(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return utf8.ValidString(s)
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
