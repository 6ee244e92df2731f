package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// storeDir is the DynamoDB store's package, relative to this one.
const storeDir = "../shared/store/dynamo"

// tableManagement are the calls of CreateTable (tests and local setups make
// the table with it; deployed, CloudFormation does), which the functions
// never make.
var tableManagement = []string{"CreateTable", "DescribeTable", "UpdateTimeToLive"}

// TestStoreActionsCoverTheStore reads the DynamoDB calls in the store's
// source and checks that storeTableActions grants each and nothing unused,
// so that a call added to the store cannot fail deployed with AccessDenied;
// a call no deployed function makes is listed in storeActionsNotDeployed
// instead.
func TestStoreActionsCoverTheStore(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(storeDir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", storeDir, err)
	}
	var src strings.Builder
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	used := storeCalls(src.String())
	if len(used) == 0 {
		t.Fatalf("found no DynamoDB call in %s; the scan is broken", storeDir)
	}
	var need []string
	for _, op := range used {
		if _, no := storeActionsNotDeployed["dynamodb:"+op]; !no && !slices.Contains(tableManagement, op) {
			need = append(need, "dynamodb:"+op)
		}
	}
	for a := range storeActionsNotDeployed {
		if !slices.Contains(used, strings.TrimPrefix(a, "dynamodb:")) {
			t.Errorf("storeActionsNotDeployed lists %s, which the store does not call", a)
		}
	}
	granted := slices.Sorted(slices.Values(storeTableActions))
	if !slices.Equal(need, granted) {
		t.Errorf("the store calls %v; storeTableActions grants %v", need, granted)
	}
}

var (
	// dynamodb.GetItemInput{, dynamodb.NewQueryPaginator(
	sdkCall = regexp.MustCompile(`dynamodb\.(?:New([A-Z][A-Za-z]+)Paginator\(|([A-Z][A-Za-z]+)Input\{)`)
	// the items of a transaction: types.Put{, types.ConditionCheck{ …
	txItem = regexp.MustCompile(`types\.(Put|Delete|Update|ConditionCheck|Get)\{`)
)

// storeCalls returns the IAM action names (without "dynamodb:") that the
// calls in src need, sorted: a transaction's items by their kind.
func storeCalls(src string) []string {
	set := map[string]bool{}
	for _, m := range sdkCall.FindAllStringSubmatch(src, -1) {
		op := m[1] + m[2]
		switch op {
		case "TransactWriteItems", "TransactGetItems":
			// IAM authorizes each item instead (txItem below).
		default:
			set[op] = true
		}
	}
	for _, m := range txItem.FindAllStringSubmatch(src, -1) {
		switch m[1] {
		case "Put", "Delete", "Update", "Get":
			set[m[1]+"Item"] = true
		case "ConditionCheck":
			set["ConditionCheckItem"] = true
		}
	}
	out := make([]string, 0, len(set))
	for op := range set {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}

func TestStoreCalls(t *testing.T) {
	src := `s.c.GetItem(ctx, &dynamodb.GetItemInput{})
		p := dynamodb.NewQueryPaginator(s.c, in)
		s.c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{}}, {ConditionCheck: &types.ConditionCheck{}}}})
		c.CreateTable(ctx, &dynamodb.CreateTableInput{})`
	want := []string{"ConditionCheckItem", "CreateTable", "GetItem", "PutItem", "Query"}
	if got := storeCalls(src); !slices.Equal(got, want) {
		t.Errorf("storeCalls = %v, want %v", got, want)
	}
}
