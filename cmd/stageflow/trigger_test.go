package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const triggerDoc = `{"pipeline": {
  "name": "app", "pipelineType": "V2",
  "stages": [
    {"name": "Source", "actions": [{"name": "Src",
      "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
      "configuration": {"FullRepositoryId": "acme/app", "BranchName": "main",
        "ConnectionArn": "arn:aws:codeconnections:us-east-1:111111111111:connection/c1"},
      "outputArtifacts": [{"name": "src"}]}]},
    {"name": "Build", "actions": [{"name": "Build",
      "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
      "inputArtifacts": [{"name": "src"}], "commands": ["true"]}]}
  ],
  "triggers": [{"providerType": "CodeStarSourceConnection", "gitConfiguration": {"sourceActionName": "Src",
    "push": [{"branches": {"includes": ["main"]}, "filePaths": {"includes": ["src/**"]}}, {"tags": {"includes": ["v*"], "excludes": ["v*-rc"]}}],
    "pullRequest": [{"events": ["CLOSED"], "branches": {"includes": ["main"]}}]}}]
}}`

func TestTriggerTest(t *testing.T) {
	dir := t.TempDir()
	doc := filepath.Join(dir, "app.json")
	if err := os.WriteFile(doc, []byte(triggerDoc), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"ref": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ev := func(name string) string { return filepath.Join("..", "..", "events", name) }
	cases := []struct {
		name string
		args []string
		code int
		out  []string
	}{
		{"push fires", []string{doc, ev("github.push.json")}, 0, []string{"app: starts on the push of refs/heads/main to acme/app", "yes Src push[0]", "source revision Src COMMIT_ID=2222222222222222222222222222222222222222 (trigger WebhookV2)"}},
		{"tag fires", []string{doc, ev("github.push-tag.json")}, 0, []string{"yes Src push[1]: tag v1.2.0 matches tags includes [v*] excludes [v*-rc]"}},
		{"pull request does not", []string{doc, ev("github.pull-request-opened.json")}, 1, []string{"does not start on the pull request #42 (opened) into main", "no  Src pullRequest[0]: pull request event OPEN (opened) is not in events [CLOSED]"}},
		{"other connection", []string{doc, ev("github.push.json"), "--connection", "arn:other"}, 1, []string{"is not the event's connection"}},
		{"forced type", []string{doc, ev("github.push.json"), "--event-type", "pull_request"}, 2, []string{"no action"}},
		{"ping", []string{doc, ev("github.ping.json")}, 2, []string{"only push and pull_request"}},
		{"bad event", []string{doc, bad}, 2, []string{"not valid JSON"}},
		{"missing event", []string{doc, filepath.Join(dir, "nope.json")}, 2, []string{"cannot read the event"}},
		{"invalid pipeline", []string{bad, ev("github.push.json")}, 2, []string{"bad.json"}},
		{"one argument", []string{doc}, 2, []string{"needs PIPELINE and EVENT.json"}},
		{"json", []string{doc, ev("github.push.json"), "-o", "json"}, 0, []string{`"fired": true`, `"triggerType": "WebhookV2"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			code := run(append([]string{"trigger", "test"}, tc.args...), strings.NewReader(""), &out, &out)
			if code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tc.code, out.String())
			}
			for _, want := range tc.out {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}
