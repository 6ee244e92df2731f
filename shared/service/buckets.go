package service

import (
	"context"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

// Buckets are S3 buckets at other S3-compatible endpoints that S3 source
// actions read from: the endpoint and its credentials under the bucket's
// name, kept as connection records of the kind store.KindBucket (the
// secret access key sealed like a connection's token). Like connections,
// the operations are stageflow: ones that go with the server's keys.
const (
	OpCreateBucket Operation = "stageflow:CreateBucket"
	OpGetBucket    Operation = "stageflow:GetBucket"
	OpListBuckets  Operation = "stageflow:ListBuckets"
	OpDeleteBucket Operation = "stageflow:DeleteBucket"
)

// BucketOperations lists the operations of buckets (part of Operations).
func BucketOperations() []Operation {
	return []Operation{OpCreateBucket, OpGetBucket, OpListBuckets, OpDeleteBucket}
}

// Limits of a bucket's credentials.
const (
	MaxAccessKeyID     = 128
	MaxSecretAccessKey = 1024
)

var (
	bucketNameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	regionRE        = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)
	s3AccessKeyIDRE = regexp.MustCompile(`^[A-Za-z0-9._+=/-]+$`)
)

// The query parameters of a bucket's stored remote that carry its region
// and addressing (no schema change: the remote is the endpoint).
const (
	bucketRegionParam    = "region"
	bucketPathStyleParam = "path-style"
)

// CreateBucketInput asks for a bucket at another endpoint.
type CreateBucketInput struct {
	Name            string `json:"name"`
	Endpoint        string `json:"endpoint"`
	Region          string `json:"region,omitempty"`
	PathStyle       bool   `json:"pathStyle,omitempty"`
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

// Bucket describes a bucket, never its secret access key.
type Bucket struct {
	Arn          string    `json:"arn"`
	Name         string    `json:"name"`
	Endpoint     string    `json:"endpoint"`
	Region       string    `json:"region"`
	PathStyle    bool      `json:"pathStyle"`
	AccessKeyID  string    `json:"accessKeyId"`
	HasSecretKey bool      `json:"hasSecretAccessKey"`
	Created      time.Time `json:"created"`
}

// S3Remote is where a bucket is read from and how (secret opened).
type S3Remote struct {
	Bucket, Endpoint, Region string
	PathStyle                bool
	AccessKeyID              string
	SecretAccessKey          string
}

// BucketArn is a bucket's ARN, in S3's format.
func BucketArn(name string) string { return "arn:aws:s3:::" + name }

// CheckBucketName checks S3's rules for a bucket's name (general purpose
// buckets): 3 to 63 lowercase letters, digits, dots and hyphens, starting
// and ending with a letter or digit, no two dots in a row, not an IP
// address, none of S3's reserved prefixes and suffixes.
func CheckBucketName(name string) error {
	bad := func(why string) error {
		return errs.Of(errs.Validation, errs.KindResource, "bucket name %q: %s", truncate(name, 80), why)
	}
	switch {
	case !bucketNameRE.MatchString(name):
		return bad("3 to 63 lowercase letters, digits, . and -, starting and ending with a letter or digit")
	case strings.Contains(name, ".."):
		return bad("two dots in a row")
	case net.ParseIP(name) != nil:
		return bad("formatted as an IP address")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return bad("starts with the reserved prefix " + p)
		}
	}
	for _, sfx := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, sfx) {
			return bad("ends with the reserved suffix " + sfx)
		}
	}
	return nil
}

// CheckEndpoint checks an S3 endpoint: an https:// URL, or http:// only to
// a loopback host (a local MinIO or test server), since over plain HTTP
// the objects, and the signed requests that could be replayed, cross the
// network in the clear. No credentials, query or fragment in it.
func CheckEndpoint(endpoint string) error {
	bad := func(format string, a ...any) error {
		return errs.Of(errs.Validation, errs.KindResource, "endpoint: "+format, a...)
	}
	if endpoint == "" {
		return bad("required: the https:// URL of an S3-compatible endpoint")
	}
	if len(endpoint) > MaxRemote || strings.IndexFunc(endpoint, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0 {
		return bad("at most %d characters, without spaces or control characters", MaxRemote)
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return bad("%q is not a URL: %v", truncate(endpoint, 80), err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return bad("%q: use an https:// URL", truncate(endpoint, 80))
	case u.Host == "" || u.Hostname() == "":
		return bad("%q has no host", truncate(endpoint, 80))
	case u.User != nil:
		return bad("holds credentials: give the access key ID and secret on their own")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return bad("an endpoint URL has no query or fragment")
	case u.Scheme == "http" && !IsLoopbackHost(u.Hostname()):
		return bad("http:// only to a loopback host (127.0.0.1, ::1, localhost): elsewhere use https://, or the objects cross the network in the clear")
	}
	return nil
}

// IsLoopbackHost tells whether a URL's host name is this machine's own:
// localhost or a loopback address.
func IsLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkBucketInput(in CreateBucketInput) error {
	bad := func(format string, a ...any) error { return errs.Of(errs.Validation, errs.KindResource, format, a...) }
	if err := CheckBucketName(in.Name); err != nil {
		return err
	}
	if err := CheckEndpoint(in.Endpoint); err != nil {
		return err
	}
	switch {
	case in.Region != "" && !regionRE.MatchString(in.Region):
		return bad("region: %q is not a region name (lowercase letters, digits and -)", truncate(in.Region, 80))
	case in.AccessKeyID == "" || len(in.AccessKeyID) > MaxAccessKeyID || !s3AccessKeyIDRE.MatchString(in.AccessKeyID):
		return bad("accessKeyId: required, at most %d letters, digits and ._+=/-", MaxAccessKeyID)
	case in.SecretAccessKey == "" || len(in.SecretAccessKey) > MaxSecretAccessKey ||
		strings.IndexFunc(in.SecretAccessKey, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0:
		return bad("secretAccessKey: required, at most %d characters without spaces", MaxSecretAccessKey)
	}
	return nil
}

// bucketRemote is the stored remote: the endpoint with the region and
// path-style in its query.
func bucketRemote(in CreateBucketInput) string {
	q := url.Values{}
	if in.Region != "" {
		q.Set(bucketRegionParam, in.Region)
	}
	if in.PathStyle {
		q.Set(bucketPathStyleParam, "true")
	}
	if len(q) == 0 {
		return in.Endpoint
	}
	return in.Endpoint + "?" + q.Encode()
}

// splitBucketRemote reads the stored remote back; the region defaults to
// DefaultBucketRegion.
func splitBucketRemote(remote string) (endpoint, region string, pathStyle bool) {
	endpoint, query, _ := strings.Cut(remote, "?")
	q, _ := url.ParseQuery(query)
	region = q.Get(bucketRegionParam)
	if region == "" {
		region = DefaultBucketRegion
	}
	return endpoint, region, q.Get(bucketPathStyleParam) == "true"
}

// DefaultBucketRegion signs requests to an endpoint created without a
// region (what most S3-compatible servers accept).
const DefaultBucketRegion = "us-east-1"

func describeBucket(c *store.Connection) Bucket {
	endpoint, region, pathStyle := splitBucketRemote(c.Remote)
	return Bucket{Arn: BucketArn(c.ID), Name: c.ID, Endpoint: endpoint, Region: region, PathStyle: pathStyle,
		AccessKeyID: c.Username, HasSecretKey: len(c.Token) > 0, Created: c.Created}
}

// CreateBucket records a bucket at another endpoint with its credentials.
func (s *Service) CreateBucket(ctx context.Context, in CreateBucketInput) (*Bucket, error) {
	cs, err := s.connStore()
	if err != nil {
		return nil, err
	}
	if err := checkBucketInput(in); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, OpCreateBucket, BucketArn(in.Name)); err != nil {
		return nil, err
	}
	c := &store.Connection{Kind: store.KindBucket, ID: in.Name, Name: in.Name, Remote: bucketRemote(in),
		Username: in.AccessKeyID, Created: s.now()}
	if c.Token, err = s.sealField(store.KindBucket, c.ID, "token", []byte(in.SecretAccessKey)); err != nil {
		return nil, err
	}
	if err := cs.CreateConnection(ctx, c); err != nil {
		return nil, err
	}
	b := describeBucket(c)
	return &b, nil
}

// GetBucket describes a bucket.
func (s *Service) GetBucket(ctx context.Context, name string) (*Bucket, error) {
	cs, err := s.connStore()
	if err != nil {
		return nil, err
	}
	if err := CheckBucketName(name); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, OpGetBucket, BucketArn(name)); err != nil {
		return nil, err
	}
	c, err := cs.GetConnection(ctx, store.KindBucket, name)
	if err != nil {
		return nil, err
	}
	b := describeBucket(c)
	return &b, nil
}

// ListBuckets lists the buckets, oldest first, without secrets.
func (s *Service) ListBuckets(ctx context.Context) ([]Bucket, error) {
	cs, err := s.connStore()
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, OpListBuckets, AllResources); err != nil {
		return nil, err
	}
	all, err := cs.ListConnections(ctx, store.KindBucket)
	if err != nil {
		return nil, err
	}
	out := make([]Bucket, len(all))
	for i := range all {
		out[i] = describeBucket(&all[i])
	}
	return out, nil
}

// DeleteBucket forgets a bucket (the bucket itself is not touched).
func (s *Service) DeleteBucket(ctx context.Context, name string) error {
	cs, err := s.connStore()
	if err != nil {
		return err
	}
	if err := CheckBucketName(name); err != nil {
		return err
	}
	if err := s.authorize(ctx, OpDeleteBucket, BucketArn(name)); err != nil {
		return err
	}
	return cs.DeleteConnection(ctx, store.KindBucket, name)
}

// BucketRemote returns where an S3 source action reads bucket from, its
// secret opened: NotFound when no such bucket is recorded. Like
// ConnectionRemote it serves the server's own parts and asks the
// authorization hook nothing.
func (s *Service) BucketRemote(ctx context.Context, bucket string) (S3Remote, error) {
	cs, err := s.connStore()
	if err != nil {
		return S3Remote{}, err
	}
	if err := CheckBucketName(bucket); err != nil {
		return S3Remote{}, err
	}
	c, err := cs.GetConnection(ctx, store.KindBucket, bucket)
	if err != nil {
		return S3Remote{}, err
	}
	secret, err := s.openField(store.KindBucket, bucket, "token", c.Token)
	if err != nil {
		return S3Remote{}, err
	}
	endpoint, region, pathStyle := splitBucketRemote(c.Remote)
	return S3Remote{Bucket: bucket, Endpoint: endpoint, Region: region, PathStyle: pathStyle,
		AccessKeyID: c.Username, SecretAccessKey: string(secret)}, nil
}
