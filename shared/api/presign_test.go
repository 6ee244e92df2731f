package api_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestJobCredentialsPresigned: a job worker's artifact credentials presign
// URLs with the AWS SDK's presign client that a running server's S3 door
// honours for the job's own objects (GET of its input, PUT of its output),
// refuses for another job's object, and refuses once expired.
func TestJobCredentialsPresigned(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, _, _, jobs := jobCredsServer(t, ctx)
	a, b := jobs["alpha"], jobs["beta"]
	pc := awss3.NewPresignClient(jobClient(srv, a), awss3.WithPresignExpires(10*time.Minute))
	presigned := func(p *v4.PresignedHTTPRequest, err error) *v4.PresignedHTTPRequest {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	send := func(p *v4.PresignedHTTPRequest, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, p.Method, p.URL, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body == "" {
			req.Body, req.ContentLength = http.NoBody, 0
		}
		for k, v := range p.SignedHeader {
			if !strings.EqualFold(k, "Host") {
				req.Header[k] = v
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(got)
	}
	getIn := presigned(pc.PresignGetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(a.bucket), Key: aws.String(a.in)}))
	putOut := presigned(pc.PresignPutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(a.bucket), Key: aws.String(a.out)}))
	getOther := presigned(pc.PresignGetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.in)}))

	if status, body := send(getIn, ""); status != 200 || len(body) == 0 {
		t.Errorf("presigned GET of the job's input: %d %s", status, body)
	}
	if status, body := send(putOut, "alpha output, presigned"); status != 200 {
		t.Errorf("presigned PUT of the job's output: %d %s", status, body)
	}
	if got, err := os.ReadFile(filepath.Join(srv.System.Artifacts.Root, filepath.FromSlash(a.out))); err != nil || string(got) != "alpha output, presigned" {
		t.Errorf("the output holds %q, %v", got, err)
	}
	if status, body := send(getOther, ""); status != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
		t.Errorf("presigned GET of another job's input: %d %s", status, body)
	}
	tampered := *getIn
	tampered.URL = strings.Replace(getIn.URL, "X-Amz-Expires=600", "X-Amz-Expires=6000", 1)
	if tampered.URL == getIn.URL {
		t.Fatalf("no X-Amz-Expires=600 in %s", getIn.URL)
	}
	if status, body := send(&tampered, ""); status != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
		t.Errorf("presigned GET with a longer expiry: %d %s", status, body)
	}
	// A URL signed two hours ago for one hour (the SDK's presign client
	// signs at the wall clock, so its signer signs this one).
	old, _ := http.NewRequest(http.MethodGet, srv.URL+"/"+a.bucket+"/"+a.in+"?X-Amz-Expires=3600", nil)
	u, hdr, err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).PresignHTTP(ctx,
		aws.Credentials{AccessKeyID: aws.ToString(a.creds.AccessKeyId), SecretAccessKey: aws.ToString(a.creds.SecretAccessKey), SessionToken: aws.ToString(a.creds.SessionToken)},
		old, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now().Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if status, body := send(&v4.PresignedHTTPRequest{URL: u, Method: http.MethodGet, SignedHeader: hdr}, ""); status != 403 || !strings.Contains(body, "<Message>Request has expired</Message>") {
		t.Errorf("expired presigned GET: %d %s", status, body)
	}
}
