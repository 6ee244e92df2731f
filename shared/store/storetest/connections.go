package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

// connection returns a record with every field set; the sealed fields hold
// bytes that text columns or attributes would mangle.
func connection(kind store.ConnectionKind, id string, created time.Time) *store.Connection {
	return &store.Connection{
		Kind: kind, ID: id, Name: "name of " + id + " ünï", Remote: "https://git.example/{FullRepositoryId}.git",
		Username: "user-" + id, Token: []byte{0, 1, 0xff, 'x'}, SSHKey: []byte{0x80, 0, 2},
		TriggerSecret: []byte{9, 0, 0xfe}, Created: created, Updated: created.Add(time.Second),
	}
}

func sameConnection(t *testing.T, what string, got, want *store.Connection) {
	t.Helper()
	if got.Kind != want.Kind || got.ID != want.ID || got.Name != want.Name || got.Remote != want.Remote || got.Username != want.Username {
		t.Fatalf("%s: got %+v, want %+v", what, got, want)
	}
	for _, f := range []struct {
		name      string
		got, want []byte
	}{{"Token", got.Token, want.Token}, {"SSHKey", got.SSHKey, want.SSHKey}, {"TriggerSecret", got.TriggerSecret, want.TriggerSecret}} {
		if !bytes.Equal(f.got, f.want) || (f.got == nil) != (f.want == nil) {
			t.Fatalf("%s: %s = %x, want %x", what, f.name, f.got, f.want)
		}
	}
	if !got.Created.Equal(want.Created) || !got.Updated.Equal(want.Updated) {
		t.Fatalf("%s: Created, Updated = %v, %v; want %v, %v", what, got.Created, got.Updated, want.Created, want.Updated)
	}
}

var connectionTests = []test{
	{"CreateGetListDelete", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		b := connection(store.KindConnection, "b-id", at(time.Minute))
		a := connection(store.KindConnection, "a-id", at(time.Minute)) // same time: by ID
		c := connection(store.KindConnection, "c-id", at(0))
		repo := connection(store.KindRepository, "b-id", at(0)) // same ID, other kind
		bucket := connection(store.KindBucket, "b-id", at(0))   // and a third
		bucket.Remote = "https://s3.example:9000/?region=eu-west-1&path-style=true"
		for _, x := range []*store.Connection{b, a, c, repo, bucket} {
			if err := s.CreateConnection(ctx, x); err != nil {
				t.Fatalf("creating %s %s: %v", x.Kind, x.ID, err)
			}
		}
		got, err := s.GetConnection(ctx, store.KindConnection, "b-id")
		if err != nil {
			t.Fatal(err)
		}
		sameConnection(t, "get", got, b)
		got, err = s.GetConnection(ctx, store.KindRepository, "b-id")
		if err != nil {
			t.Fatal(err)
		}
		sameConnection(t, "get repository", got, repo)
		got, err = s.GetConnection(ctx, store.KindBucket, "b-id")
		if err != nil {
			t.Fatal(err)
		}
		sameConnection(t, "get bucket", got, bucket)
		list, err := s.ListConnections(ctx, store.KindConnection)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 3 || list[0].ID != "c-id" || list[1].ID != "a-id" || list[2].ID != "b-id" {
			t.Fatalf("list = %+v, want c-id, a-id, b-id", list)
		}
		sameConnection(t, "listed", &list[1], a)
		if err := s.DeleteConnection(ctx, store.KindConnection, "b-id"); err != nil {
			t.Fatal(err)
		}
		_, err = s.GetConnection(ctx, store.KindConnection, "b-id")
		wantCode(t, err, errs.NotFound, errs.KindResource)
		if _, err := s.GetConnection(ctx, store.KindRepository, "b-id"); err != nil {
			t.Fatalf("the repository of the same ID after deleting the connection: %v", err)
		}
		repos, err := s.ListConnections(ctx, store.KindRepository)
		if err != nil || len(repos) != 1 {
			t.Fatalf("repositories = %+v, %v; want one", repos, err)
		}
		buckets, err := s.ListConnections(ctx, store.KindBucket)
		if err != nil || len(buckets) != 1 {
			t.Fatalf("buckets = %+v, %v; want one", buckets, err)
		}
		sameConnection(t, "listed bucket", &buckets[0], bucket)
		if err := s.DeleteConnection(ctx, store.KindBucket, "b-id"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetConnection(ctx, store.KindRepository, "b-id"); err != nil {
			t.Fatalf("the repository of the same ID after deleting the bucket: %v", err)
		}
	}},
	{"NoSecrets", func(t *testing.T, s store.Store) {
		c := &store.Connection{Kind: store.KindRepository, ID: "plain", Remote: "/srv/git/plain"}
		if err := s.CreateConnection(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		if c.Created.IsZero() || !c.Updated.Equal(c.Created) {
			t.Fatalf("Created, Updated = %v, %v; want now, twice", c.Created, c.Updated)
		}
		got, err := s.GetConnection(t.Context(), store.KindRepository, "plain")
		if err != nil {
			t.Fatal(err)
		}
		sameConnection(t, "without secrets", got, c)
	}},
	{"Errors", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		tests := []struct {
			name string
			err  func() error
			code errs.Code
		}{
			{"no kind", func() error { return s.CreateConnection(ctx, &store.Connection{ID: "x", Remote: "/r"}) }, errs.Validation},
			{"no ID", func() error {
				return s.CreateConnection(ctx, &store.Connection{Kind: store.KindConnection, Remote: "/r"})
			}, errs.Validation},
			{"no remote", func() error {
				return s.CreateConnection(ctx, &store.Connection{Kind: store.KindConnection, ID: "x"})
			}, errs.Validation},
			{"twice", func() error {
				if err := s.CreateConnection(ctx, connection(store.KindConnection, "twice", at(0))); err != nil {
					return err
				}
				return s.CreateConnection(ctx, connection(store.KindConnection, "twice", at(0)))
			}, errs.Conflict},
			{"get unknown", func() error { _, err := s.GetConnection(ctx, store.KindConnection, "nope"); return err }, errs.NotFound},
			{"get empty", func() error { _, err := s.GetConnection(ctx, store.KindConnection, ""); return err }, errs.NotFound},
			{"delete unknown", func() error { return s.DeleteConnection(ctx, store.KindRepository, "nope") }, errs.NotFound},
			{"get unknown bucket", func() error { _, err := s.GetConnection(ctx, store.KindBucket, "nope"); return err }, errs.NotFound},
			{"unknown kind", func() error {
				return s.CreateConnection(ctx, &store.Connection{Kind: "queue", ID: "x", Remote: "/r"})
			}, errs.Validation},
			{"rotate unknown", func() error {
				return s.SetConnectionTriggerSecret(ctx, store.KindConnection, "nope", []byte{1}, at(0))
			}, errs.NotFound},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.err(), tc.code, "") })
		}
	}},
	{"SetTriggerSecret", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		c := connection(store.KindConnection, "rot", at(0))
		if err := s.CreateConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
		for i, secret := range [][]byte{{0, 7, 0xff}, nil} {
			if err := s.SetConnectionTriggerSecret(ctx, store.KindConnection, "rot", secret, at(time.Hour*time.Duration(i+1))); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetConnection(ctx, store.KindConnection, "rot")
			if err != nil {
				t.Fatal(err)
			}
			want := *c
			want.TriggerSecret, want.Updated = secret, at(time.Hour*time.Duration(i+1))
			sameConnection(t, "after setting the secret", got, &want)
		}
	}},
}
