package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"sync"
	"time"

	"github.com/stageflow/stageflow/shared/errs"
)

// The console's sign-in: a one-time sign-in link, bound to one of the
// server's access keys, is exchanged for a session whose caller is the
// key's principal with the key's policies (looked up afresh on every
// request, so that a changed or deleted key applies at once).
//
// Links and sessions live in the service's memory only: they die with the
// process (a restart signs every console user out; a link printed before
// it no longer works). Only hashes (SHA-256) of link tokens and session
// IDs are kept, so that nothing in memory can be replayed as a credential;
// a session's CSRF token is kept as it is, since the console must be able
// to read it back (GetCallerIdentity).
const (
	// ConsoleLinkLifetime is how long a sign-in link may be used (once).
	ConsoleLinkLifetime = 10 * time.Minute
	// ConsoleSessionIdle ends a session no request has used for so long.
	ConsoleSessionIdle = 12 * time.Hour
	// ConsoleSessionLifetime ends a session however busy it is.
	ConsoleSessionLifetime = 24 * time.Hour
	// MaxConsoleLinksPerKey bounds the unused links of one key: a new one
	// past it replaces the oldest.
	MaxConsoleLinksPerKey = 5
	// MaxConsoleSessions bounds the sessions the server holds: a new one
	// past it ends the one idle longest.
	MaxConsoleSessions = 1000
	// consoleSecretSize is the random bytes of a link token, a session ID
	// and a CSRF token.
	consoleSecretSize = 32
)

// ConsoleLink is a one-time sign-in link's token: shown once, to the key's
// holder.
type ConsoleLink struct {
	Token       string    `json:"token"`
	AccessKeyID string    `json:"accessKeyId"`
	Principal   string    `json:"principal"`
	Expires     time.Time `json:"expiresAt"`
}

// ConsoleSession is a new session, as the exchange of a link makes it: its
// ID goes into the session cookie and is never shown again.
type ConsoleSession struct {
	ID        string
	CSRFToken string
	Principal string
	// Expires is when the session ends at the latest (its idle timeout may
	// end it earlier).
	Expires time.Time
}

type consoleLink struct {
	keyID   string
	expires time.Time
}

type consoleSession struct {
	keyID    string
	csrf     string
	created  time.Time
	lastSeen time.Time
}

// consoleState is the service's links and sessions, keyed by the hash of
// their token or ID.
type consoleState struct {
	mu       sync.Mutex
	links    map[string]*consoleLink
	sessions map[string]*consoleSession
}

func (c *consoleState) init() {
	if c.links == nil {
		c.links = map[string]*consoleLink{}
		c.sessions = map[string]*consoleSession{}
	}
}

// consoleHash is the key under which a token or session ID is kept.
func consoleHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func newConsoleSecret() string {
	b := make([]byte, consoleSecretSize)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// wellFormedConsoleSecret tells whether s has the shape of a token or ID
// this service makes (anything else is refused without a lookup).
func wellFormedConsoleSecret(s string) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(consoleSecretSize) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// ConsoleSessionCSRF is the CSRF token of the console session c came in
// with ("" for a caller that signed its request): a request of the session
// that changes something must carry it.
func (c Caller) ConsoleSessionCSRF() string {
	if c.console == nil {
		return ""
	}
	return c.console.csrf
}

// CreateConsoleLink issues a one-time sign-in link for the caller's own
// access key. Like GetCallerIdentity it needs no permission of its own: the
// session it leads to may do exactly what the key may. Only a caller that
// signed its request with one of the server's keys gets one (not a console
// session: a session cannot prolong itself by signing in again).
func (s *Service) CreateConsoleLink(ctx context.Context) (*ConsoleLink, error) {
	if _, err := s.keyStore(); err != nil {
		return nil, err
	}
	c := CallerFrom(ctx)
	if !c.Verified || c.AccessKeyID == "" || c.console != nil {
		return nil, errs.New(errs.Forbidden, "console sign-in links are issued only to requests signed with one of this server's access keys (stageflow console-link signs with yours)")
	}
	return s.newConsoleLink(c.AccessKeyID, c.Principal), nil
}

// CreateAdminConsoleLink issues a sign-in link for the server's admin key
// (the server prints one at its start), asking no one.
func (s *Service) CreateAdminConsoleLink(ctx context.Context, accessKeyID string) (*ConsoleLink, error) {
	k, ok, err := s.VerifyingKey(ctx, accessKeyID, DoorREST)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errs.Of(errs.NotFound, errs.KindAccessKey, "access key %s does not exist", accessKeyID)
	}
	return s.newConsoleLink(accessKeyID, k.Caller.Principal), nil
}

func (s *Service) newConsoleLink(keyID, principal string) *ConsoleLink {
	token := newConsoleSecret()
	now := s.now()
	l := &consoleLink{keyID: keyID, expires: now.Add(ConsoleLinkLifetime)}
	st := &s.console
	st.mu.Lock()
	defer st.mu.Unlock()
	st.init()
	var oldest string
	n := 0
	for h, o := range st.links {
		if !now.Before(o.expires) {
			delete(st.links, h)
			continue
		}
		if o.keyID == keyID {
			n++
			if oldest == "" || o.expires.Before(st.links[oldest].expires) {
				oldest = h
			}
		}
	}
	if n >= MaxConsoleLinksPerKey {
		delete(st.links, oldest)
	}
	st.links[consoleHash(token)] = l
	return &ConsoleLink{Token: token, AccessKeyID: keyID, Principal: principal, Expires: l.expires}
}

// errConsoleLink refuses a link that is unknown, used or expired, without
// telling which (a guesser learns nothing).
func errConsoleLink() error {
	return errs.New(errs.Forbidden, "this sign-in link is not valid: it was already used, it expired (links last %v) or it was mistyped; ask for a new one with `stageflow console-link`",
		ConsoleLinkLifetime)
}

// ExchangeConsoleLink consumes a sign-in link and opens a session for its
// key. The link is spent even when the exchange fails past that point.
func (s *Service) ExchangeConsoleLink(ctx context.Context, token string) (*ConsoleSession, error) {
	if token == "" {
		return nil, errs.New(errs.Validation, "the sign-in link carries no token: open the whole link `stageflow console-link` prints")
	}
	if !wellFormedConsoleSecret(token) {
		return nil, errConsoleLink()
	}
	now := s.now()
	st := &s.console
	st.mu.Lock()
	st.init()
	h := consoleHash(token)
	l, ok := st.links[h]
	delete(st.links, h)
	st.mu.Unlock()
	if !ok || !now.Before(l.expires) {
		return nil, errConsoleLink()
	}
	k, ok, err := s.VerifyingKey(ctx, l.keyID, DoorREST)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errConsoleLink()
	}
	id, csrf := newConsoleSecret(), newConsoleSecret()
	sess := &consoleSession{keyID: l.keyID, csrf: csrf, created: now, lastSeen: now}
	st.mu.Lock()
	s.pruneSessionsLocked(now)
	if len(st.sessions) >= MaxConsoleSessions {
		var idlest string
		for h, o := range st.sessions {
			if idlest == "" || o.lastSeen.Before(st.sessions[idlest].lastSeen) {
				idlest = h
			}
		}
		delete(st.sessions, idlest)
	}
	st.sessions[consoleHash(id)] = sess
	st.mu.Unlock()
	return &ConsoleSession{ID: id, CSRFToken: csrf, Principal: k.Caller.Principal, Expires: now.Add(ConsoleSessionLifetime)}, nil
}

// pruneSessionsLocked drops ended sessions; st.mu is held.
func (s *Service) pruneSessionsLocked(now time.Time) {
	for h, o := range s.console.sessions {
		if o.ended(now) {
			delete(s.console.sessions, h)
		}
	}
}

func (o *consoleSession) ended(now time.Time) bool {
	return now.Sub(o.lastSeen) >= ConsoleSessionIdle || now.Sub(o.created) >= ConsoleSessionLifetime
}

// ConsoleCaller is the caller of a session cookie: the key's principal
// with its current policies, Verified, at the REST door. ok is false for
// an unknown or ended session, or one whose key is gone.
func (s *Service) ConsoleCaller(ctx context.Context, sessionID string) (Caller, bool, error) {
	if s.keys == nil || !wellFormedConsoleSecret(sessionID) {
		return Caller{}, false, nil
	}
	now := s.now()
	h := consoleHash(sessionID)
	st := &s.console
	st.mu.Lock()
	st.init()
	o, ok := st.sessions[h]
	if ok && o.ended(now) {
		delete(st.sessions, h)
		ok = false
	}
	var sess consoleSession
	if ok {
		o.lastSeen = now
		sess = *o
	}
	st.mu.Unlock()
	if !ok {
		return Caller{}, false, nil
	}
	k, ok, err := s.VerifyingKey(ctx, sess.keyID, DoorREST)
	if err != nil {
		return Caller{}, false, err
	}
	if !ok {
		s.EndConsoleSession(sessionID)
		return Caller{}, false, nil
	}
	c := k.Caller
	c.console = &sess
	return c, true, nil
}

// EndConsoleSession ends a session (signing out); an unknown one is no
// error.
func (s *Service) EndConsoleSession(sessionID string) {
	st := &s.console
	st.mu.Lock()
	defer st.mu.Unlock()
	st.init()
	delete(st.sessions, consoleHash(sessionID))
}

// endConsoleKey ends the sessions and links of a deleted key.
func (s *Service) endConsoleKey(keyID string) {
	st := &s.console
	st.mu.Lock()
	defer st.mu.Unlock()
	st.init()
	for h, o := range st.sessions {
		if o.keyID == keyID {
			delete(st.sessions, h)
		}
	}
	for h, l := range st.links {
		if l.keyID == keyID {
			delete(st.links, h)
		}
	}
}
