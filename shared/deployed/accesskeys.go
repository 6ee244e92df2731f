package deployed

import (
	"github.com/stageflow/stageflow/shared/store"
	"github.com/stageflow/stageflow/shared/store/dynamo"
)

// accessKeys is the table's store of access keys and principal policies.
func accessKeys(st *dynamo.Store) store.AccessKeyStore {
	// Until the DynamoDB store implements store.AccessKeyStore (being
	// added beside this), the service keeps no keys: IAM callers keep what
	// IAM allowed, console callers are denied.
	k, _ := any(st).(store.AccessKeyStore)
	return k
}
