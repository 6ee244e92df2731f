// Package cfnprovider is the CloudFormation custom resource provider of
// Custom::StageflowPipeline: it turns CloudFormation's Create, Update and
// Delete requests (properties of AWS::CodePipeline::Pipeline, properties.go)
// into the service's CreatePipeline, UpdatePipeline and DeletePipeline, and
// PUTs the response to the request's pre-signed ResponseURL — always, a
// panic, a malformed request or a deadline close to the function's
// included (respond.go).
package cfnprovider

import "encoding/json"

// ResourceType is the custom resource type the provider serves.
const ResourceType = "Custom::StageflowPipeline"

// Request types, as CloudFormation names them.
const (
	Create = "Create"
	Update = "Update"
	Delete = "Delete"
)

// Statuses of a response.
const (
	Success = "SUCCESS"
	Failed  = "FAILED"
)

// Request is a custom resource request as CloudFormation sends it.
// PhysicalResourceId is set on Update and Delete, OldResourceProperties
// on Update.
type Request struct {
	RequestType           string          `json:"RequestType"`
	ResponseURL           string          `json:"ResponseURL"`
	StackID               string          `json:"StackId"`
	RequestID             string          `json:"RequestId"`
	ResourceType          string          `json:"ResourceType"`
	LogicalResourceID     string          `json:"LogicalResourceId"`
	PhysicalResourceID    string          `json:"PhysicalResourceId,omitempty"`
	ResourceProperties    json.RawMessage `json:"ResourceProperties,omitempty"`
	OldResourceProperties json.RawMessage `json:"OldResourceProperties,omitempty"`
	ServiceToken          string          `json:"ServiceToken,omitempty"`
}

// Response is what the provider PUTs to the ResponseURL. Reason is
// required when Status is FAILED; the whole body is at most MaxResponseBytes.
type Response struct {
	Status             string            `json:"Status"`
	Reason             string            `json:"Reason,omitempty"`
	PhysicalResourceID string            `json:"PhysicalResourceId"`
	StackID            string            `json:"StackId"`
	RequestID          string            `json:"RequestId"`
	LogicalResourceID  string            `json:"LogicalResourceId"`
	NoEcho             bool              `json:"NoEcho"`
	Data               map[string]string `json:"Data,omitempty"`
}

// MaxResponseBytes is CloudFormation's limit on a response body.
const MaxResponseBytes = 4096

// The attributes of Fn::GetAtt (Data).
const (
	AttrName    = "Name"
	AttrVersion = "Version"
	AttrArn     = "Arn"
)

// FailedPrefix starts the physical ID of a Create that failed: no pipeline
// has it (pipeline names are [A-Za-z0-9.@\-_]+, so one may, in theory, be
// named so: Delete never deletes one, see Provider.delete).
const FailedPrefix = "failed-"
