// Package dynamo is the implementation of store.Store on one DynamoDB table
// (AWS SDK for Go v2). The table's design, every key and index and the access
// pattern each serves, is written in the README ("DynamoDB store") and
// declared once in table.go.
//
// Concurrency: every versioned record is written with a condition on its
// stored version (conditional Put), and records that change together are
// written in one TransactWriteItems. Reads that a write depends on are
// strongly consistent; the global secondary indexes are eventually
// consistent (listings, polling, deadlines), which the README lists.
//
// Storage conventions: an execution or job is its JSON (the execution's
// gzipped), so new fields of the engine's records need no change here;
// what listings filter and sort on is copied into attributes beside it.
// Times in attributes are unix nanoseconds (0 for the zero time). Large
// write-once values (pipeline declarations, snapshots, ended action runs)
// are split over items of their own (blob.go), so that DynamoDB's 400 KB
// item limit caps no pipeline.
package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

var _ store.Store = (*Store)(nil)

// defaultLimit is the page size when Page.Limit ≤ 0.
const defaultLimit = 100

// DefaultJobRetention is how long a finished job stays readable.
const DefaultJobRetention = 7 * 24 * time.Hour

// Store is a store.Store kept in one DynamoDB table.
type Store struct {
	c            *dynamodb.Client
	table        *string
	now          func() time.Time
	jobRetention time.Duration
	cache        *metaCache
}

// Options configure New.
type Options struct {
	Table string // required
	// JobRetention is how long a finished job (Succeeded, Failed,
	// TimedOut) is kept: its TTL. 0 means DefaultJobRetention.
	JobRetention time.Duration
	// Now is the clock for TTLs and their filtering (time.Now when nil).
	Now func() time.Time
}

// New returns a store on the table of o, which must exist (CreateTable).
func New(c *dynamodb.Client, o Options) (*Store, error) {
	if c == nil || o.Table == "" {
		return nil, errors.New("dynamo store: a client and a table name are required")
	}
	if o.JobRetention <= 0 {
		o.JobRetention = DefaultJobRetention
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Store{c: c, table: aws.String(o.Table), now: o.Now, jobRetention: o.JobRetention, cache: newMetaCache(4096)}, nil
}

// Close releases nothing: the client is the caller's.
func (s *Store) Close() error { return nil }

// ClientOptions configure NewClient.
type ClientOptions struct {
	// Endpoint overrides DynamoDB's (DynamoDB Local in tests).
	Endpoint string
	Region   string // the environment's when empty
	// Static credentials; the default chain when AccessKeyID is empty.
	AccessKeyID, SecretAccessKey string
}

// MaxAttempts is how many times the SDK tries a request that fails with a
// throttling or transient error, with its exponential backoff and jitter.
const MaxAttempts = 10

// NewClient returns a DynamoDB client whose retryer is the SDK's standard one,
// with more attempts and no client-side retry quota: throttling is retried
// with backoff instead of failing once a burst drained the quota.
func NewClient(ctx context.Context, o ClientOptions) (*dynamodb.Client, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = MaxAttempts
				so.MaxBackoff = 20 * time.Second
				so.RateLimiter = ratelimit.None
			})
		}),
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("dynamo store: loading the AWS configuration: %w", err)
	}
	return dynamodb.NewFromConfig(cfg, func(do *dynamodb.Options) {
		// The SDK checks DynamoDB's CRC32 of a response as its body is
		// closed, and an error response's body is read past the check: every
		// failed condition (ordinary here) logs a false "did not match
		// expected checksum" warning. Responses come over TLS, which guards
		// their integrity already.
		do.DisableValidateResponseChecksum = true
		if o.Endpoint != "" {
			do.BaseEndpoint = aws.String(o.Endpoint)
		}
	}), nil
}

// ---------------------------------------------------------------------------
// Keys

// key joins the parts of a key with '#', escaping '%' and '#' in each part,
// so that no value can spell another key.
func key(parts ...string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('#')
		}
		for j := 0; j < len(p); j++ {
			switch p[j] {
			case '%':
				b.WriteString("%25")
			case '#':
				b.WriteString("%23")
			default:
				b.WriteByte(p[j])
			}
		}
	}
	return b.String()
}

// unkey undoes key for a key of one part after a prefix.
func unkey(k, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(k, prefix+"#")
	if !ok {
		return "", false
	}
	return strings.NewReplacer("%23", "#", "%25", "%").Replace(rest), true
}

// ord is n as a fixed-width string that sorts as n does.
func ord(n int64) string { return fmt.Sprintf("%016x", uint64(n)^(1<<63)) }

// seq is a small non-negative number as a string that sorts as it does.
func seq(n int) string { return fmt.Sprintf("%06d", n) }

// ---------------------------------------------------------------------------
// Attribute values

type item = map[string]types.AttributeValue

func sv(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func nv(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
func bv(b []byte) types.AttributeValue { return &types.AttributeValueMemberB{Value: b} }

func getS(it item, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getN(it item, name string) int64 {
	if v, ok := it[name].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return 0
}

func getB(it item, name string) []byte {
	if v, ok := it[name].(*types.AttributeValueMemberB); ok {
		return v.Value
	}
	return nil
}

func keyOf(pk, sk string) item { return item{attrPK: sv(pk), attrSK: sv(sk)} }

// ---------------------------------------------------------------------------
// Errors

// conditionFailed reports whether err is a failed condition of a single write.
func conditionFailed(err error) bool {
	var e *types.ConditionalCheckFailedException
	return errors.As(err, &e)
}

// cancelReasons returns the reason codes of a cancelled transaction, one per
// item ("None", "ConditionalCheckFailed", "TransactionConflict", …).
func cancelReasons(err error) ([]string, bool) {
	var e *types.TransactionCanceledException
	if !errors.As(err, &e) {
		return nil, false
	}
	codes := make([]string, len(e.CancellationReasons))
	for i, r := range e.CancellationReasons {
		codes[i] = aws.ToString(r.Code)
	}
	return codes, true
}

// conflictOf maps a transaction that another transaction got in the way of
// to Conflict (the caller reads again and retries, as after a stale write).
func conflictOf(err error, kind errs.Kind, what string) error {
	var e *types.TransactionConflictException
	if errors.As(err, &e) {
		return errs.Of(errs.Conflict, kind, "%s: another write was in progress", what)
	}
	if codes, ok := cancelReasons(err); ok {
		for _, c := range codes {
			if c == "TransactionConflict" {
				return errs.Of(errs.Conflict, kind, "%s: another write was in progress", what)
			}
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Page tokens

// pageToken is what a NextToken holds: the listing it belongs to (kind and
// filter) and where the next page starts. It is encoded as base64url JSON;
// decoding checks that it belongs to the listing asked for, and keys are
// built from the listing's own values, so a forged token can only move
// within that listing.
type pageToken struct {
	Kind   string `json:"k"`
	Filter string `json:"f,omitempty"`
	Name   string `json:"n,omitempty"` // a pipeline's name, an execution's ID
	Start  int64  `json:"s,omitempty"` // an execution's start
}

func encodeToken(t pageToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s, kind, filter string) (pageToken, error) {
	invalid := errs.Of(errs.Validation, errs.KindNextToken, "invalid nextToken")
	var t pageToken
	if len(s) > 4096 {
		return t, invalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(raw, &t) != nil {
		return t, invalid
	}
	if t.Kind != kind || t.Filter != filter || t.Name == "" || !utf8.ValidString(t.Name) || len(t.Name) > 1024 {
		return pageToken{}, invalid
	}
	return t, nil
}

func limitOf(p store.Page) int {
	if p.Limit <= 0 {
		return defaultLimit
	}
	return p.Limit
}

// ---------------------------------------------------------------------------
// Reading helpers

// queryAll runs a query to its end, handing each item to fn; fn returning
// false stops it.
func (s *Store) queryAll(ctx context.Context, in *dynamodb.QueryInput, fn func(item) (bool, error)) error {
	in.TableName = s.table
	p := dynamodb.NewQueryPaginator(s.c, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, it := range out.Items {
			more, err := fn(it)
			if err != nil || !more {
				return err
			}
		}
	}
	return nil
}

// partition queries the items of a partition whose sort keys lie in
// [from, to] ("" means no bound; both or to alone), strongly consistent.
func (s *Store) partition(ctx context.Context, pk, from, to string, project []string, fn func(item) (bool, error)) error {
	in := &dynamodb.QueryInput{ConsistentRead: aws.Bool(true), ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK}}
	vals := item{":pk": sv(pk)}
	cond := "#pk = :pk"
	switch {
	case from != "" && to != "":
		cond += " AND #sk BETWEEN :from AND :to"
		vals[":from"], vals[":to"] = sv(from), sv(to)
	case from != "":
		cond += " AND #sk >= :from"
		vals[":from"] = sv(from)
	default:
		delete(in.ExpressionAttributeNames, "#sk")
	}
	in.KeyConditionExpression = aws.String(cond)
	in.ExpressionAttributeValues = vals
	if len(project) > 0 {
		names := make([]string, len(project))
		for i, p := range project {
			n := "#p" + strconv.Itoa(i)
			in.ExpressionAttributeNames[n] = p
			names[i] = n
		}
		in.ProjectionExpression = aws.String(strings.Join(names, ", "))
	}
	return s.queryAll(ctx, in, fn)
}

// getItem reads one item, strongly consistent; nil when absent.
func (s *Store) getItem(ctx context.Context, pk, sk string) (item, error) {
	out, err := s.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.table, Key: keyOf(pk, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// transact writes the items in one transaction.
func (s *Store) transact(ctx context.Context, items []types.TransactWriteItem) error {
	_, err := s.c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	return err
}

// maxTransactItems is DynamoDB's limit of items in one transaction.
const maxTransactItems = 100

// writeLoose writes puts and deletes that need no atomicity together, in
// transactions of up to maxTransactItems (each retried by the SDK).
func (s *Store) writeLoose(ctx context.Context, items []types.TransactWriteItem) error {
	for len(items) > 0 {
		n := min(len(items), maxTransactItems)
		if err := s.transact(ctx, items[:n]); err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}

func (s *Store) put(it item) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{TableName: s.table, Item: it}}
}

func (s *Store) del(pk, sk string) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{TableName: s.table, Key: keyOf(pk, sk)}}
}

// exprNames are the placeholders conditions use for attribute names (some,
// like ttl and status, are reserved words).
var exprNames = map[string]string{"#pk": attrPK, "#v": aVersion, "#ttl": attrTTL, "#s": aStatus}

// namesOf returns the placeholders of exprNames that expr uses.
func namesOf(expr string) map[string]string {
	m := map[string]string{}
	for n, a := range exprNames {
		if strings.Contains(expr, n) {
			m[n] = a
		}
	}
	return m
}

// Attribute names of records.
const (
	aName            = "name"
	aVersion         = "ver"
	aPipelineType    = "ptype"
	aMode            = "mode"
	aCreated         = "created"
	aUpdated         = "updated"
	aTags            = "tags"
	aBlob            = "b"
	aParts           = "parts"
	aExecID          = "eid"
	aPipelineName    = "pname"
	aPipelineVersion = "pver"
	aStatus          = "status"
	aStatusSummary   = "summary"
	aTriggerType     = "ttype"
	aTriggerDetail   = "tdetail"
	aClientToken     = "crt"
	aStart           = "start"
	aLastUpdate      = "lupd"
	aBody            = "body"
	aRuns            = "nruns"
	aMoved           = "moved"
	aSnapshotParts   = "snap"
	aDefinition      = "def"
	aValue           = "v"
	aTypeKey         = "tkey"
)
