package service

import (
	"encoding/json"
	"testing"
	"time"
)

// TestTimestampRoundTrip: what MarshalJSON writes reads back as the same
// time, and numbers and RFC 3339 strings read as the times they name.
func TestTimestampRoundTrip(t *testing.T) {
	base := time.UnixMilli(1700000000000).UTC()
	for ms := range 1000 {
		in := Timestamp(base.Add(time.Duration(ms) * time.Millisecond))
		data, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var out Timestamp
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatal(err)
		}
		if !time.Time(out).Equal(time.Time(in)) {
			t.Fatalf("%s reads back as %v, want %v", data, time.Time(out), time.Time(in))
		}
	}
	tests := []struct {
		json string
		want time.Time
	}{
		{`0`, time.Unix(0, 0)},
		{`1700000000`, time.Unix(1700000000, 0)},
		{`1700000000.004`, time.UnixMilli(1700000000004)},
		{`1700000000.000001`, time.UnixMicro(1700000000000001)},
		{`-1.5`, time.UnixMilli(-1500)},
		{`"2023-11-14T22:13:20.004Z"`, time.UnixMilli(1700000000004)},
	}
	for _, tt := range tests {
		var got Timestamp
		if err := json.Unmarshal([]byte(tt.json), &got); err != nil {
			t.Errorf("%s: %v", tt.json, err)
			continue
		}
		if !time.Time(got).Equal(tt.want) {
			t.Errorf("%s reads as %v, want %v", tt.json, time.Time(got), tt.want)
		}
	}
}

// TestTimestampOutOfRange: a number no time.Time can be written back for is
// refused instead of read as some other time.
func TestTimestampOutOfRange(t *testing.T) {
	for _, in := range []string{`1e15`, `-1e12`, `1e300`, `-62135596801`, `253402300800`} {
		var got Timestamp
		if err := json.Unmarshal([]byte(in), &got); err == nil {
			t.Errorf("%s read as %v, want an error", in, time.Time(got))
		}
	}
	for _, in := range []string{`-62135596800`, `253402300799`} {
		var got Timestamp
		if err := json.Unmarshal([]byte(in), &got); err != nil {
			t.Errorf("%s: %v", in, err)
		} else if _, err := json.Marshal(got); err != nil {
			t.Errorf("%s reads as a time that cannot be written: %v", in, err)
		}
	}
}
