package pipeline

import (
	"fmt"
	"strings"
	"testing"
)

// bareFmt is a valid bare pipeline with one stage and one action; the verbs
// take more members of the pipeline, the action and the stage.
const bareFmt = `{"name": "p"%s, "stages": [{"name": "S", "actions": [{"name": "A",
	"actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}%s}]%s}]}`

// doc builds a bare pipeline, adding pipeline members, action members and
// stage members (each "" or starting with a comma).
func doc(pipelineMembers, actionMembers, stageMembers string) string {
	return fmt.Sprintf(bareFmt, pipelineMembers, actionMembers, stageMembers)
}

// envelope wraps a pipeline in the get-pipeline envelope with more members.
func envelope(pipeline, members string) string {
	return `{"pipeline": ` + pipeline + members + `}`
}

// loadCase is a document and every problem Load must report for it, as
// "path: message", in order; no problems means it must load.
type loadCase struct {
	name string
	doc  string
	want []string
}

func runLoadCases(t *testing.T, cases []loadCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, p := range problemsOf(t, []byte(tc.doc)) {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems of\n%s\ngot:\n  %s\nwant:\n  %s", tc.doc, strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestLoadValidCases(t *testing.T) {
	runLoadCases(t, []loadCase{
		{name: "base", doc: doc("", "", "")},
		{name: "same key in sibling objects", doc: doc(`, "variables": [{"name": "a"}, {"name": "b"}]`, `, "configuration": {"name": "x"}`, "")},
		{name: "envelope", doc: envelope(doc("", "", ""), `, "tags": [{"key": "k", "value": ""}], "metadata": {"created": {"a": [1, {"a": 2}]}}`)},
	})
}

func TestRepeatedKeys(t *testing.T) {
	const a = "stages[0].actions[0]"
	runLoadCases(t, []loadCase{
		{name: "configuration twice", doc: doc("", `, "configuration": {"K": "v"}, "configuration": {}`, ""),
			want: []string{a + `.configuration: key "configuration" appears more than once in the object`}},
		{name: "pipeline name twice", doc: `{"name": "p", "name": "q", "stages": [{"name": "S", "actions": [{"name": "A",
			"actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]}]}`,
			want: []string{`name: key "name" appears more than once in the object`}},
		{name: "same value twice", doc: doc("", `, "runOrder": 1, "runOrder": 1`, ""),
			want: []string{a + `.runOrder: key "runOrder" appears more than once in the object`}},
		{name: "three times reported once", doc: doc("", `, "region": "eu-west-1", "region": "eu-west-2", "region": "eu-west-3"`, ""),
			want: []string{a + `.region: key "region" appears more than once in the object`}},
		{name: "configuration key twice", doc: doc("", `, "configuration": {"K": "v", "L": "x", "K": "w"}`, ""),
			want: []string{a + `.configuration.K: key "K" appears more than once in the object`}},
		{name: "in a list element", doc: doc("", `, "outputArtifacts": [{"name": "x", "name": "x"}]`, ""),
			want: []string{a + `.outputArtifacts[0].name: key "name" appears more than once in the object`}},
		{name: "two objects", doc: doc(`, "roleArn": "r", "roleArn": "r"`, `, "actionTypeId": {}`, ""),
			want: []string{
				`roleArn: key "roleArn" appears more than once in the object`,
				a + `.actionTypeId: key "actionTypeId" appears more than once in the object`,
			}},
		{name: "in the envelope's pipeline", doc: envelope(`{"name": "p", "stages": [], "name": "p"}`, ""),
			want: []string{`name: key "name" appears more than once in the object`, "stages: must have at least one stage"}},
		{name: "pipeline twice", doc: envelope(doc("", "", ""), `, "pipeline": {}`),
			want: []string{`pipeline: key "pipeline" appears more than once in the object`}},
		{name: "in metadata", doc: envelope(doc("", "", ""), `, "metadata": {"created": {"t": 1, "t": 2}}`),
			want: []string{`metadata.created.t: key "t" appears more than once in the object`}},
		{name: "unknown field twice", doc: doc("", "", `, "timeout": 1, "timeout": 2`),
			want: []string{`stages[0].timeout: key "timeout" appears more than once in the object`}},
	})
}

func TestMalformedJSONPosition(t *testing.T) {
	cases := []struct {
		doc       string
		line, col int
	}{
		{"}", 1, 1},
		{"  x", 1, 3},
		{"{\n  \"name\": \"x\",\n  \"stages\": [\n}", 4, 1},
		{`{"name": "x" "stages": []}`, 1, 14},
		{"{\"name\": \"x\",\n\t\"stages\": [1,]}", 2, 15},
		{`{"name": "é€😀", x}`, 1, 17},
		{"{\"name\": \"a\tb\"}", 1, 12},
		{"{\r\n  \"name\" 1}", 2, 10},
		{"{\"name\": \"x\",\n \"stages\": [", 2, 13},
		{"{\"name\": \"x\"}\n{}", 2, 1},
		{`{"name": "x"}  x`, 1, 16},
		{"{\"n\": \"\xff\"} \xff", 1, 12},
		{"{\n", 2, 1},
		{"", 1, 1},
	}
	for _, tc := range cases {
		problems := problemsOf(t, []byte(tc.doc))
		want := fmt.Sprintf("line %d, column %d: ", tc.line, tc.col)
		if len(problems) != 1 || problems[0].Path != "" || !strings.HasPrefix(problems[0].Message, want) {
			t.Errorf("%q: want one problem starting %q, got %v", tc.doc, want, problems)
		}
	}
}

func TestWrongTypeReportedOnce(t *testing.T) {
	const a = "stages[0].actions[0]"
	runLoadCases(t, []loadCase{
		{name: "name number", doc: strings.Replace(doc("", "", ""), `"name": "p"`, `"name": 3`, 1),
			want: []string{"name: must be a string, got the number 3"}},
		{name: "stages object", doc: `{"name": "p", "stages": {}}`,
			want: []string{"stages: must be an array, got an object"}},
		{name: "stage string", doc: `{"name": "p", "stages": ["Build"]}`,
			want: []string{`stages[0]: must be an object, got the string "Build"`}},
		{name: "actions string", doc: `{"name": "p", "stages": [{"name": "S", "actions": "A"}]}`,
			want: []string{`stages[0].actions: must be an array, got the string "A"`}},
		{name: "actionTypeId number", doc: `{"name": "p", "stages": [{"name": "S", "actions": [{"name": "A", "actionTypeId": 5}]}]}`,
			want: []string{a + ".actionTypeId: must be an object, got the number 5"}},
		{name: "version number", doc: strings.Replace(doc("", "", ""), `"version": "1"`, `"version": 1`, 1),
			want: []string{a + ".actionTypeId.version: must be a string, got the number 1"}},
		{name: "tag key bool", doc: envelope(doc("", "", ""), `, "tags": [{"key": true, "value": "v"}]`),
			want: []string{"tags[0].key: must be a string, got true"}},
		{name: "runOrder fraction", doc: doc("", `, "runOrder": 1.5`, ""),
			want: []string{a + ".runOrder: must be a whole number, got 1.5"}},
	})
}

func TestNullsAndEmptyStrings(t *testing.T) {
	const a = "stages[0].actions[0]"
	runLoadCases(t, []loadCase{
		{name: "region empty", doc: doc("", `, "region": ""`, ""), want: []string{a + ".region: must not be empty"}},
		{name: "namespace empty", doc: doc("", `, "namespace": ""`, ""), want: []string{a + ".namespace: must not be empty"}},
		{name: "action roleArn empty", doc: doc("", `, "roleArn": ""`, ""), want: []string{a + ".roleArn: must not be empty"}},
		{name: "executionMode empty", doc: doc(`, "executionMode": ""`, "", ""), want: []string{"executionMode: must not be empty"}},
		{name: "pipelineType empty", doc: doc(`, "pipelineType": ""`, "", ""), want: []string{"pipelineType: must not be empty"}},
		{name: "env type empty", doc: doc("", `, "environmentVariables": [{"name": "N", "value": "v", "type": ""}]`, ""),
			want: []string{a + ".environmentVariables[0].type: must not be empty"}},
		{name: "onFailure result empty", doc: doc(`, "pipelineType": "V2"`, "", `, "onFailure": {"result": ""}`),
			want: []string{"stages[0].onFailure.result: must not be empty"}},
		{name: "pipelineArn empty", doc: envelope(doc("", "", ""), `, "metadata": {"pipelineArn": ""}`),
			want: []string{"metadata.pipelineArn: must not be empty"}},

		{name: "roleArn null", doc: doc(`, "roleArn": null`, "", ""), want: []string{"roleArn: must not be null"}},
		{name: "runOrder null", doc: doc("", `, "runOrder": null`, ""), want: []string{a + ".runOrder: must not be null"}},
		{name: "configuration null", doc: doc("", `, "configuration": null`, ""), want: []string{a + ".configuration: must not be null"}},
		{name: "configuration value null", doc: doc("", `, "configuration": {"K": null}`, ""), want: []string{a + ".configuration.K: must not be null"}},
		{name: "commands element null", doc: doc("", `, "commands": ["ls", null]`, ""), want: []string{a + ".commands[1]: must not be null"}},
		{name: "artifact null", doc: doc("", `, "outputArtifacts": [null]`, ""), want: []string{a + ".outputArtifacts[0]: must not be null"}},
		{name: "name null", doc: strings.Replace(doc("", "", ""), `"name": "p"`, `"name": null`, 1), want: []string{"name: must not be null"}},
		{name: "stages null", doc: `{"name": "p", "stages": null}`, want: []string{"stages: must not be null"}},
		{name: "stage null", doc: `{"name": "p", "stages": [null]}`, want: []string{"stages[0]: must not be null"}},
		{name: "actionTypeId null", doc: `{"name": "p", "stages": [{"name": "S", "actions": [{"name": "A", "actionTypeId": null}]}]}`,
			want: []string{a + ".actionTypeId: must not be null"}},
		{name: "pipeline null", doc: `{"pipeline": null}`, want: []string{"pipeline: must not be null"}},
		{name: "metadata null", doc: envelope(doc("", "", ""), `, "metadata": null`), want: []string{"metadata: must not be null"}},
		{name: "created null", doc: envelope(doc("", "", ""), `, "metadata": {"created": null}`), want: []string{"metadata.created: must not be null"}},
		{name: "tags null", doc: envelope(doc("", "", ""), `, "tags": null`), want: []string{"tags: must not be null"}},

		// A required member that is empty is Validate's to report.
		{name: "required name empty", doc: strings.Replace(doc("", "", ""), `"name": "p"`, `"name": ""`, 1), want: []string{"name: is required"}},
		{name: "optional pointer empty", doc: doc(`, "variables": [{"name": "v", "description": ""}]`, "", "")},

		// Required members that are absent: Validate's message where it has one.
		{name: "tag value absent", doc: envelope(doc("", "", ""), `, "tags": [{"key": "k"}]`), want: []string{"tags[0].value: is required"}},
		{name: "location absent", doc: doc(`, "artifactStore": {"type": "S3"}`, "", ""), want: []string{"artifactStore.location: is required"}},
		{name: "store type absent", doc: doc(`, "artifactStore": {"location": "b"}`, "", ""), want: []string{"artifactStore.type: is required (one of S3)"}},
		{name: "actionTypeId absent", doc: `{"name": "p", "stages": [{"name": "S", "actions": [{"name": "A"}]}]}`,
			want: []string{a + ".actionTypeId: is required"}},
		{name: "stages absent", doc: `{"name": "p"}`, want: []string{"stages: is required"}},
		{name: "everything absent", doc: `{}`, want: []string{"name: is required", "stages: is required"}},
	})
}

// TestAcceptedRoundTrips loads documents with empty lists, maps and optional
// strings that are allowed, and checks they marshal to the same JSON value.
func TestAcceptedRoundTrips(t *testing.T) {
	for _, d := range []string{
		doc("", `, "configuration": {}, "inputArtifacts": [], "outputArtifacts": [{"name": "o"}]`, `, "blockers": []`),
		doc(`, "variables": [{"name": "v", "description": ""}], "artifactStores": {}`, "", ""),
		doc(`, "pipelineType": "V2"`, "", `, "onFailure": {}`),
		doc(`, "artifactStore": {"type": "S3", "location": ""}`, "", ""),
		envelope(doc("", "", ""), `, "tags": [{"key": "k", "value": ""}], "metadata": {}`),
		envelope(doc("", "", ""), `, "tags": [], "metadata": {"created": 1.50, "updated": "x"}`),
	} {
		roundTrip(t, []byte(d))
	}
}
