// Package consoleui holds the web console's assets: plain HTML, CSS and
// JavaScript modules, embedded in the binary and served as they are (no
// bundler, no framework, no third-party code). It knows nothing of the
// domain; shared/api serves the assets under the console's path with the
// console's security headers, and the pages talk only to the REST door.
package consoleui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"
	"sort"
)

//go:embed static
var static embed.FS

// Index is the name of the console's page, the one HTML document: the
// modules it loads route between the views (the URL's fragment names the
// view, so every view has a deep link).
const Index = "index.html"

// Asset is one embedded file.
type Asset struct {
	Name        string
	Content     []byte
	ContentType string
	// ETag is a strong entity tag of the content.
	ETag string
}

var assets = func() map[string]Asset {
	out := map[string]Asset{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		name := p[len("static/"):]
		sum := sha256.Sum256(b)
		out[name] = Asset{Name: name, Content: b, ContentType: contentType(name), ETag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		panic("consoleui: reading the embedded assets: " + err.Error())
	}
	return out
}()

// contentType is the type an asset is served with: only the kinds the
// console ships, so that no file is ever sniffed.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Lookup returns the asset of a name relative to the assets' root
// ("app.js"). Only names of embedded files are found: nothing a request
// names can lead outside them.
func Lookup(name string) (Asset, bool) {
	a, ok := assets[name]
	return a, ok
}

// Names lists the assets' names, sorted.
func Names() []string {
	out := make([]string, 0, len(assets))
	for n := range assets {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
