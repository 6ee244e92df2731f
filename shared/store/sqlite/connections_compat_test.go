package sqlite

import (
	"bytes"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/store"
)

// A database the release before connections wrote (8 migrations, an
// access key in it) migrates, then keeps connections across a reopen, and
// its key is still there.
func TestPreviousReleaseHoldsConnections(t *testing.T) {
	ctx := t.Context()
	path := tempPath(t)
	old := openTest(t, path, options{migrations: migrations[:8]})
	created := time.Date(2026, 12, 1, 8, 0, 0, 123, time.UTC)
	key := &store.AccessKey{ID: "SFAKFIXTUREFIXTURE23", User: "admin", Secret: []byte{1, 2}, Created: created}
	if err := old.CreateAccessKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	old.Close()

	s := openTest(t, path, options{})
	if v := userVersion(t, s.db); v != len(migrations) {
		t.Fatalf("schema version %d after the upgrade, want %d", v, len(migrations))
	}
	c := &store.Connection{Kind: store.KindConnection, ID: "stageflow-examples", Name: "examples", Remote: "/srv/repo",
		Token: []byte{0, 0xff}, TriggerSecret: []byte{7}, Created: created}
	if err := s.CreateConnection(ctx, c); err != nil {
		t.Fatalf("creating a connection in an upgraded database: %v", err)
	}
	s.Close()

	s = openTest(t, path, options{})
	got, err := s.GetConnection(ctx, store.KindConnection, c.ID)
	if err != nil {
		t.Fatalf("reading the connection after a reopen: %v", err)
	}
	if got.Remote != c.Remote || !bytes.Equal(got.Token, c.Token) || !got.Created.Equal(created) || !got.Updated.Equal(created) {
		t.Fatalf("the connection reads back as %+v, want %+v", got, c)
	}
	if _, err := s.GetAccessKey(ctx, key.ID); err != nil {
		t.Fatalf("the previous release's key after the upgrade: %v", err)
	}
}
