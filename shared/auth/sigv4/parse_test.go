package sigv4

import (
	"strings"
	"testing"
)

func TestParseAuthorization(t *testing.T) {
	sig := strings.Repeat("ab", 32)
	good := "AWS4-HMAC-SHA256 Credential=AKID1/20260304/us-east-1/codepipeline/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + sig
	a, err := ParseAuthorization(good)
	if err != nil {
		t.Fatal(err)
	}
	want := Scope{AccessKeyID: "AKID1", Date: "20260304", Region: "us-east-1", Service: "codepipeline"}
	if a.Credential != want || strings.Join(a.SignedHeaders, ";") != "host;x-amz-date;x-amz-target" || a.Signature != sig {
		t.Fatalf("parsed %+v", a)
	}
	if a.Credential.String() != "20260304/us-east-1/codepipeline/aws4_request" {
		t.Fatalf("scope %q", a.Credential.String())
	}
	tests := []struct {
		name, header string
		want         Kind
	}{
		{"empty", "", Missing},
		{"another algorithm", "AWS4-HMAC-SHA512 Credential=x", Unsupported},
		{"basic", "Basic YTpi", Unsupported},
		{"no fields", "AWS4-HMAC-SHA256 ", Malformed},
		{"missing signature", strings.Replace(good, ", Signature="+sig, "", 1), Malformed},
		{"field twice", good + ", Signature=" + sig, Malformed},
		{"unknown field", good + ", Extra=1", Malformed},
		{"short scope", strings.Replace(good, "/codepipeline/aws4_request", "/aws4_request", 1), Malformed},
		{"wrong terminator", strings.Replace(good, "aws4_request", "aws5_request", 1), Malformed},
		{"bad key id", strings.Replace(good, "AKID1", "AK/ID", 1), Malformed},
		{"bad date", strings.Replace(good, "20260304", "20261340", 1), Malformed},
		{"upper-case header", strings.Replace(good, "x-amz-date", "X-Amz-Date", 1), Malformed},
		{"unsorted headers", strings.Replace(good, "host;x-amz-date", "x-amz-date;host", 1), Malformed},
		{"repeated header", strings.Replace(good, "host;x-amz-date", "host;host;x-amz-date", 1), Malformed},
		{"short signature", strings.Replace(good, sig, "abcd", 1), Malformed},
		{"upper-case signature", strings.Replace(good, sig, strings.ToUpper(sig), 1), Malformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseAuthorization(tt.header)
			if KindOf(err) != tt.want {
				t.Fatalf("err %v (kind %v), want %v", err, KindOf(err), tt.want)
			}
		})
	}
}

func TestEscape(t *testing.T) {
	tests := []struct {
		in    string
		slash bool
		want  string
	}{
		{"AZaz09-_.~", true, "AZaz09-_.~"},
		{"a b+c=d&e/f", true, "a%20b%2Bc%3Dd%26e%2Ff"},
		{"/a b/%20/é", false, "/a%20b/%2520/%C3%A9"},
	}
	for _, tt := range tests {
		if got := escape(tt.in, tt.slash); got != tt.want {
			t.Errorf("escape(%q, %v) = %q, want %q", tt.in, tt.slash, got, tt.want)
		}
	}
	if got := canonicalQuery("b=2&a=1&a=0&c&x+y=%2B", ""); got != "a=0&a=1&b=2&c=&x%20y=%2B" {
		t.Errorf("canonicalQuery = %q", got)
	}
	if got := canonicalQuery("X-Amz-Signature=ab&X-Amz-Date=1", "X-Amz-Signature"); got != "X-Amz-Date=1" {
		t.Errorf("canonicalQuery skipping = %q", got)
	}
}
