package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stageflow/stageflow/shared/engine"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

// An execution is the partition E#<id>:
//   - "0", the head: the attributes listings use, the version, and the body,
//     the execution as gzipped JSON without its pipeline and without the
//     ended runs stored apart (null placeholders keep their places). Every
//     write rewrites it alone when nothing else changes.
//   - "1#<version>#<part>": the ended runs that moved out of the body in the
//     write of that version, as one gzipped JSON array of {"seq":place,
//     "run":{...}}, written once (an ended run never changes). Ended runs
//     stay inline while the compressed body is under inlineBudget; past
//     it, those inline move out together.
//   - "2#<part>": the pipeline snapshot, written by CreateExecution only.
//   - "j#<job>": a pointer to a job of the execution (DeletePipeline).
//   - "t#<token>": a pointer from a run's completion token, listed in
//     IndexList under TOK#<token> (ExecutionByRunToken).
//
// A pipeline name and client request token in use are an item of their own,
// C#<pipeline>#<token>, written in the same transaction as the head.
const (
	skRuns     = "1#"
	skSnapshot = "2#"
	skJobRef   = "j#"
	skToken    = "t#"

	listActive = "ACTIVE"

	// inlineBudget is the compressed size past which the ended runs inline
	// move out (the head is rewritten by every write, and writes are billed
	// by the kilobyte).
	inlineBudget = 8 << 10
	// maxHead is the most the compressed body may take in the head.
	maxHead = 350_000
)

func execPK(id string) string               { return key("E", id) }
func executionsOf(pipeline string) string   { return key("X", pipeline) }
func clientTokenPK(pipe, tok string) string { return key("C", pipe, tok) }
func runTokenKey(token string) string       { return key("TOK", token) }
func execOrder(e *engine.Execution) string  { return ord(store.Nanos(e.StartTime)) + "#" + key(e.ID) }

// executionWrites are the items of writing w: the head conditional on cond
// (with vals) first, then the items that change with it (the client request
// token items crt, the snapshot, the chunk of ended runs moving out), then
// the run-token pointers while the transaction has room (room items in
// all); the pointers past it are returned in loose, to be written before
// the transaction.
func (s *Store) executionWrites(e *engine.Execution, w *write, version int64, cond string, vals item, crt []types.TransactWriteItem, snapshot []byte, room int) (writes, loose []types.TransactWriteItem) {
	pk := execPK(e.ID)
	head := &types.Put{TableName: s.table, Item: w.head, ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: namesOf(cond)}
	if len(vals) > 0 {
		head.ExpressionAttributeValues = vals
	}
	writes = append([]types.TransactWriteItem{{Put: head}}, crt...)
	if snapshot != nil {
		for _, it := range blobItems(pk, skSnapshot, snapshot, nil) {
			writes = append(writes, s.put(it))
		}
	}
	if w.chunk != nil {
		for _, it := range blobItems(pk, fmt.Sprintf("%s%s#", skRuns, ord(version)), w.chunk, nil) {
			writes = append(writes, s.put(it))
		}
	}
	for _, it := range w.tokens {
		if len(writes) < room {
			writes = append(writes, s.put(it))
		} else {
			loose = append(loose, s.put(it))
		}
	}
	return writes, loose
}

// store writes w: the head conditional on cond, with the items that change
// with it in one transaction (the head first, then the client request token
// items), and the run-token pointers before it when they do not fit in the
// transaction (executionWrites). It returns the transaction's reason codes
// when it was cancelled.
func (s *Store) store(ctx context.Context, e *engine.Execution, w *write, version int64, cond string, vals item, crt []types.TransactWriteItem, snapshot []byte) ([]string, error) {
	writes, loose := s.executionWrites(e, w, version, cond, vals, crt, snapshot, maxTransactItems)
	head := writes[0].Put
	// Pointers are checked when followed: written first, they are there
	// when the head that holds their runs is.
	if err := s.writeLoose(ctx, loose); err != nil {
		return nil, err
	}
	if len(writes) == 1 {
		_, err := s.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.table, Item: head.Item,
			ConditionExpression: head.ConditionExpression, ExpressionAttributeNames: head.ExpressionAttributeNames,
			ExpressionAttributeValues: head.ExpressionAttributeValues})
		if conditionFailed(err) {
			return []string{"ConditionalCheckFailed"}, err
		}
		return nil, err
	}
	err := s.transact(ctx, writes)
	codes, _ := cancelReasons(err)
	return codes, err
}

// CreateExecution stores e with Version 1 (and sets e.Version). When e has a
// ClientRequestToken that an execution of the same pipeline already used, it
// returns that execution instead, with created=false.
func (s *Store) CreateExecution(ctx context.Context, e *engine.Execution) (*engine.Execution, bool, error) {
	if e.ID == "" {
		return nil, false, errs.Of(errs.Validation, errs.KindPipelineExecution, "execution ID is required")
	}
	if e.PipelineName == "" {
		return nil, false, errs.Of(errs.Validation, errs.KindPipelineExecution, "execution %s has no pipeline name", e.ID)
	}
	if e.ClientRequestToken != "" {
		prev, err := s.executionByClientToken(ctx, e.PipelineName, e.ClientRequestToken)
		if prev != nil || err != nil {
			return prev, false, err
		}
	}
	w, err := encodeExecution(e, 1, meta{})
	if err != nil {
		return nil, false, err
	}
	decl, err := json.Marshal(&e.Pipeline)
	if err != nil {
		return nil, false, fmt.Errorf("dynamo store: encoding the pipeline of execution %s: %w", e.ID, err)
	}
	var crt []types.TransactWriteItem
	if e.ClientRequestToken != "" {
		crt = append(crt, s.clientTokenPut(e))
	}
	codes, err := s.store(ctx, e, w, 1, "attribute_not_exists(#pk)", nil, crt, compress(decl))
	switch {
	case len(codes) > 0 && codes[0] == "ConditionalCheckFailed":
		return nil, false, errs.Of(errs.Conflict, errs.KindPipelineExecution, "execution %s already exists", e.ID)
	case len(codes) > 1 && codes[1] == "ConditionalCheckFailed":
		// Another writer used the token between our check and write.
		prev, err := s.executionByClientToken(ctx, e.PipelineName, e.ClientRequestToken)
		if prev == nil && err == nil {
			err = errs.Of(errs.Conflict, errs.KindPipelineExecution, "client request token %q is in use", e.ClientRequestToken)
		}
		return prev, false, err
	case err != nil:
		if c := conflictOf(err, errs.KindPipelineExecution, "creating execution "+e.ID); c != nil {
			return nil, false, c
		}
		return nil, false, fmt.Errorf("dynamo store: creating execution %s: %w", e.ID, err)
	}
	e.Version = 1
	s.cache.put(e.ID, w.meta(e, 1))
	return e, true, nil
}

func (s *Store) clientTokenPut(e *engine.Execution) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{
		TableName: s.table,
		Item: item{attrPK: sv(clientTokenPK(e.PipelineName, e.ClientRequestToken)), attrSK: sv(skHead),
			aExecID: sv(e.ID)},
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK},
	}}
}

// executionByClientToken returns the execution of the pipeline that used the
// client request token, or nil.
func (s *Store) executionByClientToken(ctx context.Context, pipelineName, token string) (*engine.Execution, error) {
	it, err := s.getItem(ctx, clientTokenPK(pipelineName, token), skHead)
	if err != nil {
		return nil, fmt.Errorf("dynamo store: reading client request token: %w", err)
	}
	if it == nil {
		return nil, nil
	}
	e, err := s.GetExecution(ctx, getS(it, aExecID))
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	return e, err
}

// GetExecution returns the execution with the given ID: one strongly
// consistent query of its head, ended runs and snapshot.
//
// DynamoDB isolates a transaction from single-item reads but not from a
// query, which may see some items of a transaction being applied and not
// others (a head without the ended runs it moved out): such a torn read is
// read again, a few times over ~300 ms, before it is reported.
func (s *Store) GetExecution(ctx context.Context, id string) (*engine.Execution, error) {
	return untorn(ctx, func() (*engine.Execution, error) { return s.readExecution(ctx, id) })
}

// untorn runs read again while it finds a write half applied (errTorn), up
// to six times over ~300 ms.
func untorn[T any](ctx context.Context, read func() (T, error)) (T, error) {
	wait := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		v, err := read()
		if !errors.Is(err, errTorn) || attempt == 6 {
			return v, err
		}
		select {
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func (s *Store) readExecution(ctx context.Context, id string) (*engine.Execution, error) {
	var head item
	runs := map[string][]item{} // by chunk prefix
	var order []string
	var snapshot []item
	err := s.partition(ctx, execPK(id), skHead, skSnapshot+"~", nil, func(it item) (bool, error) {
		sk := getS(it, attrSK)
		switch {
		case sk == skHead:
			head = it
		case strings.HasPrefix(sk, skRuns) && len(sk) > 6:
			p := sk[:len(sk)-6]
			if _, ok := runs[p]; !ok {
				order = append(order, p)
			}
			runs[p] = append(runs[p], it)
		case strings.HasPrefix(sk, skSnapshot):
			snapshot = append(snapshot, it)
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("dynamo store: reading execution %s: %w", id, err)
	}
	if head == nil {
		return nil, errs.Of(errs.NotFound, errs.KindPipelineExecution, "execution %s not found", id)
	}
	e, err := decodeExecution(head, snapshot, order, runs)
	if err != nil {
		return nil, fmt.Errorf("dynamo store: reading execution %s: %w", id, err)
	}
	s.cache.put(id, metaOf(head))
	return e, nil
}

// storedMeta reads the meta of the stored version of an execution.
func (s *Store) storedMeta(ctx context.Context, id string) (meta, bool, error) {
	out, err := s.c.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: s.table, Key: keyOf(execPK(id), skHead), ConsistentRead: aws.Bool(true),
		ProjectionExpression:     aws.String("#v, #n, #m, #c, #p"),
		ExpressionAttributeNames: map[string]string{"#v": aVersion, "#n": aRuns, "#m": aMoved, "#c": aClientToken, "#p": aPipelineName},
	})
	if err != nil || out.Item == nil {
		return meta{}, false, err
	}
	return metaOf(out.Item), true, nil
}

func staleExecution(m meta, found bool, id string, want int64) error {
	if !found {
		return errs.Of(errs.NotFound, errs.KindPipelineExecution, "execution %s not found", id)
	}
	return errs.Of(errs.Conflict, errs.KindPipelineExecution, "execution %s changed: version %d, not %d", id, m.version, want)
}

// UpdateExecution writes e if the stored Version equals e.Version, then
// bumps e.Version. The pipeline snapshot is the one CreateExecution stored.
func (s *Store) UpdateExecution(ctx context.Context, e *engine.Execution) error {
	w, crt, err := s.prepareUpdate(ctx, e)
	if err != nil {
		return err
	}
	version := e.Version + 1
	codes, err := s.store(ctx, e, w, version, "#v = :v", item{":v": nv(e.Version)}, crt, nil)
	switch {
	case len(codes) > 0 && codes[0] == "ConditionalCheckFailed":
		s.cache.forget(e.ID)
		stored, found, err := s.storedMeta(ctx, e.ID)
		if err != nil {
			return fmt.Errorf("dynamo store: updating execution %s: %w", e.ID, err)
		}
		return staleExecution(stored, found, e.ID, e.Version)
	case len(codes) > 1 && codes[1] == "ConditionalCheckFailed" && e.ClientRequestToken != "":
		return errs.Of(errs.Conflict, errs.KindPipelineExecution, "client request token %q is in use", e.ClientRequestToken)
	case err != nil:
		s.cache.forget(e.ID)
		if c := conflictOf(err, errs.KindPipelineExecution, "updating execution "+e.ID); c != nil {
			return c
		}
		return fmt.Errorf("dynamo store: updating execution %s: %w", e.ID, err)
	}
	e.Version = version
	s.cache.put(e.ID, w.meta(e, version))
	return nil
}

// prepareUpdate encodes the update of e to the next version, from what is
// known of the stored version (NotFound or Conflict when that is not
// e.Version), with the writes of its client request token items when the
// token or pipeline changed.
func (s *Store) prepareUpdate(ctx context.Context, e *engine.Execution) (*write, []types.TransactWriteItem, error) {
	m, ok := s.cache.get(e.ID, e.Version)
	if !ok {
		var found bool
		var err error
		if m, found, err = s.storedMeta(ctx, e.ID); err != nil {
			return nil, nil, fmt.Errorf("dynamo store: updating execution %s: %w", e.ID, err)
		}
		if !found || m.version != e.Version {
			return nil, nil, staleExecution(m, found, e.ID, e.Version)
		}
	}
	w, err := encodeExecution(e, e.Version+1, m)
	if err != nil {
		return nil, nil, err
	}
	var crt []types.TransactWriteItem
	if m.crt != e.ClientRequestToken || (m.crt != "" && m.pname != e.PipelineName) {
		if e.ClientRequestToken != "" {
			crt = append(crt, s.clientTokenPut(e))
		}
		if m.crt != "" {
			crt = append(crt, s.del(clientTokenPK(m.pname, m.crt), skHead))
		}
	}
	return w, crt, nil
}

// ListExecutions lists the executions of a pipeline, newest first, from
// IndexList (a status filter reads past the executions it drops).
func (s *Store) ListExecutions(ctx context.Context, f store.ExecutionFilter, page store.Page) ([]store.ExecutionSummary, string, error) {
	if f.PipelineName == "" {
		return nil, "", errs.Of(errs.Validation, errs.KindPipelineExecution, "pipeline name is required to list executions")
	}
	filter := f.PipelineName + "\x00" + string(f.Status)
	gpk := executionsOf(f.PipelineName)
	limit := limitOf(page)
	in := &dynamodb.QueryInput{
		IndexName:                 aws.String(IndexList),
		KeyConditionExpression:    aws.String("g1pk = :l"),
		ExpressionAttributeValues: item{":l": sv(gpk)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(min(limit+1, 1000))),
	}
	if f.Status != "" {
		in.FilterExpression = aws.String("#s = :s")
		in.ExpressionAttributeNames = map[string]string{"#s": aStatus}
		in.ExpressionAttributeValues[":s"] = sv(string(f.Status))
	}
	if page.Token != "" {
		t, err := decodeToken(page.Token, "executions", filter)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = item{attrG1PK: sv(gpk), attrG1SK: sv(ord(t.Start) + "#" + key(t.Name)),
			attrPK: sv(execPK(t.Name)), attrSK: sv(skHead)}
	}
	out := []store.ExecutionSummary{}
	var starts []int64
	err := s.queryAll(ctx, in, func(it item) (bool, error) {
		x := store.ExecutionSummary{
			ID: getS(it, aExecID), PipelineName: getS(it, aPipelineName), PipelineVersion: int(getN(it, aPipelineVersion)),
			Status: engine.Status(getS(it, aStatus)), StatusSummary: getS(it, aStatusSummary),
			Trigger:   engine.Trigger{Type: getS(it, aTriggerType), Detail: getS(it, aTriggerDetail)},
			StartTime: store.FromNanos(getN(it, aStart)), LastUpdateTime: store.FromNanos(getN(it, aLastUpdate)),
		}
		if l := getS(it, aListing); l != "" {
			x.Listing = &store.Listing{}
			if err := json.Unmarshal([]byte(l), x.Listing); err != nil {
				return false, fmt.Errorf("the listing of %s: %w", x.ID, err)
			}
		}
		out = append(out, x)
		starts = append(starts, getN(it, aStart))
		return len(out) <= limit, nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("dynamo store: listing executions: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = encodeToken(pageToken{Kind: "executions", Filter: filter, Name: out[limit-1].ID, Start: starts[limit-1]})
	}
	return out, next, nil
}

// ExecutionByRunToken returns the execution holding the action run with the
// given completion token, through the token's pointer in IndexList (checked
// against the execution read).
func (s *Store) ExecutionByRunToken(ctx context.Context, token string) (*engine.Execution, error) {
	notFound := errs.Of(errs.NotFound, errs.KindActionExecution, "no action execution has that token")
	if token == "" {
		return nil, notFound
	}
	var ids []string
	err := s.queryAll(ctx, &dynamodb.QueryInput{
		IndexName:                 aws.String(IndexList),
		KeyConditionExpression:    aws.String("g1pk = :t"),
		ExpressionAttributeValues: item{":t": sv(runTokenKey(token))},
	}, func(it item) (bool, error) {
		ids = append(ids, getS(it, aExecID))
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("dynamo store: finding the execution of a run token: %w", err)
	}
	e, found, err := store.ExecutionHolding(ctx, ids, token, s.GetExecution)
	if err != nil || found {
		return e, err
	}
	return nil, notFound
}

// ListActiveExecutions returns the IDs of the executions in progress or
// stopping, oldest first, from IndexDue.
func (s *Store) ListActiveExecutions(ctx context.Context) ([]string, error) {
	ids := []string{}
	err := s.queryAll(ctx, &dynamodb.QueryInput{
		IndexName:                 aws.String(IndexDue),
		KeyConditionExpression:    aws.String("g3pk = :a"),
		ExpressionAttributeValues: item{":a": sv(listActive)},
	}, func(it item) (bool, error) {
		if id, ok := unkey(getS(it, attrPK), "E"); ok {
			ids = append(ids, id)
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("dynamo store: listing active executions: %w", err)
	}
	return ids, nil
}

// deleteExecution deletes an execution's items, its client request token
// and its jobs, the head last.
func (s *Store) deleteExecution(ctx context.Context, id string) error {
	pk := execPK(id)
	var writes []types.TransactWriteItem
	var head item
	err := s.partition(ctx, pk, skHead, "", []string{attrPK, attrSK, aClientToken, aPipelineName, aValue}, func(it item) (bool, error) {
		sk := getS(it, attrSK)
		switch {
		case sk == skHead:
			head = it
			return true, nil
		case strings.HasPrefix(sk, skJobRef):
			writes = append(writes, s.del(jobPK(getS(it, aValue)), skHead))
		}
		writes = append(writes, s.del(pk, sk))
		return true, nil
	})
	if err != nil {
		return err
	}
	if head != nil {
		if crt := getS(head, aClientToken); crt != "" {
			writes = append(writes, s.del(clientTokenPK(getS(head, aPipelineName), crt), skHead))
		}
		writes = append(writes, s.del(pk, skHead))
	}
	s.cache.forget(id)
	return s.writeLoose(ctx, writes)
}
