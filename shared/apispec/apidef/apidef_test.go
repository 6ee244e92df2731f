package apidef

import "testing"

func TestNewer(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"1.43", "1.43.11", false},
		{"1.43", "1.34.22", true},
		{"1.43.11", "1.43", true},
		{"1.43.0", "1.43", false},
		{"2.0", "1.99.99", true},
		{"1.9", "1.10", false},
	} {
		if got := newer(tc.a, tc.b); got != tc.want {
			t.Errorf("newer(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestPackageVersion(t *testing.T) {
	dir := t.TempDir()
	if got := packageVersion(dir); got != "" {
		t.Errorf("no __init__.py: got %q", got)
	}
}
