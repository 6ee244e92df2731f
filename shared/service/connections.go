package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

// The operations on connections and CodeCommit repository names. They are
// stageflow: actions, not codeconnections: or codecommit: ones: the records
// hold credentials, so they go with the server's keys (StageflowFullAccess,
// which the admin key carries), not with AWSCodePipeline_FullAccess.
const (
	OpCreateConnection              Operation = "stageflow:CreateConnection"
	OpGetConnection                 Operation = "stageflow:GetConnection"
	OpListConnections               Operation = "stageflow:ListConnections"
	OpDeleteConnection              Operation = "stageflow:DeleteConnection"
	OpRotateConnectionTriggerSecret Operation = "stageflow:RotateConnectionTriggerSecret"
	OpCreateRepository              Operation = "stageflow:CreateRepository"
	OpGetRepository                 Operation = "stageflow:GetRepository"
	OpListRepositories              Operation = "stageflow:ListRepositories"
	OpDeleteRepository              Operation = "stageflow:DeleteRepository"
)

// ConnectionOperations lists the operations of connections and
// repositories (part of Operations).
func ConnectionOperations() []Operation {
	return []Operation{OpCreateConnection, OpGetConnection, OpListConnections, OpDeleteConnection,
		OpRotateConnectionTriggerSecret, OpCreateRepository, OpGetRepository, OpListRepositories, OpDeleteRepository}
}

// Limits of connections.
const (
	MaxConnectionName = 32   // CodeConnections' ConnectionName
	MaxRemote         = 2048 // characters of a remote
	MaxToken          = 4096
	MaxSSHKey         = 16 << 10
	TriggerSecretSize = 32 // random bytes, given as hex
	// FullRepositoryIDPlaceholder in a connection's remote is replaced by
	// the source action's FullRepositoryId.
	FullRepositoryIDPlaceholder = "{FullRepositoryId}"
)

var (
	connectionIDRE     = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)
	repositoryNameRE   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`) // CodeCommit's repository names
	fullRepositoryIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$`)
	scpRemoteRE        = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$`)
	connectionArnRE    = regexp.MustCompile(`^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]*:[0-9]*:connection/([A-Za-z0-9-]{1,64})$`)
)

// CreateConnectionInput asks for a connection (ID: a UUID when empty) or,
// through CreateRepository, a repository (Name is its name, ID unused).
// Token or SSHKey are the credentials, at most one of them.
type CreateConnectionInput struct {
	Name     string `json:"name"`
	ID       string `json:"id,omitempty"`
	Remote   string `json:"remote"`
	Username string `json:"username,omitempty"`
	Token    string `json:"token,omitempty"`
	SSHKey   string `json:"sshKey,omitempty"`
}

// Connection describes a connection or a repository, never its secrets.
type Connection struct {
	Arn              string    `json:"arn"`
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	Remote           string    `json:"remote"`
	Username         string    `json:"username,omitempty"`
	HasToken         bool      `json:"hasToken"`
	HasSSHKey        bool      `json:"hasSshKey"`
	HasTriggerSecret bool      `json:"hasTriggerSecret,omitempty"`
	Created          time.Time `json:"created"`
	Updated          time.Time `json:"updated"`
}

// ConnectionSecret is a connection with its trigger secret, shown once
// (at creation and at each rotation).
type ConnectionSecret struct {
	Connection
	TriggerSecret string `json:"triggerSecret"`
}

// GitRemote is where a repository is fetched from and how (secrets opened).
type GitRemote struct {
	URL, Username, Token string
	SSHKey               []byte
}

// ConnectionArn is the ARN of a connection, in CodeConnections' format.
func (s *Service) ConnectionArn(id string) string {
	return "arn:aws:codeconnections:" + s.region + ":" + s.account + ":connection/" + id
}

// RepositoryArn is the ARN of a CodeCommit repository name.
func (s *Service) RepositoryArn(name string) string {
	return "arn:aws:codecommit:" + s.region + ":" + s.account + ":" + name
}

func (s *Service) arnOf(kind store.ConnectionKind, id string) string {
	if kind == store.KindRepository {
		return s.RepositoryArn(id)
	}
	return s.ConnectionArn(id)
}

func (s *Service) connStore() (store.ConnectionStore, error) {
	cs, ok := s.store.(store.ConnectionStore)
	if !ok || s.sealer == nil {
		return nil, errs.Of(errs.Validation, errs.KindResource, "this server keeps no connections (its store or sealer does not)")
	}
	return cs, nil
}

// sealAD binds a sealed field to its record and field.
func sealAD(kind store.ConnectionKind, id, field string) []byte {
	return []byte("connection-secret/" + string(kind) + "/" + id + "/" + field)
}

func (s *Service) sealField(kind store.ConnectionKind, id, field string, v []byte) ([]byte, error) {
	if len(v) == 0 {
		return nil, nil
	}
	return s.sealer.Seal(v, sealAD(kind, id, field))
}

func (s *Service) openField(kind store.ConnectionKind, id, field string, v []byte) ([]byte, error) {
	if len(v) == 0 {
		return nil, nil
	}
	return s.sealer.Open(v, sealAD(kind, id, field))
}

// CheckRemote checks a remote: https://, ssh://, user@host:path, file://
// or an absolute local path, without credentials in it.
func CheckRemote(remote string) error {
	bad := func(format string, a ...any) error {
		return errs.Of(errs.Validation, errs.KindResource, "remote: "+format, a...)
	}
	switch {
	case remote == "":
		return bad("required: an https:// or ssh:// URL, user@host:path, a file:// URL or an absolute path")
	case len(remote) > MaxRemote:
		return bad("%d characters, more than the %d allowed", len(remote), MaxRemote)
	case strings.IndexFunc(remote, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0:
		return bad("holds a space or a control character")
	case strings.HasPrefix(remote, "/"):
		if hasDotDot(remote) {
			return bad("a local path may not hold a .. segment")
		}
		return nil
	case scpRemoteRE.MatchString(remote) && !strings.Contains(remote, "://"):
		return nil
	}
	u, err := url.Parse(remote)
	if err != nil {
		return bad("%q is not a URL: %v", truncate(remote, 80), err)
	}
	switch u.Scheme {
	case "https", "ssh":
		if u.Host == "" {
			return bad("%s:// URL without a host", u.Scheme)
		}
		if strings.HasPrefix(u.Hostname(), "-") || strings.HasPrefix(u.User.Username(), "-") {
			return bad("a host or user may not start with - (it would read as an option)")
		}
		if _, hasPw := u.User.Password(); hasPw || (u.Scheme == "https" && u.User != nil) {
			return bad("holds credentials: give the URL without them, and the token with --token-file or --token-env (the user with --username)")
		}
	case "file":
		if u.Host != "" && u.Host != "localhost" || !strings.HasPrefix(u.Path, "/") || hasDotDot(u.Path) {
			return bad("a file:// URL names an absolute local path (file:///srv/git/repo), without .. segments")
		}
	default:
		return bad("%q: use an https:// or ssh:// URL, user@host:path, a file:// URL or an absolute path", truncate(remote, 80))
	}
	return nil
}

func hasDotDot(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == ".." {
			return true
		}
	}
	return false
}

func isSSHRemote(remote string) bool {
	return strings.HasPrefix(remote, "ssh://") || (scpRemoteRE.MatchString(remote) && !strings.Contains(remote, "://"))
}

func checkConnectionInput(kind store.ConnectionKind, in CreateConnectionInput) error {
	bad := func(format string, a ...any) error { return errs.Of(errs.Validation, errs.KindResource, format, a...) }
	if kind == store.KindRepository {
		if !repositoryNameRE.MatchString(in.Name) || in.Name == "." || in.Name == ".." || strings.HasSuffix(strings.ToLower(in.Name), ".git") {
			return bad("name: a repository name is 1 to 100 letters, digits and ._- (not . or .., not ending in .git)")
		}
		if in.ID != "" && in.ID != in.Name {
			return bad("id: a repository is named by its name only")
		}
	} else {
		if in.Name == "" || len([]rune(in.Name)) > MaxConnectionName || strings.IndexFunc(in.Name, unicode.IsControl) >= 0 {
			return bad("name: a connection name is 1 to %d characters, without control characters", MaxConnectionName)
		}
		if in.ID != "" && !connectionIDRE.MatchString(in.ID) {
			return bad("id: %q is not valid: use 1 to 64 letters, digits and -", truncate(in.ID, 80))
		}
	}
	if err := CheckRemote(in.Remote); err != nil {
		return err
	}
	if len(in.Username) > 256 || strings.IndexFunc(in.Username, func(r rune) bool { return unicode.IsControl(r) || r == '@' || r == ':' || r == '/' }) >= 0 {
		return bad("username: at most 256 characters, without control characters, @, : or /")
	}
	switch {
	case in.Token != "" && in.SSHKey != "":
		return bad("give a token or an SSH key, not both")
	case len(in.Token) > MaxToken || strings.IndexFunc(in.Token, unicode.IsControl) >= 0:
		return bad("token: at most %d characters on one line", MaxToken)
	case len(in.SSHKey) > MaxSSHKey || (in.SSHKey != "" && !strings.Contains(in.SSHKey, "-----BEGIN ")):
		return bad("sshKey: a private key in PEM or OpenSSH format (-----BEGIN …), at most %d bytes", MaxSSHKey)
	case in.SSHKey != "" && !isSSHRemote(in.Remote):
		return bad("sshKey: the remote %q is not an SSH remote (ssh:// or user@host:path)", truncate(in.Remote, 80))
	case in.Token != "" && isSSHRemote(in.Remote):
		return bad("token: the remote %q is an SSH remote: give an SSH key instead", truncate(in.Remote, 80))
	}
	return nil
}

func (s *Service) describeConnection(c *store.Connection) Connection {
	return Connection{Arn: s.arnOf(c.Kind, c.ID), ID: c.ID, Name: c.Name, Remote: c.Remote, Username: c.Username,
		HasToken: len(c.Token) > 0, HasSSHKey: len(c.SSHKey) > 0, HasTriggerSecret: len(c.TriggerSecret) > 0,
		Created: c.Created, Updated: c.Updated}
}

func newTriggerSecret() string {
	b := make([]byte, TriggerSecretSize)
	rand.Read(b)
	return hex.EncodeToString(b)
}

type connectionOps struct{ create, get, list, del Operation }

func opsOf(kind store.ConnectionKind) connectionOps {
	if kind == store.KindRepository {
		return connectionOps{OpCreateRepository, OpGetRepository, OpListRepositories, OpDeleteRepository}
	}
	return connectionOps{OpCreateConnection, OpGetConnection, OpListConnections, OpDeleteConnection}
}

// CreateConnection makes a connection with a new trigger secret, which is
// shown this once.
func (s *Service) CreateConnection(ctx context.Context, in CreateConnectionInput) (*ConnectionSecret, error) {
	if in.ID == "" {
		in.ID = s.newID()
	}
	return s.createConnection(ctx, store.KindConnection, in)
}

// CreateRepository makes a CodeCommit repository name.
func (s *Service) CreateRepository(ctx context.Context, in CreateConnectionInput) (*Connection, error) {
	out, err := s.createConnection(ctx, store.KindRepository, in)
	if err != nil {
		return nil, err
	}
	return &out.Connection, nil
}

func (s *Service) createConnection(ctx context.Context, kind store.ConnectionKind, in CreateConnectionInput) (*ConnectionSecret, error) {
	cs, err := s.connStore()
	if err != nil {
		return nil, err
	}
	if kind == store.KindRepository {
		in.ID = in.Name
	}
	if err := checkConnectionInput(kind, in); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, opsOf(kind).create, s.arnOf(kind, in.ID)); err != nil {
		return nil, err
	}
	c := &store.Connection{Kind: kind, ID: in.ID, Name: in.Name, Remote: in.Remote, Username: in.Username, Created: s.now()}
	if c.Token, err = s.sealField(kind, c.ID, "token", []byte(in.Token)); err != nil {
		return nil, err
	}
	if c.SSHKey, err = s.sealField(kind, c.ID, "sshkey", []byte(in.SSHKey)); err != nil {
		return nil, err
	}
	var secret string
	if kind == store.KindConnection {
		secret = newTriggerSecret()
		if c.TriggerSecret, err = s.sealField(kind, c.ID, "trigger", []byte(secret)); err != nil {
			return nil, err
		}
	}
	if err := cs.CreateConnection(ctx, c); err != nil {
		return nil, err
	}
	return &ConnectionSecret{Connection: s.describeConnection(c), TriggerSecret: secret}, nil
}

// CheckConnectionID tells whether id can name a connection.
func CheckConnectionID(id string) error {
	if !connectionIDRE.MatchString(id) {
		return errs.Of(errs.Validation, errs.KindResource, "%q is not a connection ID (1 to 64 letters, digits and -)", truncate(id, 80))
	}
	return nil
}

func checkID(kind store.ConnectionKind, id string) error {
	if kind == store.KindRepository {
		if !repositoryNameRE.MatchString(id) {
			return errs.Of(errs.Validation, errs.KindResource, "%q is not a repository name (1 to 100 letters, digits and ._-)", truncate(id, 80))
		}
		return nil
	}
	return CheckConnectionID(id)
}

// GetConnection describes a connection.
func (s *Service) GetConnection(ctx context.Context, id string) (*Connection, error) {
	return s.getConnection(ctx, store.KindConnection, id)
}

// GetRepository describes a repository.
func (s *Service) GetRepository(ctx context.Context, name string) (*Connection, error) {
	return s.getConnection(ctx, store.KindRepository, name)
}

func (s *Service) getConnection(ctx context.Context, kind store.ConnectionKind, id string) (*Connection, error) {
	cs, err := s.connStore()
	if err != nil {
		return nil, err
	}
	if err := checkID(kind, id); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, opsOf(kind).get, s.arnOf(kind, id)); err != nil {
		return nil, err
	}
	c, err := cs.GetConnection(ctx, kind, id)
	if err != nil {
		return nil, err
	}
	d := s.describeConnection(c)
	return &d, nil
}

// ListConnections lists the connections, oldest first, without secrets.
func (s *Service) ListConnections(ctx context.Context) ([]Connection, error) {
	return s.listConnections(ctx, store.KindConnection)
}

// ListRepositories lists the repositories, oldest first, without secrets.
func (s *Service) ListRepositories(ctx context.Context) ([]Connection, error) {
	return s.listConnections(ctx, store.KindRepository)
}

func (s *Service) listConnections(ctx context.Context, kind store.ConnectionKind) ([]Connection, error) {
	cs, err := s.connStore()
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, opsOf(kind).list, AllResources); err != nil {
		return nil, err
	}
	all, err := cs.ListConnections(ctx, kind)
	if err != nil {
		return nil, err
	}
	out := make([]Connection, len(all))
	for i := range all {
		out[i] = s.describeConnection(&all[i])
	}
	return out, nil
}

// DeleteConnection deletes a connection.
func (s *Service) DeleteConnection(ctx context.Context, id string) error {
	return s.deleteConnection(ctx, store.KindConnection, id)
}

// DeleteRepository deletes a repository name.
func (s *Service) DeleteRepository(ctx context.Context, name string) error {
	return s.deleteConnection(ctx, store.KindRepository, name)
}

func (s *Service) deleteConnection(ctx context.Context, kind store.ConnectionKind, id string) error {
	cs, err := s.connStore()
	if err != nil {
		return err
	}
	if err := checkID(kind, id); err != nil {
		return err
	}
	if err := s.authorize(ctx, opsOf(kind).del, s.arnOf(kind, id)); err != nil {
		return err
	}
	return cs.DeleteConnection(ctx, kind, id)
}

// RotateTriggerSecret gives a connection a new trigger secret, shown this
// once; the previous one verifies nothing from then on.
func (s *Service) RotateTriggerSecret(ctx context.Context, id string) (*ConnectionSecret, error) {
	cs, err := s.connStore()
	if err != nil {
		return nil, err
	}
	if err := CheckConnectionID(id); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, OpRotateConnectionTriggerSecret, s.ConnectionArn(id)); err != nil {
		return nil, err
	}
	secret := newTriggerSecret()
	sealed, err := s.sealField(store.KindConnection, id, "trigger", []byte(secret))
	if err != nil {
		return nil, err
	}
	if err := cs.SetConnectionTriggerSecret(ctx, store.KindConnection, id, sealed, s.now()); err != nil {
		return nil, err
	}
	c, err := cs.GetConnection(ctx, store.KindConnection, id)
	if err != nil {
		return nil, err
	}
	return &ConnectionSecret{Connection: s.describeConnection(c), TriggerSecret: secret}, nil
}

// ParseConnectionArn returns the ID of a connection's ARN
// (arn:aws:codeconnections:…:connection/ID, or CodeStar Connections'
// older arn:aws:codestar-connections:…). The region and account are not
// compared with the server's: the ID names the connection.
func ParseConnectionArn(arn string) (string, error) {
	m := connectionArnRE.FindStringSubmatch(arn)
	if m == nil {
		return "", errs.Of(errs.Validation, errs.KindResource,
			"ConnectionArn %q is not a connection's ARN (arn:aws:codeconnections:REGION:ACCOUNT:connection/ID)", truncate(arn, 120))
	}
	return m[2], nil
}

// The calls below serve the server's own parts (the source providers, the
// trigger endpoint), never a door: they ask the authorization hook
// nothing, as the caller of a source action is the pipeline the caller
// was allowed to start, and an event is verified with the secret itself.

// ConnectionRemote returns where a CodeStarSourceConnection action
// fetches FullRepositoryId from: the connection's remote with
// {FullRepositoryId} replaced (used as it is without one), and its
// credentials opened.
func (s *Service) ConnectionRemote(ctx context.Context, connectionArn, fullRepositoryID string) (GitRemote, error) {
	id, err := ParseConnectionArn(connectionArn)
	if err != nil {
		return GitRemote{}, err
	}
	c, err := s.openConnection(ctx, store.KindConnection, id)
	if err != nil {
		return GitRemote{}, err
	}
	if strings.Contains(c.URL, FullRepositoryIDPlaceholder) {
		if !fullRepositoryIDRE.MatchString(fullRepositoryID) || hasDotDot(fullRepositoryID) || strings.Contains("/"+fullRepositoryID+"/", "/./") {
			return GitRemote{}, errs.Of(errs.Validation, errs.KindResource,
				"FullRepositoryId %q is not owner/name (letters, digits and ._-, no . or .. segments)", truncate(fullRepositoryID, 120))
		}
		c.URL = strings.ReplaceAll(c.URL, FullRepositoryIDPlaceholder, fullRepositoryID)
	}
	return c, nil
}

// CodeCommitRemote returns where a CodeCommit action fetches
// RepositoryName from, its credentials opened.
func (s *Service) CodeCommitRemote(ctx context.Context, repositoryName string) (GitRemote, error) {
	if err := checkID(store.KindRepository, repositoryName); err != nil {
		return GitRemote{}, err
	}
	return s.openConnection(ctx, store.KindRepository, repositoryName)
}

func (s *Service) openConnection(ctx context.Context, kind store.ConnectionKind, id string) (GitRemote, error) {
	cs, err := s.connStore()
	if err != nil {
		return GitRemote{}, err
	}
	c, err := cs.GetConnection(ctx, kind, id)
	if err != nil {
		return GitRemote{}, err
	}
	token, err := s.openField(kind, id, "token", c.Token)
	if err != nil {
		return GitRemote{}, err
	}
	key, err := s.openField(kind, id, "sshkey", c.SSHKey)
	if err != nil {
		return GitRemote{}, err
	}
	return GitRemote{URL: c.Remote, Username: c.Username, Token: string(token), SSHKey: key}, nil
}

// ConnectionTriggerSecret returns a connection's trigger secret (the key
// of X-Hub-Signature-256) and its ARN.
func (s *Service) ConnectionTriggerSecret(ctx context.Context, connectionID string) (secret []byte, arn string, err error) {
	if err := CheckConnectionID(connectionID); err != nil {
		return nil, "", err
	}
	cs, err := s.connStore()
	if err != nil {
		return nil, "", err
	}
	c, err := cs.GetConnection(ctx, store.KindConnection, connectionID)
	if err != nil {
		return nil, "", err
	}
	secret, err = s.openField(store.KindConnection, connectionID, "trigger", c.TriggerSecret)
	if err != nil {
		return nil, "", err
	}
	if len(secret) == 0 {
		return nil, "", errs.Of(errs.NotFound, errs.KindResource, "connection %s has no trigger secret", connectionID)
	}
	return secret, s.ConnectionArn(connectionID), nil
}
