package dynamo

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/store"
)

// PruneExecutions deletes up to max ended executions that started before
// `before`, oldest first, each with all its items (deleteExecution).
//
// The table has no index of executions by start time across pipelines, so
// this scans the execution heads (a filtered, consistent Scan): its cost
// grows with the table, and it is meant for a periodic janitor, never for a
// request. A deployment that wants pruning without scans would set a TTL on
// the items of an ended execution instead (store.SelfPruning); this store
// does not yet.
func (s *Store) PruneExecutions(ctx context.Context, before time.Time, max int) ([]store.PrunedExecution, error) {
	if max <= 0 {
		max = 100
	}
	in := &dynamodb.ScanInput{
		TableName:        s.table,
		ConsistentRead:   aws.Bool(true),
		FilterExpression: aws.String("#sk = :head AND begins_with(#pk, :e) AND #start < :before AND NOT (#status IN (:ip, :st))"),
		ExpressionAttributeNames: map[string]string{
			"#pk": attrPK, "#sk": attrSK, "#start": aStart, "#status": aStatus, "#id": aExecID, "#p": aPipelineName,
		},
		ExpressionAttributeValues: item{
			":head": sv(skHead), ":e": sv(execPK("")), ":before": nv(store.Nanos(before)),
			":ip": sv(string(engine.InProgress)), ":st": sv(string(engine.Stopping)),
		},
		ProjectionExpression: aws.String("#id, #p, #start"),
	}
	var found []store.PrunedExecution
	p := dynamodb.NewScanPaginator(s.c, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("dynamo store: finding executions to prune: %w", err)
		}
		for _, it := range out.Items {
			found = append(found, store.PrunedExecution{
				ID: getS(it, aExecID), PipelineName: getS(it, aPipelineName), StartTime: store.FromNanos(getN(it, aStart)),
			})
		}
	}
	slices.SortFunc(found, func(a, b store.PrunedExecution) int {
		return cmp.Or(a.StartTime.Compare(b.StartTime), cmp.Compare(a.ID, b.ID))
	})
	found = found[:min(len(found), max)]
	for i, x := range found {
		if err := s.deleteExecution(ctx, x.ID); err != nil {
			return found[:i], fmt.Errorf("dynamo store: pruning execution %s: %w", x.ID, err)
		}
	}
	return found, nil
}
