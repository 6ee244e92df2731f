package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/store"
)

// Pipelines: partition P#<name>; the head (sort key "0") holds the latest
// version's summary and is listed in IndexList under "PIPELINES"; each
// version is a blob (its declaration, gzipped JSON) under v#<version>#.
const (
	skHead        = "0"
	listPipelines = "PIPELINES"
)

func pipelinePK(name string) string { return key("P", name) }

func versionPrefix(v int) string { return fmt.Sprintf("v#%010d#", v) }

// pipelineWrites are the items of a new version of p: the head, whose put
// is conditional on cond (with vals), and the version's parts.
func (s *Store) pipelineWrites(p *store.Pipeline, cond string, vals item) ([]types.TransactWriteItem, error) {
	decl, err := json.Marshal(&p.Declaration)
	if err != nil {
		return nil, fmt.Errorf("dynamo store: encoding pipeline %s: %w", p.Name, err)
	}
	pk := pipelinePK(p.Name)
	head := item{
		attrPK: sv(pk), attrSK: sv(skHead), attrG1PK: sv(listPipelines), attrG1SK: sv(p.Name),
		aName: sv(p.Name), aVersion: nv(int64(p.Version)),
		aPipelineType: sv(p.Declaration.EffectiveType()), aMode: sv(p.Declaration.EffectiveExecutionMode()),
		aCreated: nv(store.Nanos(p.Created)), aUpdated: nv(store.Nanos(p.Updated)),
	}
	first := item{aCreated: nv(store.Nanos(p.Created)), aUpdated: nv(store.Nanos(p.Updated))}
	if p.Tags != nil {
		tags, err := json.Marshal(p.Tags)
		if err != nil {
			return nil, fmt.Errorf("dynamo store: encoding tags of pipeline %s: %w", p.Name, err)
		}
		first[aTags] = sv(string(tags))
	}
	put := &types.Put{TableName: s.table, Item: head, ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: namesOf(cond)}
	if len(vals) > 0 {
		put.ExpressionAttributeValues = vals
	}
	writes := []types.TransactWriteItem{{Put: put}}
	for _, it := range blobItems(pk, versionPrefix(p.Version), compress(decl), first) {
		writes = append(writes, s.put(it))
	}
	return writes, nil
}

// CreatePipeline stores p as version 1 of a new pipeline and sets p's
// Version (and the declaration's); Created and Updated default to now (each
// to the other when only one is given).
func (s *Store) CreatePipeline(ctx context.Context, p *store.Pipeline) error {
	c, err := store.NewPipeline(p, time.Now())
	if err != nil {
		return err
	}
	writes, err := s.pipelineWrites(&c, "attribute_not_exists(#pk)", nil)
	if err != nil {
		return err
	}
	if err := s.transact(ctx, writes); err != nil {
		if codes, ok := cancelReasons(err); ok && codes[0] == "ConditionalCheckFailed" {
			return errs.Of(errs.Conflict, errs.KindPipeline, "pipeline %s already exists", c.Name)
		}
		if e := conflictOf(err, errs.KindPipeline, "creating pipeline "+c.Name); e != nil {
			return e
		}
		return fmt.Errorf("dynamo store: creating pipeline %s: %w", c.Name, err)
	}
	*p = c
	return nil
}

// UpdatePipeline stores p as the next version of an existing pipeline and
// returns the stored record; p itself is not modified. Created is carried
// over from version 1; Tags, when nil, from the previous version. Concurrent
// updates each get a version of their own (a lost race is retried).
func (s *Store) UpdatePipeline(ctx context.Context, p *store.Pipeline) (*store.Pipeline, error) {
	name, err := store.PipelineName(p)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		prev, err := s.GetPipeline(ctx, name, 0)
		if err != nil {
			return nil, err
		}
		c := *p
		c.Created = prev.Created
		if c.Updated.IsZero() {
			c.Updated = time.Now()
		}
		if c.Tags == nil {
			c.Tags = prev.Tags
		}
		store.Stamp(&c, name, prev.Version+1)
		writes, err := s.pipelineWrites(&c, "#v = :v", item{":v": nv(int64(prev.Version))})
		if err != nil {
			return nil, err
		}
		err = s.transact(ctx, writes)
		if err == nil {
			return &c, nil
		}
		codes, ok := cancelReasons(err)
		if !ok || (codes[0] != "ConditionalCheckFailed" && codes[0] != "TransactionConflict") || attempt >= 10 {
			return nil, fmt.Errorf("dynamo store: updating pipeline %s: %w", name, err)
		}
		// Another version was stored (or the pipeline deleted) since the
		// read: read again.
	}
}

// GetPipeline returns one version of a pipeline, the latest when version is 0.
func (s *Store) GetPipeline(ctx context.Context, name string, version int) (*store.Pipeline, error) {
	return untorn(ctx, func() (*store.Pipeline, error) { return s.readPipeline(ctx, name, version) })
}

func (s *Store) readPipeline(ctx context.Context, name string, version int) (*store.Pipeline, error) {
	pk := pipelinePK(name)
	latest := version == 0
	if latest {
		head, err := s.getItem(ctx, pk, skHead)
		if err != nil {
			return nil, fmt.Errorf("dynamo store: reading pipeline %s: %w", name, err)
		}
		if head == nil {
			return nil, errs.Of(errs.NotFound, errs.KindPipeline, "pipeline %s not found", name)
		}
		version = int(getN(head, aVersion))
	} else if version < 0 {
		return nil, errs.Of(errs.NotFound, errs.KindPipelineVersion, "pipeline %s has no version %d", name, version)
	}
	prefix := versionPrefix(version)
	var parts []item
	err := s.partition(ctx, pk, prefix, prefix+"~", nil, func(it item) (bool, error) {
		parts = append(parts, it)
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("dynamo store: reading pipeline %s: %w", name, err)
	}
	if len(parts) == 0 && latest {
		// The head names it: its parts are being written with it.
		return nil, fmt.Errorf("dynamo store: reading pipeline %s version %d: %w", name, version, errTorn)
	}
	if len(parts) == 0 {
		return nil, errs.Of(errs.NotFound, errs.KindPipelineVersion, "pipeline %s has no version %d", name, version)
	}
	decl, err := joinBlob(parts)
	if err != nil {
		return nil, fmt.Errorf("dynamo store: reading pipeline %s version %d: %w", name, version, err)
	}
	p := &store.Pipeline{Name: name, Version: version}
	if err := json.Unmarshal(decl, &p.Declaration); err != nil {
		return nil, fmt.Errorf("dynamo store: decoding pipeline %s version %d: %w", name, version, err)
	}
	if tags := getS(parts[0], aTags); tags != "" {
		if err := json.Unmarshal([]byte(tags), &p.Tags); err != nil {
			return nil, fmt.Errorf("dynamo store: decoding tags of pipeline %s: %w", name, err)
		}
	}
	p.Created, p.Updated = store.FromNanos(getN(parts[0], aCreated)), store.FromNanos(getN(parts[0], aUpdated))
	return p, nil
}

// ListPipelines lists the latest version of every pipeline, by name, from
// IndexList.
func (s *Store) ListPipelines(ctx context.Context, page store.Page) ([]store.PipelineSummary, string, error) {
	in := &dynamodb.QueryInput{
		TableName:                 s.table,
		IndexName:                 aws.String(IndexList),
		KeyConditionExpression:    aws.String("g1pk = :l"),
		ExpressionAttributeValues: item{":l": sv(listPipelines)},
	}
	if page.Token != "" {
		t, err := decodeToken(page.Token, "pipelines", "")
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = item{attrG1PK: sv(listPipelines), attrG1SK: sv(t.Name), attrPK: sv(pipelinePK(t.Name)), attrSK: sv(skHead)}
	}
	limit := limitOf(page)
	in.Limit = aws.Int32(int32(min(limit+1, 1000)))
	out := []store.PipelineSummary{}
	err := s.queryAll(ctx, in, func(it item) (bool, error) {
		out = append(out, store.PipelineSummary{
			Name: getS(it, aName), Version: int(getN(it, aVersion)),
			PipelineType: getS(it, aPipelineType), ExecutionMode: getS(it, aMode),
			Created: store.FromNanos(getN(it, aCreated)), Updated: store.FromNanos(getN(it, aUpdated)),
		})
		return len(out) <= limit, nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("dynamo store: listing pipelines: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = encodeToken(pageToken{Kind: "pipelines", Name: out[limit-1].Name})
	}
	return out, next, nil
}

// DeletePipeline removes every version of a pipeline and every execution of
// it with their items, client request tokens and jobs, and its stage locks.
// The head goes last, so that a delete cut short can be run again.
func (s *Store) DeletePipeline(ctx context.Context, name string) error {
	pk := pipelinePK(name)
	head, err := s.getItem(ctx, pk, skHead)
	if err != nil {
		return fmt.Errorf("dynamo store: deleting pipeline %s: %w", name, err)
	}
	if head == nil {
		return errs.Of(errs.NotFound, errs.KindPipeline, "pipeline %s not found", name)
	}
	var ids []string
	err = s.queryAll(ctx, &dynamodb.QueryInput{
		IndexName:                 aws.String(IndexList),
		KeyConditionExpression:    aws.String("g1pk = :l"),
		ExpressionAttributeValues: item{":l": sv(executionsOf(name))},
		ProjectionExpression:      aws.String(aExecID),
	}, func(it item) (bool, error) {
		ids = append(ids, getS(it, aExecID))
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("dynamo store: listing the executions of pipeline %s: %w", name, err)
	}
	for _, id := range ids {
		if err := s.deleteExecution(ctx, id); err != nil {
			return fmt.Errorf("dynamo store: deleting execution %s of pipeline %s: %w", id, name, err)
		}
	}
	var writes []types.TransactWriteItem
	err = s.partition(ctx, pk, "1", "", []string{attrPK, attrSK}, func(it item) (bool, error) {
		writes = append(writes, s.del(pk, getS(it, attrSK)))
		return true, nil
	})
	if err == nil {
		writes = append(writes, s.del(locksPK(name), skHead), s.del(pk, skHead))
		err = s.writeLoose(ctx, writes)
	}
	if err != nil {
		return fmt.Errorf("dynamo store: deleting pipeline %s: %w", name, err)
	}
	return nil
}
