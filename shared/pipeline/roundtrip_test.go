package pipeline

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// jsonValue decodes a JSON document into a generic value, numbers kept as
// written so that no precision is lost in the comparison.
func jsonValue(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// roundTrip loads a document, marshals it again and reports whether both
// are the same JSON value.
func roundTrip(t *testing.T, data []byte) {
	t.Helper()
	doc, err := Load(data)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	in, err := jsonValue(data)
	if err != nil {
		t.Fatal(err)
	}
	again, err := jsonValue(out)
	if err != nil {
		t.Fatalf("Marshal wrote invalid JSON: %v", err)
	}
	if !reflect.DeepEqual(in, again) {
		t.Errorf("round trip changed the document:\n in: %s\nout: %s", compact(data), out)
	}
}

func compact(data []byte) string {
	var b bytes.Buffer
	if json.Compact(&b, data) != nil {
		return string(data)
	}
	return b.String()
}

func TestRoundTrip(t *testing.T) {
	dirs := []struct {
		name, glob string
		mustExist  bool
	}{
		{"shared testdata", "../../../shared/testdata/*.json", false},
		{"examples", "../../examples/*.json", false},
		{"valid testdata", "testdata/valid/*.json", true},
	}
	for _, d := range dirs {
		t.Run(d.name, func(t *testing.T) {
			if _, err := os.Stat(filepath.Dir(d.glob)); err != nil && !d.mustExist {
				t.Skipf("%s is absent in this environment", filepath.Dir(d.glob))
			}
			files, err := filepath.Glob(d.glob)
			if err != nil {
				t.Fatal(err)
			}
			if len(files) == 0 {
				if d.mustExist {
					t.Fatalf("no files match %s", d.glob)
				}
				t.Skipf("no files match %s yet", d.glob)
			}
			for _, f := range files {
				t.Run(filepath.Base(f), func(t *testing.T) {
					data, err := os.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					roundTrip(t, data)
				})
			}
		})
	}
}
