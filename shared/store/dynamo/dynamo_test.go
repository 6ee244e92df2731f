package dynamo_test

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stageflow/stageflow/shared/store"
	"github.com/stageflow/stageflow/shared/store/dynamo"
	"github.com/stageflow/stageflow/shared/store/dynamo/dynamotest"
	"github.com/stageflow/stageflow/shared/store/storetest"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// newStore returns a store on a fresh table of the shared DynamoDB Local.
func newStore(t *testing.T, o dynamo.Options) *dynamo.Store {
	t.Helper()
	c := dynamotest.Client(t)
	o.Table = dynamotest.NewTable(t, c)
	s, err := dynamo.New(c, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t, dynamo.Options{}) })
}

// itemSize is an item's size as DynamoDB counts it against the 400 KB
// limit: attribute names plus values (numbers taken at their digits).
func itemSize(it map[string]types.AttributeValue) int {
	n := 0
	for name, v := range it {
		n += len(name)
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			n += len(v.Value)
		case *types.AttributeValueMemberB:
			n += len(v.Value)
		case *types.AttributeValueMemberN:
			n += len(v.Value)/2 + 1
		default:
			n += 1
		}
	}
	return n
}

// The largest execution's items all stay under DynamoDB's item limit; the
// test logs their sizes by kind (the README quotes them).
func TestLargestItemSizes(t *testing.T) {
	c := dynamotest.Client(t)
	table := dynamotest.NewTable(t, c)
	s, err := dynamo.New(c, dynamo.Options{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	storetest.RunLargest(t, s, "exec-largest")
	type stat struct{ count, total, max int }
	kinds := map[string]*stat{}
	p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: &table})
	for p.HasMorePages() {
		out, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			pk := it["pk"].(*types.AttributeValueMemberS).Value
			sk := it["sk"].(*types.AttributeValueMemberS).Value
			kind := pk[:1] + " " + strings.SplitN(sk, "#", 2)[0]
			st := kinds[kind]
			if st == nil {
				st = &stat{}
				kinds[kind] = st
			}
			size := itemSize(it)
			st.count++
			st.total += size
			st.max = max(st.max, size)
			if size > 400_000 {
				t.Errorf("item %s %s takes %d bytes, over DynamoDB's 400 KB", pk, sk, size)
			}
		}
	}
	names := map[string]string{"P 0": "pipeline head", "P v": "pipeline version part", "E 0": "execution head",
		"E 1": "ended-runs part", "E 2": "snapshot part", "E t": "run-token pointer"}
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		st := kinds[k]
		t.Logf("%-22s %5d items, %9d bytes in all, largest %7d", cmp.Or(names[k], k), st.count, st.total, st.max)
	}
}
