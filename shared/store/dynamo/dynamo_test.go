package dynamo_test

import (
	"testing"

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
