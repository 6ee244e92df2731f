package gitsource

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// source is a Remote made ready for go-git: a URL without credentials, the
// credentials as an auth method, and what masks them in messages.
type source struct {
	url     string // without user information
	display string // what logs and errors show
	auth    transport.AuthMethod
	secrets []string // strings never to show
}

// scpLike matches git's scp-like SSH syntax, user@host:path.
var scpLike = regexp.MustCompile(`^(?:([A-Za-z0-9._-]+)@)?([A-Za-z0-9][A-Za-z0-9.-]*):([^:].*)$`)

func newSource(r Remote) (*source, error) {
	s := &source{}
	for _, secret := range []string{r.Token, string(r.SSHKey)} {
		s.addSecret(secret)
	}
	raw := strings.TrimSpace(r.URL)
	if raw == "" {
		return nil, fmt.Errorf("the repository's remote has no URL")
	}
	if strings.ContainsAny(raw, "\x00\r\n") {
		return nil, fmt.Errorf("the repository's remote URL has control characters")
	}
	u, err := url.Parse(raw)
	switch {
	case err == nil && (u.Scheme == "https" || u.Scheme == "http"):
		user, token := r.Username, r.Token
		if u.User != nil {
			pw, hasPw := u.User.Password()
			s.addSecret(pw)
			if token == "" && hasPw {
				token = pw
				if user == "" {
					user = u.User.Username()
				}
			}
			u.User = nil
		}
		if token != "" {
			if user == "" {
				user = "x-access-token"
			}
			s.auth = &githttp.BasicAuth{Username: user, Password: token}
		}
		s.url = u.String()
	case err == nil && u.Scheme == "ssh":
		user := "git"
		if u.User != nil {
			user = u.User.Username()
			if pw, ok := u.User.Password(); ok {
				s.addSecret(pw)
			}
		}
		u.User = url.User(user)
		s.url = u.String()
		if err := s.sshAuth(user, r.SSHKey); err != nil {
			return nil, err
		}
	case err == nil && u.Scheme == "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("the repository's file URL names a host (%s)", u.Host)
		}
		s.url = "file://" + filepath.Clean(u.Path)
	case err == nil && u.Scheme == "git":
		u.User = nil
		s.url = u.String()
	case filepath.IsAbs(raw):
		s.url = filepath.Clean(raw)
	case !strings.Contains(raw, "://") && !strings.Contains(raw, "::") && scpLike.MatchString(raw):
		m := scpLike.FindStringSubmatch(raw)
		user := m[1]
		if user == "" {
			user = "git"
		}
		s.url = user + "@" + m[2] + ":" + m[3]
		if err := s.sshAuth(user, r.SSHKey); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("the repository's remote %q is not an https://, ssh://, git@host:path, file:// URL or an absolute path",
			s.mask(truncate(raw, 200)))
	}
	s.display = s.url
	return s, nil
}

func (s *source) sshAuth(user string, key []byte) error {
	if len(key) == 0 {
		return nil // the SSH agent, as go-git does by default
	}
	auth, err := gitssh.NewPublicKeys(user, key, "")
	if err != nil {
		return fmt.Errorf("the repository's SSH key cannot be read: %s", s.mask(err.Error()))
	}
	s.auth = auth
	return nil
}

func (s *source) addSecret(v string) {
	if v == "" {
		return
	}
	s.secrets = append(s.secrets, v)
	if e := url.QueryEscape(v); e != v {
		s.secrets = append(s.secrets, e)
	}
	if e := url.PathEscape(v); e != v {
		s.secrets = append(s.secrets, e)
	}
}

// userinfo matches the credentials of a URL in a message.
var userinfo = regexp.MustCompile(`((?i:https?)://)[^/@\s"']*@`)

// mask removes credentials from a message: the remote's secrets and any
// user information of a URL.
func (s *source) mask(msg string) string {
	for _, v := range s.secrets {
		msg = strings.ReplaceAll(msg, v, "***")
	}
	return userinfo.ReplaceAllString(msg, "${1}***@")
}

// maskRemote masks r's credentials in msg (for errors before a source is made).
func maskRemote(r Remote, msg string) string {
	s := &source{}
	s.addSecret(r.Token)
	s.addSecret(string(r.SSHKey))
	if u, err := url.Parse(r.URL); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			s.addSecret(pw)
		}
	}
	return s.mask(msg)
}

// cacheKey names a remote's folder in the cache.
func (s *source) cacheKey() string {
	h := sha256.Sum256([]byte(s.url))
	return hex.EncodeToString(h[:16])
}
