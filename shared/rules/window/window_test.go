package window

import (
	"strings"
	"testing"
	"time"
)

func TestContains(t *testing.T) {
	// 2026-12-02 is a Wednesday.
	at := func(zone, s string) time.Time {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		tm, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name, expr, zone string
		now              time.Time
		want             bool
	}{
		{"weekday hours inside", "* * 9-16 ? * MON-FRI", "", at("UTC", "2026-12-02 10:30:00"), true},
		{"weekday hours last minute", "* * 9-16 ? * MON-FRI", "", at("UTC", "2026-12-02 16:59:59"), true},
		{"weekday hours after", "* * 9-16 ? * MON-FRI", "", at("UTC", "2026-12-02 17:00:00"), false},
		{"weekend", "* * 9-16 ? * MON-FRI", "", at("UTC", "2026-12-05 10:00:00"), false},
		{"numeric days are 1 = Sunday", "* * * ? * 1", "", at("UTC", "2026-12-06 10:00:00"), true},
		{"numeric 2 is Monday, not Tuesday", "* * * ? * 2", "", at("UTC", "2026-12-08 10:00:00"), false},
		{"numeric range 2-6 is Monday to Friday", "* * * ? * 2-6", "", at("UTC", "2026-12-04 10:00:00"), true},
		{"numeric 7 is Saturday", "* * * ? * 7", "", at("UTC", "2026-12-05 10:00:00"), true},
		{"time zone moves the window", "* * 9-16 ? * MON-FRI", "America/New_York", at("UTC", "2026-12-02 10:30:00"), false},
		{"time zone inside", "* * 9-16 ? * MON-FRI", "America/New_York", at("America/New_York", "2026-12-02 10:30:00"), true},
		{"year matches", "* * * * * ? 2026", "", at("UTC", "2026-12-02 10:00:00"), true},
		{"year does not match", "* * * * * ? 2027-2030", "", at("UTC", "2026-12-02 10:00:00"), false},
		{"year step", "* * * * * ? 2020/2", "", at("UTC", "2026-12-02 10:00:00"), true},
		{"month names", "* * * * JAN-NOV ?", "", at("UTC", "2026-12-02 10:00:00"), false},
		{"minute list", "* 0,30 * * * ?", "", at("UTC", "2026-12-02 10:30:15"), true},
		{"minute list outside", "* 0,30 * * * ?", "", at("UTC", "2026-12-02 10:31:00"), false},
		{"day of month", "* * * 2 * ?", "", at("UTC", "2026-12-02 23:59:59"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Parse(tt.expr, tt.zone)
			if err != nil {
				t.Fatal(err)
			}
			if got := w.Contains(tt.now); got != tt.want {
				t.Errorf("Contains(%s) = %v, want %v", tt.now, got, tt.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct{ expr, zone, want string }{
		{"* * *", "", "6 fields"},
		{"* * * * * ? 2026 x", "", "6 fields"},
		{"* * * L * ?", "", "L, W and # modifiers are not supported"},
		{"* * * 15W * ?", "", "not supported"},
		{"* * * ? * 6L", "", "not supported"},
		{"* * * ? * 5#3", "", "not supported"},
		{"* * * ? * 8", "", "out of range 1-7"},
		{"* * * ? * 0", "", "out of range 1-7"},
		{"* 61 * * * ?", "", "cron expression"},
		{"* * * * * ? 1969", "", "from 1970 to 2199"},
		{"* * * * * ? 2030-2020", "", "ends before it starts"},
		{"* * * * * ? 2020/0", "", "positive"},
		{"* * * * * ?", "Mars/Olympus", "unknown time zone"},
		{"* * * * * ?", "../../etc/passwd", "unknown time zone"},
		{"* * * * * ?", "Local", "server's zone"},
	}
	for _, tt := range tests {
		t.Run(tt.expr+" "+tt.zone, func(t *testing.T) {
			_, err := Parse(tt.expr, tt.zone)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q, %q) = %v, want an error with %q", tt.expr, tt.zone, err, tt.want)
			}
		})
	}
}

func TestNextOpen(t *testing.T) {
	utc := func(s string) time.Time {
		tm, err := time.Parse("2006-01-02 15:04:05", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name, expr string
		from       time.Time
		want       time.Time
		ok         bool
	}{
		{"later today", "* * 9-16 ? * MON-FRI", utc("2026-12-02 07:10:00"), utc("2026-12-02 09:00:00"), true},
		{"after the weekend", "* * 9-16 ? * MON-FRI", utc("2026-12-04 17:00:00"), utc("2026-12-07 09:00:00"), true},
		{"next allowed year", "* * * * * ? 2028", utc("2026-12-02 07:10:00"), utc("2028-01-01 00:00:00"), true},
		{"years past", "* * * * * ? 2020", utc("2026-12-02 07:10:00"), time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Parse(tt.expr, "")
			if err != nil {
				t.Fatal(err)
			}
			got, ok := w.NextOpen(tt.from)
			if ok != tt.ok || !got.Equal(tt.want) {
				t.Errorf("NextOpen(%s) = %s, %v; want %s, %v", tt.from, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// FuzzParse: no expression or zone makes Parse, Contains or NextOpen panic
// or loop without end.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"* * 9-16 ? * MON-FRI", "0/15 */5 1-2 L * ? 2026/3", "* * * ? * 1-7/2 1970-2199", "* 0-59/0 * * * ?"} {
		f.Add(s, "UTC")
	}
	f.Fuzz(func(t *testing.T, expr, zone string) {
		w, err := Parse(expr, zone)
		if err != nil {
			return
		}
		now := time.Date(2026, 12, 2, 10, 30, 0, 0, time.UTC)
		w.Contains(now)
		w.NextOpen(now)
	})
}
