package hostbuild

import (
	"testing"
	"time"
)

func TestTimeout(t *testing.T) {
	for _, tc := range []struct {
		unit    time.Duration
		minutes int
		want    time.Duration
	}{
		{0, 0, DefaultTimeout},
		{0, 5, 5 * time.Minute},
		{time.Second, 0, 60 * time.Second},
		{time.Second, 7, 7 * time.Second},
	} {
		h := Host{TimeoutUnit: tc.unit}
		if got := h.Timeout(tc.minutes); got != tc.want {
			t.Errorf("unit %s, %d minutes: timeout %s, want %s", tc.unit, tc.minutes, got, tc.want)
		}
	}
}
