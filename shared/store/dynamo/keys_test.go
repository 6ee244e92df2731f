package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
)

// No two part lists make the same key, and unkey undoes key.
func TestKeysAreUnambiguous(t *testing.T) {
	lists := [][]string{{"a#b", "c"}, {"a", "b#c"}, {"a%23b", "c"}, {"a", "b", "c"}, {"a#b#c"}, {"a%", "b"}, {"a", "%b"}}
	seen := map[string][]string{}
	for _, l := range lists {
		k := key(l...)
		if prev, ok := seen[k]; ok {
			t.Fatalf("key(%q) = key(%q) = %q", l, prev, k)
		}
		seen[k] = l
	}
	for _, v := range []string{"plain", "a#b", "100%", "%23", "#%#"} {
		if got, ok := unkey(key("E", v), "E"); !ok || got != v {
			t.Errorf("unkey(key(E, %q)) = %q, %v", v, got, ok)
		}
	}
}

// ord sorts as the numbers do, negative ones included.
func TestOrdSorts(t *testing.T) {
	ns := []int64{math.MinInt64, -5, -1, 0, 1, 2, 1e18, math.MaxInt64}
	for i := 1; i < len(ns); i++ {
		if a, b := ord(ns[i-1]), ord(ns[i]); a >= b {
			t.Errorf("ord(%d) = %s ≥ ord(%d) = %s", ns[i-1], a, ns[i], b)
		}
	}
}

// A torn read is read again until it is whole, and reported after six.
func TestUntorn(t *testing.T) {
	for _, tc := range []struct{ tornFor, wantCalls int }{{0, 1}, {3, 4}, {10, 6}} {
		t.Run(fmt.Sprint(tc.tornFor), func(t *testing.T) {
			calls := 0
			v, err := untorn(context.Background(), func() (int, error) {
				calls++
				if calls <= tc.tornFor {
					return 0, errTorn
				}
				return 42, nil
			})
			if calls != tc.wantCalls {
				t.Fatalf("%d calls, want %d", calls, tc.wantCalls)
			}
			if tc.tornFor >= 6 {
				if !errors.Is(err, errTorn) {
					t.Fatalf("err = %v, want errTorn", err)
				}
			} else if err != nil || v != 42 {
				t.Fatalf("= %d, %v", v, err)
			}
		})
	}
}

// Values are split into parts that each fit an item, and joined back; a
// missing part is a torn read.
func TestBlobParts(t *testing.T) {
	data := make([]byte, 2*partSize+10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	items := blobItems("pk", "x#", data, item{"extra": sv("1")})
	if len(items) != 3 || getS(items[0], "extra") != "1" {
		t.Fatalf("%d parts", len(items))
	}
	for _, it := range items {
		if len(getB(it, aBlob)) > partSize {
			t.Fatalf("a part of %d bytes", len(getB(it, aBlob)))
		}
	}
	// joinBlob inflates: hand it a compressed value.
	raw := []byte("hello, parts")
	one := blobItems("pk", "x#", compress(raw), nil)
	got, err := joinBlob(one)
	if err != nil || string(got) != string(raw) {
		t.Fatalf("joinBlob = %q, %v", got, err)
	}
	if _, err := joinBlob(items[:2]); !errors.Is(err, errTorn) {
		t.Fatalf("two of three parts: %v, want errTorn", err)
	}
	if _, err := joinBlob(nil); !errors.Is(err, errTorn) {
		t.Fatalf("no parts: %v, want errTorn", err)
	}
}
