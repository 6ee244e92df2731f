package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

// accessKey returns a key with every field set; the secret holds bytes
// that text columns or attributes would mangle (NUL, invalid UTF-8).
func accessKey(id string, created time.Time) *store.AccessKey {
	return &store.AccessKey{
		ID:          id,
		User:        "user-" + id,
		Description: "the key of " + id + ", with ünïcode and \"quotes\"",
		Policies: []store.AttachedPolicy{
			{Name: "AWSCodePipeline_ReadOnlyAccess"},
			{Name: "approve-" + id, Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codepipeline:PutApprovalResult","Resource":"*"}]}`},
		},
		Secret:  []byte{0, 1, 2, 0xff, 0xfe, '#', '%', 0, 'x', 0x80},
		Created: created,
	}
}

// sameKey fails unless got is want, field by field (times as instants).
func sameKey(t *testing.T, what string, got, want *store.AccessKey) {
	t.Helper()
	if got.ID != want.ID || got.User != want.User || got.Description != want.Description {
		t.Fatalf("%s: ID, User, Description = %q, %q, %q; want %q, %q, %q",
			what, got.ID, got.User, got.Description, want.ID, want.User, want.Description)
	}
	deepEqual(t, what+": Policies", got.Policies, want.Policies)
	if !bytes.Equal(got.Secret, want.Secret) {
		t.Fatalf("%s: Secret = %x, want %x", what, got.Secret, want.Secret)
	}
	sameTime(t, what+": Created", got.Created, want.Created)
	sameTime(t, what+": LastUsed", got.LastUsed, want.LastUsed)
}

// getKey reads a key and fails on an error.
func getKey(t *testing.T, s store.Store, id string) *store.AccessKey {
	t.Helper()
	k, err := s.GetAccessKey(t.Context(), id)
	must(t, err)
	return k
}

var accessKeyTests = []test{
	{"CreateGetRoundTrip", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		k := accessKey("SFAKAAAAAAAAAAAAAAAA", at(0))
		k.LastUsed = at(time.Hour) // kept as given
		want := *k
		must(t, s.CreateAccessKey(ctx, k))
		sameKey(t, "read back", getKey(t, s, k.ID), &want)

		// Created defaults to now, in the caller's record too; no
		// description, no last use.
		before := time.Now()
		bare := &store.AccessKey{ID: "SFAKBBBBBBBBBBBBBBBB", User: "bare", Policies: []store.AttachedPolicy{{Name: "AWSCodePipeline_FullAccess"}}, Secret: []byte("s")}
		must(t, s.CreateAccessKey(ctx, bare))
		if bare.Created.Before(before.Add(-time.Second)) || bare.Created.After(time.Now().Add(time.Second)) {
			t.Fatalf("Created defaulted to %v, want about %v", bare.Created, before)
		}
		got := getKey(t, s, bare.ID)
		sameKey(t, "bare key", got, bare)
		if !got.LastUsed.IsZero() {
			t.Fatalf("a key never used reads LastUsed %v", got.LastUsed)
		}
	}},
	{"CreateInvalid", func(t *testing.T, s store.Store) {
		for _, c := range []struct {
			name string
			k    *store.AccessKey
		}{
			{"no ID", &store.AccessKey{User: "u", Secret: []byte("s")}},
			{"no user", &store.AccessKey{ID: "SFAKCCCCCCCCCCCCCCCC", Secret: []byte("s")}},
		} {
			t.Run(c.name, func(t *testing.T) {
				wantCode(t, s.CreateAccessKey(t.Context(), c.k), errs.Validation, errs.KindAccessKey)
			})
		}
		list, err := s.ListAccessKeys(t.Context())
		must(t, err)
		if len(list) != 0 {
			t.Fatalf("refused keys were stored: %+v", list)
		}
	}},
	{"DuplicateID", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		k := accessKey("SFAKDDDDDDDDDDDDDDDD", at(0))
		must(t, s.CreateAccessKey(ctx, k))
		dup := accessKey(k.ID, at(time.Minute))
		dup.User, dup.Secret = "intruder", []byte("other secret")
		wantCode(t, s.CreateAccessKey(ctx, dup), errs.Conflict, errs.KindAccessKey)
		sameKey(t, "the first key", getKey(t, s, k.ID), accessKey(k.ID, at(0)))
	}},
	{"UnknownKey", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		must(t, s.CreateAccessKey(ctx, accessKey("SFAKEEEEEEEEEEEEEEEE", at(0))))
		const ghost = "SFAKGHOSTGHOSTGHOSTG"
		for _, c := range []struct {
			op string
			do func(context.Context) error
		}{
			{"Get", func(ctx context.Context) error { _, err := s.GetAccessKey(ctx, ghost); return err }},
			{"Delete", func(ctx context.Context) error { return s.DeleteAccessKey(ctx, ghost) }},
			{"Touch", func(ctx context.Context) error { return s.TouchAccessKey(ctx, ghost, at(time.Hour)) }},
			{"Get empty ID", func(ctx context.Context) error { _, err := s.GetAccessKey(ctx, ""); return err }},
		} {
			t.Run(c.op, func(t *testing.T) { wantCode(t, c.do(ctx), errs.NotFound, errs.KindAccessKey) })
		}
		list, err := s.ListAccessKeys(ctx)
		must(t, err)
		if len(list) != 1 {
			t.Fatalf("after operations on an unknown key, %d keys are listed, want 1", len(list))
		}
	}},
	{"ListOrder", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		list, err := s.ListAccessKeys(ctx)
		must(t, err)
		if len(list) != 0 {
			t.Fatalf("an empty store lists %+v", list)
		}
		// Created in an order that is neither the listing's nor the IDs'.
		keys := []*store.AccessKey{
			accessKey("SFAKMMMMMMMMMMMMMMMM", at(time.Minute)),
			accessKey("SFAKZZZZZZZZZZZZZZZZ", at(-time.Hour)),
			accessKey("SFAKBBBBBBBBBBBBBBBB", at(time.Minute)),
			accessKey("SFAKAAAAAAAAAAAAAAAA", at(time.Hour)),
			accessKey("SFAKCCCCCCCCCCCCCCCC", at(time.Minute+time.Nanosecond)),
		}
		for _, k := range keys {
			must(t, s.CreateAccessKey(ctx, k))
		}
		list, err = s.ListAccessKeys(ctx)
		must(t, err)
		want := []*store.AccessKey{keys[1], keys[2], keys[0], keys[4], keys[3]}
		if len(list) != len(want) {
			t.Fatalf("listed %d keys, want %d", len(list), len(want))
		}
		for i := range want {
			sameKey(t, "key "+want[i].ID, &list[i], want[i])
		}
	}},
	{"DeleteThenGet", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, b := accessKey("SFAKAAAAAAAAAAAAAAAA", at(0)), accessKey("SFAKBBBBBBBBBBBBBBBB", at(1))
		must(t, s.CreateAccessKey(ctx, a))
		must(t, s.CreateAccessKey(ctx, b))
		must(t, s.DeleteAccessKey(ctx, a.ID))
		_, err := s.GetAccessKey(ctx, a.ID)
		wantCode(t, err, errs.NotFound, errs.KindAccessKey)
		wantCode(t, s.DeleteAccessKey(ctx, a.ID), errs.NotFound, errs.KindAccessKey)
		wantCode(t, s.TouchAccessKey(ctx, a.ID, at(time.Hour)), errs.NotFound, errs.KindAccessKey)
		list, err := s.ListAccessKeys(ctx)
		must(t, err)
		if len(list) != 1 || list[0].ID != b.ID {
			t.Fatalf("after deleting %s: %+v", a.ID, list)
		}
		// The ID can be used again.
		must(t, s.CreateAccessKey(ctx, accessKey(a.ID, at(2))))
	}},
	{"TouchMovesForwardOnly", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		k := accessKey("SFAKTTTTTTTTTTTTTTTT", at(0))
		must(t, s.CreateAccessKey(ctx, k))
		steps := []struct {
			touch time.Time
			want  time.Time
		}{
			{at(time.Minute), at(time.Minute)},                       // first use
			{at(30 * time.Second), at(time.Minute)},                  // earlier: nothing
			{at(time.Minute).In(time.UTC), at(time.Minute)},          // the same instant: nothing
			{time.Time{}, at(time.Minute)},                           // the zero time: nothing
			{at(time.Minute + time.Nanosecond), at(time.Minute + 1)}, // later by a nanosecond
			{at(-time.Hour), at(time.Minute + 1)},                    // before the key was made: nothing
			{at(2 * time.Hour).In(time.UTC), at(2 * time.Hour)},      // later, in another zone
		}
		for i, st := range steps {
			must(t, s.TouchAccessKey(ctx, k.ID, st.touch))
			got := getKey(t, s, k.ID)
			want := accessKey(k.ID, at(0))
			want.LastUsed = st.want
			sameKey(t, fmt.Sprintf("after touch %d (%v)", i, st.touch), got, want)
		}
	}},
	{"RecordsBelongToTheCaller", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		k := accessKey("SFAKOOOOOOOOOOOOOOOO", at(0))
		must(t, s.CreateAccessKey(ctx, k))
		// The record handed in, after the call.
		k.Policies[0].Name = "changed"
		k.Secret[0] = 'X'
		k.Policies = append(k.Policies, store.AttachedPolicy{Name: "added"})
		want := accessKey(k.ID, at(0))
		sameKey(t, "after changing the record created", getKey(t, s, k.ID), want)
		// A record read.
		got := getKey(t, s, k.ID)
		got.Policies[1].Document = "{}"
		got.Secret[1] = 'Y'
		sameKey(t, "after changing a record read", getKey(t, s, k.ID), want)
		// A record listed.
		list, err := s.ListAccessKeys(ctx)
		must(t, err)
		list[0].Policies[0].Name = "listed"
		list[0].Secret[2] = 'Z'
		sameKey(t, "after changing a record listed", getKey(t, s, k.ID), want)

		p := &store.PrincipalPolicies{Principal: "arn:aws:iam::123456789012:role/deployer",
			Policies: []store.AttachedPolicy{{Name: "AWSCodePipeline_FullAccess"}}, Updated: at(0)}
		must(t, s.PutPrincipalPolicies(ctx, p))
		p.Policies[0].Name = "changed"
		gotP, err := s.GetPrincipalPolicies(ctx, p.Principal)
		must(t, err)
		gotP.Policies[0].Document = "{}"
		gotP, err = s.GetPrincipalPolicies(ctx, p.Principal)
		must(t, err)
		deepEqual(t, "principal's policies", gotP.Policies, []store.AttachedPolicy{{Name: "AWSCodePipeline_FullAccess"}})
	}},
	{"PrincipalPolicies", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		const (
			role  = "arn:aws:iam::123456789012:role/deployer"
			group = "console-group:release#managers%"
		)
		doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"codepipeline:DeletePipeline","Resource":"*"}]}`
		get := func(principal string) (*store.PrincipalPolicies, error) {
			return s.GetPrincipalPolicies(ctx, principal)
		}
		_, err := get(role)
		wantCode(t, err, errs.NotFound, errs.KindPolicy)

		before := time.Now()
		steps := []struct {
			step    string
			put     *store.PrincipalPolicies
			want    []store.AttachedPolicy // nil: the principal has none
			updated time.Time              // zero: about now
		}{
			{"first put", &store.PrincipalPolicies{Principal: role, Updated: at(0),
				Policies: []store.AttachedPolicy{{Name: "AWSCodePipeline_ReadOnlyAccess"}, {Name: "no-delete", Document: doc}}},
				[]store.AttachedPolicy{{Name: "AWSCodePipeline_ReadOnlyAccess"}, {Name: "no-delete", Document: doc}}, at(0)},
			{"replaced by fewer", &store.PrincipalPolicies{Principal: role, Updated: at(time.Hour),
				Policies: []store.AttachedPolicy{{Name: "no-delete", Document: doc}}},
				[]store.AttachedPolicy{{Name: "no-delete", Document: doc}}, at(time.Hour)},
			{"Updated defaults to now", &store.PrincipalPolicies{Principal: role,
				Policies: []store.AttachedPolicy{{Name: "AWSCodePipelineApproverAccess"}}},
				[]store.AttachedPolicy{{Name: "AWSCodePipelineApproverAccess"}}, time.Time{}},
			{"empty list removes", &store.PrincipalPolicies{Principal: role, Policies: []store.AttachedPolicy{}}, nil, time.Time{}},
			{"removing none is no error", &store.PrincipalPolicies{Principal: role}, nil, time.Time{}},
			{"put again after removal", &store.PrincipalPolicies{Principal: role, Updated: at(2 * time.Hour),
				Policies: []store.AttachedPolicy{{Name: "AWSCodePipeline_FullAccess"}}},
				[]store.AttachedPolicy{{Name: "AWSCodePipeline_FullAccess"}}, at(2 * time.Hour)},
		}
		for _, st := range steps {
			must(t, s.PutPrincipalPolicies(ctx, st.put))
			got, err := get(role)
			if st.want == nil {
				wantCode(t, err, errs.NotFound, errs.KindPolicy)
				continue
			}
			must(t, err)
			if got.Principal != role {
				t.Fatalf("%s: principal %q, want %q", st.step, got.Principal, role)
			}
			deepEqual(t, st.step, got.Policies, st.want)
			if st.updated.IsZero() {
				if got.Updated.Before(before.Add(-time.Second)) || got.Updated.After(time.Now().Add(time.Second)) {
					t.Fatalf("%s: Updated = %v, want about now", st.step, got.Updated)
				}
				sameTime(t, st.step+": Updated in the caller's record", st.put.Updated, got.Updated)
			} else {
				sameTime(t, st.step+": Updated", got.Updated, st.updated)
			}
		}

		// Principals are apart from each other, whatever their names hold.
		must(t, s.PutPrincipalPolicies(ctx, &store.PrincipalPolicies{Principal: group, Updated: at(0),
			Policies: []store.AttachedPolicy{{Name: "AWSCodePipelineCustomActionAccess"}}}))
		got, err := get(role)
		must(t, err)
		deepEqual(t, "the role after the group's put", got.Policies, []store.AttachedPolicy{{Name: "AWSCodePipeline_FullAccess"}})
		got, err = get(group)
		must(t, err)
		deepEqual(t, "the group", got.Policies, []store.AttachedPolicy{{Name: "AWSCodePipelineCustomActionAccess"}})
		_, err = get("arn:aws:iam::123456789012:role")
		wantCode(t, err, errs.NotFound, errs.KindPolicy)

		wantCode(t, s.PutPrincipalPolicies(ctx, &store.PrincipalPolicies{Policies: []store.AttachedPolicy{{Name: "AWSCodePipeline_FullAccess"}}}),
			errs.Validation, errs.KindPolicy)
	}},
}
