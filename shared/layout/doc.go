// Package layout holds no code: its test enforces the import rules of the
// project's layout (README, "Import rules") on the packages `go list`
// reports, so that a change breaking them fails `make test`.
package layout
