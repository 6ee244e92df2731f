package sigv4

import (
	"net/http"
	"net/textproto"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// CanonicalRequest is SigV4's canonical request of r for the signed
// headers, a canonical query string and a payload hash:
//
//	method \n canonical URI \n canonical query \n canonical headers \n signed headers \n payload hash
//
// The canonical URI is the path as the client sent it, URI-encoded once
// more (AWS's services other than S3 encode each path segment twice);
// the canonical headers are the signed ones, lower-case, with their values
// trimmed and inner runs of spaces made one.
//
// With singleEncoded (S3's rule) the canonical URI is the path as sent.
func CanonicalRequest(r *http.Request, signed []string, canonicalQuery, payloadHash string, singleEncoded bool) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	if singleEncoded {
		b.WriteString(RequestPath(r))
	} else {
		b.WriteString(escape(RequestPath(r), false))
	}
	b.WriteByte('\n')
	b.WriteString(canonicalQuery)
	b.WriteByte('\n')
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(headerValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// RequestPath is r's path exactly as the client sent it (still escaped),
// "/" when empty.
func RequestPath(r *http.Request) string {
	uri := r.RequestURI
	if uri == "" {
		if p := r.URL.EscapedPath(); p != "" {
			return p
		}
		return "/"
	}
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	if !strings.HasPrefix(uri, "/") {
		// An absolute-form request target: scheme://host/path.
		if u, err := url.Parse(uri); err == nil {
			uri = u.EscapedPath()
		}
	}
	if uri == "" {
		return "/"
	}
	return uri
}

func headerValue(r *http.Request, name string) string {
	var values []string
	switch name {
	case "host":
		values = []string{r.Host}
	default:
		values = r.Header[textproto.CanonicalMIMEHeaderKey(name)]
		if name == "content-length" && len(values) == 0 && r.ContentLength >= 0 {
			values = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	}
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(out, ",")
}

// canonicalQuery is the canonical query string of a raw query: every
// parameter (but skip) name and value decoded, then URI-encoded, sorted by
// name and then value, joined with &. A parameter that does not decode
// keeps its raw text (the signature then does not match).
func canonicalQuery(raw, skip string) string {
	if raw == "" {
		return ""
	}
	type kv struct{ k, v string }
	var params []kv
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		if skip != "" && k == skip {
			continue
		}
		params = append(params, kv{escape(k, true), escape(v, true)})
	}
	sort.Slice(params, func(i, j int) bool {
		if params[i].k != params[j].k {
			return params[i].k < params[j].k
		}
		return params[i].v < params[j].v
	})
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// escape URI-encodes s as SigV4 does: every byte but the unreserved
// characters (A-Z a-z 0-9 - _ . ~) as %XX in upper case; a slash too when
// slash is true.
func escape(s string, slash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !slash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}
