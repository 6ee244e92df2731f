package service

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/stageflow/stageflow/shared/auth"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/seal"
	"github.com/stageflow/stageflow/shared/store"
)

// Limits of access keys, as IAM sets them for users and managed policies.
const (
	MaxKeyPolicies      = 10   // policies attached to one key or principal (IAM: 10 managed policies)
	MaxPolicyDocument   = 6144 // characters of a policy document (IAM's managed-policy limit)
	MaxKeyDescription   = 256
	AccessKeyIDPrefix   = "SFAK" // IAM's long-term keys start with AKIA; Stageflow's with SFAK
	accessKeyIDLength   = 20
	secretAccessKeySize = 30 // random bytes: 40 characters of base64
)

// AdminUser is the user of the key the server makes at its first start.
const AdminUser = "admin"

// AdminPolicies are the policies of the admin key: CodePipeline's full
// access and every stageflow: action.
func AdminPolicies() []store.AttachedPolicy {
	return []store.AttachedPolicy{{Name: auth.FullAccess}, {Name: auth.StageflowFullAccess}}
}

// userNameRE is IAM's rule for user names.
var userNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

// accessKeyIDRE is the shape of the server's access key IDs.
var accessKeyIDRE = regexp.MustCompile(`^` + AccessKeyIDPrefix + `[A-Z2-7]{16}$`)

// keyUseInterval is how often a key's last use is written at most.
const keyUseInterval = time.Minute

// CreateAccessKeyInput asks for a new access key.
type CreateAccessKeyInput struct {
	// User names who signs with the key (IAM's user-name rule); the
	// principal is arn:aws:iam::<account>:user/<User>.
	User        string                 `json:"user"`
	Description string                 `json:"description,omitempty"`
	Policies    []store.AttachedPolicy `json:"policies"`
}

// AccessKey describes a key (never its secret).
type AccessKey struct {
	AccessKeyID string    `json:"accessKeyId"`
	User        string    `json:"user"`
	Principal   string    `json:"principal"`
	Description string    `json:"description,omitempty"`
	Policies    []string  `json:"policies"` // the names of its policies
	Created     time.Time `json:"created"`
	LastUsed    time.Time `json:"lastUsed,omitzero"`
}

// CreateAccessKeyOutput is a new key with its secret, shown this once.
type CreateAccessKeyOutput struct {
	AccessKey
	SecretAccessKey string `json:"secretAccessKey"`
}

// VerifiedKey is what a door verifying a signature needs of a key: its
// secret, and the caller a request signed with it is.
type VerifiedKey struct {
	SecretAccessKey string
	Caller          Caller
}

// keyUses remembers when each key's use was last written.
type keyUses struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (s *Service) keyStore() (store.AccessKeyStore, error) {
	if s.keys == nil || s.sealer == nil {
		return nil, errs.Of(errs.Validation, errs.KindAccessKey, "this server keeps no access keys (it runs without authentication)")
	}
	return s.keys, nil
}

// UserArn is the ARN-like principal of a user of the server's keys.
func (s *Service) UserArn(user string) string {
	return "arn:aws:iam::" + s.account + ":user/" + user
}

// CheckPolicies checks policies to attach: each a built-in policy's name,
// or a named document that auth.Parse accepts. A document using an element
// Stageflow does not evaluate is refused here, never attached. None at all
// is allowed: a key without policies may do nothing (IAM's default deny).
func CheckPolicies(policies []store.AttachedPolicy) error {
	if len(policies) > MaxKeyPolicies {
		return errs.Of(errs.LimitExceeded, errs.KindPolicy, "%d policies given: at most %d may be attached", len(policies), MaxKeyPolicies)
	}
	for i, p := range policies {
		if p.Document == "" {
			if _, ok := auth.Builtin(p.Name); !ok {
				return errs.Of(errs.NotFound, errs.KindPolicy, "policies[%d]: no built-in policy is named %q (built-in: %s)",
					i, p.Name, strings.Join(auth.BuiltinNames(), ", "))
			}
			continue
		}
		if p.Name == "" || len(p.Name) > 128 || !userNameRE.MatchString(p.Name) {
			return errs.Of(errs.Validation, errs.KindPolicy, "policies[%d]: a policy document needs a name of 1 to 128 letters, digits and +=,.@_-", i)
		}
		if _, ok := auth.Builtin(p.Name); ok {
			return errs.Of(errs.Validation, errs.KindPolicy, "policies[%d]: %q is the name of a built-in policy; name your document otherwise", i, p.Name)
		}
		if len(p.Document) > MaxPolicyDocument {
			return errs.Of(errs.LimitExceeded, errs.KindPolicy, "policies[%d] (%s): the document holds %d characters, more than the %d allowed",
				i, p.Name, len(p.Document), MaxPolicyDocument)
		}
		if _, err := auth.Parse([]byte(p.Document)); err != nil {
			return errs.Of(errs.Validation, errs.KindPolicy, "policies[%d] (%s): %v", i, p.Name, err)
		}
	}
	return nil
}

// parsePolicies turns attached policies into parsed ones. Documents were
// checked when attached; one that no longer parses (stored by a release
// with a looser parser) denies by failing, never by being skipped. Every
// verified request parses its key's policies: a parsed document is kept
// (parsedDocuments) and shared, read-only, by the requests that attach it.
func parsePolicies(attached []store.AttachedPolicy) ([]*auth.Policy, error) {
	out := make([]*auth.Policy, 0, len(attached))
	for _, p := range attached {
		if p.Document == "" {
			b, ok := auth.Builtin(p.Name)
			if !ok {
				return nil, errs.Of(errs.Forbidden, errs.KindAccess, "the attached policy %q is not a built-in policy this release knows", p.Name)
			}
			out = append(out, b)
			continue
		}
		pol, err := parsedDocuments.parse(p.Document)
		if err != nil {
			return nil, errs.Of(errs.Forbidden, errs.KindAccess, "the attached policy %q does not parse: %v", p.Name, err)
		}
		out = append(out, pol)
	}
	return out, nil
}

// maxParsedDocuments bounds the documents parsedDocuments keeps; past it,
// documents are parsed each time.
const maxParsedDocuments = 1024

// documentCache keeps parsed policy documents by their text.
type documentCache struct {
	mu sync.Mutex
	m  map[string]*auth.Policy
}

var parsedDocuments = &documentCache{m: map[string]*auth.Policy{}}

func (c *documentCache) parse(doc string) (*auth.Policy, error) {
	c.mu.Lock()
	p, ok := c.m[doc]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := auth.Parse([]byte(doc))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) < maxParsedDocuments {
		c.m[doc] = p
	}
	c.mu.Unlock()
	return p, nil
}

func policyNames(attached []store.AttachedPolicy) []string {
	names := make([]string, len(attached))
	for i, p := range attached {
		names[i] = p.Name
	}
	return names
}

func checkUser(user string) error {
	if !userNameRE.MatchString(user) {
		return errs.Of(errs.Validation, errs.KindAccessKey, "user %q is not valid: use 1 to 64 letters, digits and +=,.@_-", user)
	}
	return nil
}

func checkDescription(d string) error {
	if len(d) > MaxKeyDescription {
		return errs.Of(errs.Validation, errs.KindAccessKey, "the description holds %d characters, more than the %d allowed", len(d), MaxKeyDescription)
	}
	if strings.IndexFunc(d, unicode.IsControl) >= 0 {
		return errs.Of(errs.Validation, errs.KindAccessKey, "the description holds a control character")
	}
	return nil
}

// CheckAccessKeyID tells whether id has the shape of the server's keys.
func CheckAccessKeyID(id string) error {
	if !accessKeyIDRE.MatchString(id) {
		return errs.Of(errs.Validation, errs.KindAccessKey, "%q is not an access key ID of this server (%s and 16 of A-Z2-7)",
			truncate(id, 40), AccessKeyIDPrefix)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// newAccessKeyID makes a random key ID: the prefix, then 16 base32 letters.
func newAccessKeyID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return AccessKeyIDPrefix + base32.StdEncoding.EncodeToString(b)[:accessKeyIDLength-len(AccessKeyIDPrefix)]
}

// newSecretAccessKey makes a random secret of 40 characters.
func newSecretAccessKey() string {
	b := make([]byte, secretAccessKeySize)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// CreateAccessKey makes a key with policies attached and returns its
// secret, which is never shown again.
func (s *Service) CreateAccessKey(ctx context.Context, in CreateAccessKeyInput) (*CreateAccessKeyOutput, error) {
	keys, err := s.keyStore()
	if err != nil {
		return nil, err
	}
	if err := checkUser(in.User); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, OpCreateAccessKey, s.UserArn(in.User)); err != nil {
		return nil, err
	}
	if err := checkDescription(in.Description); err != nil {
		return nil, err
	}
	if err := CheckPolicies(in.Policies); err != nil {
		return nil, err
	}
	return s.createAccessKey(ctx, keys, in)
}

func (s *Service) createAccessKey(ctx context.Context, keys store.AccessKeyStore, in CreateAccessKeyInput) (*CreateAccessKeyOutput, error) {
	id, secret := newAccessKeyID(), newSecretAccessKey()
	sealed, err := s.sealer.Seal([]byte(secret), []byte(id))
	if err != nil {
		return nil, err
	}
	k := &store.AccessKey{ID: id, User: in.User, Description: in.Description, Policies: in.Policies, Secret: sealed, Created: s.now()}
	if err := keys.CreateAccessKey(ctx, k); err != nil {
		return nil, err
	}
	return &CreateAccessKeyOutput{AccessKey: s.describeKey(k), SecretAccessKey: secret}, nil
}

// CreateAdminKey makes a key for AdminUser with AdminPolicies, asking no
// one: the server calls it at its first start.
func (s *Service) CreateAdminKey(ctx context.Context, description string) (*CreateAccessKeyOutput, error) {
	keys, err := s.keyStore()
	if err != nil {
		return nil, err
	}
	return s.createAccessKey(ctx, keys, CreateAccessKeyInput{User: AdminUser, Description: description, Policies: AdminPolicies()})
}

func (s *Service) describeKey(k *store.AccessKey) AccessKey {
	return AccessKey{AccessKeyID: k.ID, User: k.User, Principal: s.UserArn(k.User), Description: k.Description,
		Policies: policyNames(k.Policies), Created: k.Created, LastUsed: k.LastUsed}
}

// ListAccessKeys lists the server's keys, oldest first, without secrets.
func (s *Service) ListAccessKeys(ctx context.Context) ([]AccessKey, error) {
	keys, err := s.keyStore()
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, OpListAccessKeys, AllResources); err != nil {
		return nil, err
	}
	all, err := keys.ListAccessKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]AccessKey, len(all))
	for i := range all {
		out[i] = s.describeKey(&all[i])
	}
	return out, nil
}

// DeleteAccessKey deletes a key: requests signed with it are refused from
// then on.
func (s *Service) DeleteAccessKey(ctx context.Context, id string) error {
	keys, err := s.keyStore()
	if err != nil {
		return err
	}
	if err := CheckAccessKeyID(id); err != nil {
		return err
	}
	k, err := keys.GetAccessKey(ctx, id)
	if errs.CodeOf(err) == errs.NotFound {
		if err := s.authorize(ctx, OpDeleteAccessKey, AllResources); err != nil {
			return err
		}
		return errs.Of(errs.NotFound, errs.KindAccessKey, "access key %s does not exist", id)
	}
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, OpDeleteAccessKey, s.UserArn(k.User)); err != nil {
		return err
	}
	if err := keys.DeleteAccessKey(ctx, id); err != nil {
		return err
	}
	s.endConsoleKey(id)
	return nil
}

// HasAccessKey reports whether the server holds a key (the server checks
// that its credentials file still names one).
func (s *Service) HasAccessKey(ctx context.Context, id string) (bool, error) {
	keys, err := s.keyStore()
	if err != nil {
		return false, err
	}
	_, err = keys.GetAccessKey(ctx, id)
	if errs.CodeOf(err) == errs.NotFound {
		return false, nil
	}
	return err == nil, err
}

// VerifyingKey returns the secret of a key and the caller its requests
// are, for a door that verifies a signature (ok false for a key the server
// does not hold). The caller is marked Verified: the door uses it only once
// the signature checks out, and then calls KeyUsed.
func (s *Service) VerifyingKey(ctx context.Context, id, door string) (VerifiedKey, bool, error) {
	keys, err := s.keyStore()
	if err != nil {
		return VerifiedKey{}, false, err
	}
	if CheckAccessKeyID(id) != nil {
		return VerifiedKey{}, false, nil
	}
	k, err := keys.GetAccessKey(ctx, id)
	if errs.CodeOf(err) == errs.NotFound {
		return VerifiedKey{}, false, nil
	}
	if err != nil {
		return VerifiedKey{}, false, err
	}
	secret, err := s.sealer.Open(k.Secret, []byte(k.ID))
	if err != nil {
		return VerifiedKey{}, false, err
	}
	policies, err := parsePolicies(k.Policies)
	if err != nil {
		return VerifiedKey{}, false, err
	}
	return VerifiedKey{SecretAccessKey: string(secret), Caller: Caller{
		Principal: s.UserArn(k.User), AccessKeyID: k.ID, Door: door, Verified: true, Policies: policies,
	}}, true, nil
}

// KeyUsed records that a request verified with a key, writing it at most
// once a minute per key.
func (s *Service) KeyUsed(ctx context.Context, id string) {
	if s.keys == nil {
		return
	}
	now := s.now()
	s.uses.mu.Lock()
	if s.uses.last == nil {
		s.uses.last = map[string]time.Time{}
	}
	if last, ok := s.uses.last[id]; ok && now.Sub(last) < keyUseInterval {
		s.uses.mu.Unlock()
		return
	}
	s.uses.last[id] = now
	s.uses.mu.Unlock()
	if err := s.keys.TouchAccessKey(ctx, id, now); err != nil && errs.CodeOf(err) != errs.NotFound {
		s.log.Warn("recording an access key's use", "accessKeyId", id, "err", err)
	}
}

// PutPrincipalPolicies attaches policies to a principal the server holds
// no key for (an IAM principal's ARN deployed, a console group), replacing
// those it had; an empty list detaches them all.
func (s *Service) PutPrincipalPolicies(ctx context.Context, principal string, policies []store.AttachedPolicy) error {
	keys, err := s.keyStore()
	if err != nil {
		return err
	}
	if err := checkPrincipal(principal); err != nil {
		return err
	}
	if err := s.authorize(ctx, OpPutPrincipalPolicies, principal); err != nil {
		return err
	}
	if err := CheckPolicies(policies); err != nil {
		return err
	}
	return keys.PutPrincipalPolicies(ctx, &store.PrincipalPolicies{Principal: principal, Policies: policies, Updated: s.now()})
}

// GetPrincipalPolicies returns the names of the policies attached to a
// principal (none: an empty list).
func (s *Service) GetPrincipalPolicies(ctx context.Context, principal string) ([]store.AttachedPolicy, error) {
	keys, err := s.keyStore()
	if err != nil {
		return nil, err
	}
	if err := checkPrincipal(principal); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, OpGetPrincipalPolicies, principal); err != nil {
		return nil, err
	}
	p, err := keys.GetPrincipalPolicies(ctx, principal)
	if errs.CodeOf(err) == errs.NotFound {
		return []store.AttachedPolicy{}, nil
	}
	if err != nil {
		return nil, err
	}
	return p.Policies, nil
}

// PrincipalPolicies is the lookup of the policies attached to a caller's
// principal (for NewPolicyAuthorizer deployed): parsed, none for a
// principal with no record. It asks no one: it serves the authorizer.
func (s *Service) PrincipalPolicies(ctx context.Context, c Caller) ([]*auth.Policy, error) {
	if s.keys == nil || c.AccessKeyID != "" || !c.Verified {
		return nil, nil
	}
	p, err := s.keys.GetPrincipalPolicies(ctx, c.Principal)
	if errs.CodeOf(err) == errs.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parsePolicies(p.Policies)
}

var principalRE = regexp.MustCompile(`^arn:[a-z-]+:[a-z0-9-]+:[a-z0-9-]*:[0-9]*:[\x21-\x7e]+$`)

func checkPrincipal(p string) error {
	if len(p) > 1200 || !principalRE.MatchString(p) {
		return errs.Of(errs.Validation, errs.KindPolicy, "principal %q is not an ARN (arn:aws:iam::<account>:role/<name>, …)", truncate(p, 80))
	}
	return nil
}

var _ seal.Sealer = (*seal.AESGCM)(nil)

// knownOperations holds every operation's name in lower case (action
// names match case-insensitively).
var knownOperations = func() map[string]bool {
	m := map[string]bool{}
	for _, op := range Operations() {
		m[strings.ToLower(string(op))] = true
	}
	return m
}()

// MaxPermissionChecks bounds the checks of one GetCallerIdentity.
const MaxPermissionChecks = 100

// PermissionCheck asks whether the caller may perform Action on Resource
// (an ARN; "*" when empty).
type PermissionCheck struct {
	Action   string `json:"action"`
	Resource string `json:"resource"`
}

// PermissionResult answers a PermissionCheck.
type PermissionResult struct {
	PermissionCheck
	Allowed bool `json:"allowed"`
}

// CallerIdentity is who the caller is, and what it may do.
type CallerIdentity struct {
	Principal   string             `json:"principal"`
	AccessKeyID string             `json:"accessKeyId,omitempty"`
	Verified    bool               `json:"verified"`
	Door        string             `json:"door"`
	Checks      []PermissionResult `json:"checks"`
	// CSRFToken is the console session's CSRF token, when the caller is a
	// console session: its requests that change something send it as the
	// X-CSRF-Token header.
	CSRFToken string `json:"csrfToken,omitempty"`
	// PipelineArnPrefix is what a pipeline's name follows in its ARN here
	// (arn:aws:codepipeline:REGION:ACCOUNT:): the console asks about a
	// pipeline that does not exist yet with it.
	PipelineArnPrefix string `json:"pipelineArnPrefix"`
}

// GetCallerIdentity tells the caller who it is and, for each check (every
// operation on "*" when none is given), whether the authorization hook
// allows it. Like STS's GetCallerIdentity it needs no permission of its
// own. The console uses it to show only what the caller may do.
func (s *Service) GetCallerIdentity(ctx context.Context, checks []PermissionCheck) (*CallerIdentity, error) {
	if len(checks) > MaxPermissionChecks {
		return nil, errs.New(errs.Validation, "%d checks given: at most %d", len(checks), MaxPermissionChecks)
	}
	if len(checks) == 0 {
		for _, op := range Operations() {
			checks = append(checks, PermissionCheck{Action: string(op), Resource: AllResources})
		}
	}
	c := CallerFrom(ctx)
	out := &CallerIdentity{Principal: c.Principal, AccessKeyID: c.AccessKeyID, Verified: c.Verified, Door: c.Door,
		Checks: make([]PermissionResult, 0, len(checks)), CSRFToken: c.ConsoleSessionCSRF(), PipelineArnPrefix: s.arnPrefix()}
	for i, ch := range checks {
		if !knownOperations[strings.ToLower(ch.Action)] {
			return nil, errs.New(errs.Validation, "checks[%d]: %q is not an operation of this server (codepipeline:GetPipeline, stageflow:GetActionLogs, …)",
				i, truncate(ch.Action, 80))
		}
		if ch.Resource == "" {
			ch.Resource = AllResources
		}
		if len(ch.Resource) > 1200 || (ch.Resource != AllResources && !strings.HasPrefix(ch.Resource, "arn:")) {
			return nil, errs.New(errs.Validation, "checks[%d]: the resource must be an ARN or *", i)
		}
		err := s.authorize(ctx, Operation(ch.Action), ch.Resource)
		if err != nil && errs.CodeOf(err) != errs.Forbidden {
			return nil, err
		}
		out.Checks = append(out.Checks, PermissionResult{PermissionCheck: ch, Allowed: err == nil})
	}
	return out, nil
}
