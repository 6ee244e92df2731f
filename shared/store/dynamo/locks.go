package dynamo

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

// The stage locks of a pipeline are the item L#<pipeline> / "0": the record
// as JSON (its own field names) in "locks", its version in "ver" (what
// counts; the JSON's is the same). UpdateLocks writes it and the executions
// in one TransactWriteItems, conditional on the version of every record,
// with each execution's items as UpdateExecution writes them (head, client
// request token items, ended runs moving out, run-token pointers): reads
// see the same items whichever wrote them.
//
// The JSON must fit in an item (maxHead bytes, else LimitExceeded: some
// thousands of waiting executions). DynamoDB takes at most 100 items in a
// transaction: the locks item, each execution's head, its token items and
// its moving runs must fit (else LimitExceeded, nothing written); run-token
// pointers that do not fit are written before the transaction, as
// UpdateExecution does (a pointer is checked against the execution when
// followed, so an early or orphan one misleads nobody).
const aLocks = "locks"

func locksPK(pipeline string) string { return key("L", pipeline) }

// GetPipelineLocks returns the stage locks of a pipeline (one strongly
// consistent read): an empty record of Version 0 when none is stored.
func (s *Store) GetPipelineLocks(ctx context.Context, name string) (*engine.PipelineLocks, error) {
	if name == "" {
		return nil, errs.Of(errs.Validation, errs.KindPipeline, "pipeline name is required")
	}
	it, err := s.getItem(ctx, locksPK(name), skHead)
	if err != nil {
		return nil, fmt.Errorf("dynamo store: reading the stage locks of pipeline %s: %w", name, err)
	}
	if it == nil {
		return store.NoLocks(name), nil
	}
	l := &engine.PipelineLocks{}
	if err := json.Unmarshal([]byte(getS(it, aLocks)), l); err != nil {
		return nil, fmt.Errorf("dynamo store: reading the stage locks of pipeline %s: %w", name, err)
	}
	l.Pipeline, l.Version = name, getN(it, aVersion)
	return l, nil
}

// UpdateLocks writes locks and the executions in one transaction.
func (s *Store) UpdateLocks(ctx context.Context, locks *engine.PipelineLocks, executions []*engine.Execution) error {
	if err := store.CheckLocksUpdate(locks, executions); err != nil {
		return err
	}
	name := locks.Pipeline
	rec := *locks
	rec.Version++
	body, err := json.Marshal(&rec)
	if err != nil {
		return fmt.Errorf("dynamo store: encoding the stage locks of pipeline %s: %w", name, err)
	}
	if len(body) > maxHead {
		return errs.Of(errs.LimitExceeded, errs.KindPipeline, "the stage locks of pipeline %s take %d bytes, more than the %d an item holds here", name, len(body), maxHead)
	}
	cond, vals := "#v = :v", item{":v": nv(locks.Version)}
	if locks.Version == 0 {
		cond, vals = "attribute_not_exists(#pk)", nil
	}
	put := &types.Put{TableName: s.table, ConditionExpression: aws.String(cond), ExpressionAttributeNames: namesOf(cond),
		ExpressionAttributeValues: vals,
		Item:                      item{attrPK: sv(locksPK(name)), attrSK: sv(skHead), aName: sv(name), aVersion: nv(rec.Version), aLocks: sv(string(body))}}

	// Each execution's items; first those that must be in the
	// transaction, then the run-token pointers while there is room.
	type pending struct {
		e    *engine.Execution
		w    *write
		head int  // where its head is in writes
		crt  bool // its client request token is put after the head
	}
	list := make([]pending, 0, len(executions))
	var parts [][]types.TransactWriteItem
	need := 1
	for _, e := range executions {
		w, crt, err := s.prepareUpdate(ctx, e)
		if err != nil {
			return err
		}
		writes, _ := s.executionWrites(e, w, e.Version+1, "#v = :v", item{":v": nv(e.Version)}, crt, nil, 0)
		list = append(list, pending{e: e, w: w, crt: len(crt) > 0 && e.ClientRequestToken != ""})
		parts = append(parts, writes)
		need += len(writes)
	}
	if need > maxTransactItems {
		return errs.Of(errs.LimitExceeded, errs.KindPipeline,
			"the stage locks of pipeline %s and %d executions take %d items, more than DynamoDB's %d in one transaction",
			name, len(executions), need, maxTransactItems)
	}
	writes := []types.TransactWriteItem{{Put: put}}
	for i := range list {
		list[i].head = len(writes)
		writes = append(writes, parts[i]...)
	}
	var loose []types.TransactWriteItem
	for _, p := range list {
		for _, it := range p.w.tokens {
			if len(writes) < maxTransactItems {
				writes = append(writes, s.put(it))
			} else {
				loose = append(loose, s.put(it))
			}
		}
	}
	forget := func() {
		for _, p := range list {
			s.cache.forget(p.e.ID)
		}
	}
	if err := s.writeLoose(ctx, loose); err != nil {
		return fmt.Errorf("dynamo store: writing the stage locks of pipeline %s: %w", name, err)
	}
	if err := s.transact(ctx, writes); err != nil {
		forget()
		codes, _ := cancelReasons(err)
		failed := func(i int) bool { return i < len(codes) && codes[i] == "ConditionalCheckFailed" }
		if failed(0) {
			stored, err := s.getItem(ctx, locksPK(name), skHead)
			if err != nil {
				return fmt.Errorf("dynamo store: writing the stage locks of pipeline %s: %w", name, err)
			}
			return errs.Of(errs.Conflict, errs.KindPipeline, "the stage locks of pipeline %s changed: version %d, not %d", name, getN(stored, aVersion), locks.Version)
		}
		for _, p := range list {
			switch {
			case failed(p.head):
				stored, found, err := s.storedMeta(ctx, p.e.ID)
				if err != nil {
					return fmt.Errorf("dynamo store: updating execution %s: %w", p.e.ID, err)
				}
				return staleExecution(stored, found, p.e.ID, p.e.Version)
			case p.crt && failed(p.head+1):
				return errs.Of(errs.Conflict, errs.KindPipelineExecution, "client request token %q is in use", p.e.ClientRequestToken)
			}
		}
		if c := conflictOf(err, errs.KindPipeline, "writing the stage locks of pipeline "+name); c != nil {
			return c
		}
		return fmt.Errorf("dynamo store: writing the stage locks of pipeline %s: %w", name, err)
	}
	locks.Version = rec.Version
	for _, p := range list {
		version := p.e.Version + 1
		p.e.Version = version
		s.cache.put(p.e.ID, p.w.meta(p.e, version))
	}
	return nil
}
