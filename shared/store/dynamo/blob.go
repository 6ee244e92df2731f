package dynamo

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"sync"
)

// errTorn marks a read that found some items of a write and not others
// (see GetExecution).
var errTorn = errors.New("some of its items are missing")

// partSize is the most bytes of a value one item holds: DynamoDB's item
// limit is 400 KB, names and keys included, and a transaction's 4 MB.
const partSize = 350_000

// maxInflated bounds what a stored value may inflate to.
const maxInflated = 256 << 20

var gzPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return w }}

// compress gzips b.
func compress(b []byte) []byte {
	var buf bytes.Buffer
	w := gzPool.Get().(*gzip.Writer)
	w.Reset(&buf)
	_, _ = w.Write(b)
	_ = w.Close()
	gzPool.Put(w)
	return buf.Bytes()
}

// inflate undoes compress.
func inflate(b []byte) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(r, maxInflated+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxInflated {
		return nil, errors.New("stored value inflates past its limit")
	}
	return out, nil
}

// blobItems splits a compressed value into items of the partition pk with
// sort keys prefix+seq(i), each holding at most partSize bytes of it in
// aBlob. The first item also gets the attributes of first and the number of
// parts (aParts).
func blobItems(pk, prefix string, data []byte, first item) []item {
	n := max(1, (len(data)+partSize-1)/partSize)
	out := make([]item, n)
	for i := range n {
		it := item{attrPK: sv(pk), attrSK: sv(prefix + seq(i)), aBlob: bv(data[i*partSize : min(len(data), (i+1)*partSize)])}
		if i == 0 {
			for k, v := range first {
				it[k] = v
			}
			it[aParts] = nv(int64(n))
		}
		out[i] = it
	}
	return out
}

// joinBlob reassembles a value from its items in sort-key order (as a query
// returns them), checking that every part is there.
func joinBlob(items []item) ([]byte, error) {
	if len(items) == 0 {
		return nil, fmt.Errorf("stored value has no parts: %w", errTorn)
	}
	n := getN(items[0], aParts)
	if n != int64(len(items)) {
		return nil, fmt.Errorf("stored value has %d parts, want %d: %w", len(items), n, errTorn)
	}
	var buf bytes.Buffer
	for _, it := range items {
		buf.Write(getB(it, aBlob))
	}
	return inflate(buf.Bytes())
}
