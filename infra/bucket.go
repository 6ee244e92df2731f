package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// newArtifactBucket declares the bucket of the pipelines' artifacts
// (<pipeline>/<execution>/<artifact>.zip): encrypted with S3-managed keys,
// TLS only, every public access blocked, ACLs off, incomplete multipart
// uploads aborted after a day and artifacts expired after the configured
// number of days.
func newArtifactBucket(scope constructs.Construct, cfg Config) awss3.Bucket {
	rules := []*awss3.LifecycleRule{{
		Id:                                  jsii.String("abort-incomplete-uploads"),
		AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
	}}
	if cfg.ArtifactExpirationDays > 0 {
		rules = append(rules, &awss3.LifecycleRule{
			Id:         jsii.String("expire-artifacts"),
			Expiration: awscdk.Duration_Days(jsii.Number(float64(cfg.ArtifactExpirationDays))),
		})
	}
	removal := awscdk.RemovalPolicy_DESTROY
	if cfg.DeletionProtection {
		removal = awscdk.RemovalPolicy_RETAIN
	}
	return awss3.NewBucket(scope, jsii.String("Artifacts"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		LifecycleRules:    &rules,
		RemovalPolicy:     removal,
	})
}

// artifactObjectActions are what a job does with its artifacts, as the
// local S3 door allows them: read its inputs (GetObject, HeadObject, the
// source of a copy), write its outputs (PutObject, multipart uploads, the
// destination of a copy) and delete them.
var artifactObjectActions = []string{
	"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
}

// newArtifactRole declares the role whose sessions become jobs'
// artifactCredentials. Only the api function (assumer) may assume it; the
// role reaches the bucket's objects, and each session is meant to be
// narrowed by a session policy to one job's input and output objects, for
// the job's timeout (at most an hour: a session assumed with a Lambda
// function's credentials is role chaining). Making that AssumeRole call is
// the api function's, which does not yet.
func newArtifactRole(scope constructs.Construct, bucket awss3.Bucket, assumer awsiam.Role) awsiam.Role {
	role := awsiam.NewRole(scope, jsii.String("ArtifactAccessRole"), &awsiam.RoleProps{
		AssumedBy:          awsiam.NewArnPrincipal(assumer.RoleArn()),
		Description:        jsii.String("Stageflow: job workers' artifact credentials, one session per job limited by a session policy to its objects"),
		MaxSessionDuration: awscdk.Duration_Hours(jsii.Number(1)),
	})
	bucket.Grants().ActionsOnObjectKeys(role, jsii.String("*"), *jsii.Strings(artifactObjectActions...)...)
	role.Grants().AssumeRole(assumer)
	return role
}
