package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/pipeline"
	"github.com/stageflow/stageflow/shared/store"
)

// A job is the item J#<id>, "0": the job as JSON in body, its status and
// version beside it. A Queued job is listed in IndexQueue under its action
// type, by creation; an unfinished job with a deadline in IndexDue under
// "DUE", by deadline. A finished job gets a TTL (now + the retention):
// DynamoDB deletes it some time after, and until then the store treats it
// as gone once the TTL has passed.
const listDue = "DUE"

func jobPK(id string) string { return key("J", id) }

func queueKey(t pipeline.ActionTypeID) string {
	return key("Q", t.Category, t.Owner, t.Provider, t.Version)
}

func finished(st store.JobStatus) bool {
	return st == store.JobSucceeded || st == store.JobFailed || st == store.JobTimedOut
}

// jobItem encodes j for storing as version.
func (s *Store) jobItem(j *store.Job, version int64) (item, error) {
	c := *j
	c.Version = version
	body, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("dynamo store: encoding job %s: %w", j.ID, err)
	}
	it := item{
		attrPK: sv(jobPK(j.ID)), attrSK: sv(skHead),
		aBody: sv(string(body)), aStatus: sv(string(j.Status)), aVersion: nv(version),
	}
	if j.Status == store.JobQueued {
		it[attrG2PK], it[attrG2SK] = sv(queueKey(j.ActionTypeID)), sv(ord(store.Nanos(j.Created))+"#"+key(j.ID))
	}
	if !finished(j.Status) && !j.Deadline.IsZero() {
		it[attrG3PK], it[attrG3SK] = sv(listDue), sv(ord(store.Nanos(j.Deadline))+"#"+key(j.ID))
	}
	if finished(j.Status) {
		it[attrTTL] = nv(s.now().Add(s.jobRetention).Unix())
	}
	return it, nil
}

// decodeJob decodes a stored job; nil when its TTL has passed.
func (s *Store) decodeJob(it item) (*store.Job, error) {
	if s.expired(it) {
		return nil, nil
	}
	j := new(store.Job)
	if err := json.Unmarshal([]byte(getS(it, aBody)), j); err != nil {
		return nil, fmt.Errorf("dynamo store: decoding job: %w", err)
	}
	j.Version = getN(it, aVersion)
	return j, nil
}

// expired reports whether the item's TTL has passed (DynamoDB deletes
// expired items only eventually: until then they are still readable).
func (s *Store) expired(it item) bool {
	_, has := it[attrTTL]
	return has && getN(it, attrTTL) <= s.now().Unix()
}

func (s *Store) nowValue() types.AttributeValue { return nv(s.now().Unix()) }

// CreateJob stores j with Version 1 (and sets j.Version). An empty Status
// means Queued; Created defaults to now and Updated to Created. A job of an
// execution gets a pointer in the execution's partition, in the same
// transaction, so that deleting the execution deletes it.
func (s *Store) CreateJob(ctx context.Context, j *store.Job) error {
	c, err := store.NewJob(j, time.Now())
	if err != nil {
		return err
	}
	it, err := s.jobItem(&c, 1)
	if err != nil {
		return err
	}
	cond := "attribute_not_exists(#pk) OR #ttl <= :now"
	put := &types.Put{TableName: s.table, Item: it, ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: namesOf(cond), ExpressionAttributeValues: item{":now": s.nowValue()}}
	if c.ExecutionID == "" {
		_, err = s.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.table, Item: put.Item, ConditionExpression: put.ConditionExpression,
			ExpressionAttributeNames: put.ExpressionAttributeNames, ExpressionAttributeValues: put.ExpressionAttributeValues})
	} else {
		ref := item{attrPK: sv(execPK(c.ExecutionID)), attrSK: sv(skJobRef + key(c.ID)), aValue: sv(c.ID)}
		err = s.transact(ctx, []types.TransactWriteItem{{Put: put}, s.put(ref)})
		if codes, ok := cancelReasons(err); ok && codes[0] == "ConditionalCheckFailed" {
			err = &types.ConditionalCheckFailedException{}
		}
	}
	if conditionFailed(err) {
		return errs.Of(errs.Conflict, errs.KindJob, "job %s already exists", c.ID)
	}
	if err != nil {
		if e := conflictOf(err, errs.KindJob, "creating job "+c.ID); e != nil {
			return e
		}
		return fmt.Errorf("dynamo store: creating job %s: %w", c.ID, err)
	}
	c.Version = 1
	*j = c
	return nil
}

// GetJob returns the job with the given ID.
func (s *Store) GetJob(ctx context.Context, id string) (*store.Job, error) {
	it, err := s.getItem(ctx, jobPK(id), skHead)
	if err != nil {
		return nil, fmt.Errorf("dynamo store: reading job %s: %w", id, err)
	}
	var j *store.Job
	if it != nil {
		if j, err = s.decodeJob(it); err != nil {
			return nil, err
		}
	}
	if j == nil {
		return nil, errs.Of(errs.NotFound, errs.KindJob, "job %s not found", id)
	}
	return j, nil
}

// putJob writes j as the version after j.Version if the stored one is still
// j.Version and not expired; false when it is not.
func (s *Store) putJob(ctx context.Context, j *store.Job) (bool, error) {
	it, err := s.jobItem(j, j.Version+1)
	if err != nil {
		return false, err
	}
	cond := "#v = :v AND (attribute_not_exists(#ttl) OR #ttl > :now)"
	_, err = s.c.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: s.table, Item: it, ConditionExpression: aws.String(cond),
		ExpressionAttributeNames:  namesOf(cond),
		ExpressionAttributeValues: item{":v": nv(j.Version), ":now": s.nowValue()},
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dynamo store: updating job %s: %w", j.ID, err)
	}
	return true, nil
}

// UpdateJob writes j if the stored Version equals j.Version, then bumps
// j.Version.
func (s *Store) UpdateJob(ctx context.Context, j *store.Job) error {
	ok, err := s.putJob(ctx, j)
	if err != nil {
		return err
	}
	if !ok {
		stored, err := s.GetJob(ctx, j.ID)
		if err != nil {
			return err
		}
		return errs.Of(errs.Conflict, errs.KindJob, "job %s changed: version %d, not %d", j.ID, stored.Version, j.Version)
	}
	j.Version++
	return nil
}

// PollJobs hands out up to max (1 when max ≤ 0) Queued jobs of the action
// type, oldest first, marking them Dispatched at now. Candidates come from
// IndexQueue; each is read strongly consistent and handed out by a
// conditional write, so two pollers never get the same job.
func (s *Store) PollJobs(ctx context.Context, typ pipeline.ActionTypeID, max int, now time.Time) ([]*store.Job, error) {
	if max <= 0 {
		max = 1
	}
	out := []*store.Job{}
	err := s.queryAll(ctx, &dynamodb.QueryInput{
		IndexName:                 aws.String(IndexQueue),
		KeyConditionExpression:    aws.String("g2pk = :q"),
		ExpressionAttributeValues: item{":q": sv(queueKey(typ))},
		Limit:                     aws.Int32(int32(min(2*max, 1000))),
	}, func(k item) (bool, error) {
		it, err := s.getItem(ctx, getS(k, attrPK), skHead)
		if err != nil || it == nil {
			return true, err
		}
		j, err := s.decodeJob(it)
		if err != nil || j == nil || j.Status != store.JobQueued || j.ActionTypeID != typ {
			return true, err
		}
		j.Status, j.Updated = store.JobDispatched, now
		ok, err := s.putJob(ctx, j)
		if err != nil {
			return false, err
		}
		if ok {
			j.Version++
			out = append(out, j)
		}
		return len(out) < max, nil
	})
	if err != nil {
		return nil, fmt.Errorf("dynamo store: polling jobs of %s: %w", typ, err)
	}
	return out, nil
}

// ListExpiredJobs returns the jobs not finished whose Deadline is set and
// before now, earliest deadline first, from IndexDue.
func (s *Store) ListExpiredJobs(ctx context.Context, now time.Time) ([]*store.Job, error) {
	out := []*store.Job{}
	err := s.queryAll(ctx, &dynamodb.QueryInput{
		IndexName:                 aws.String(IndexDue),
		KeyConditionExpression:    aws.String("g3pk = :d AND g3sk < :now"),
		ExpressionAttributeValues: item{":d": sv(listDue), ":now": sv(ord(store.Nanos(now)))},
	}, func(k item) (bool, error) {
		it, err := s.getItem(ctx, getS(k, attrPK), skHead)
		if err != nil || it == nil {
			return true, err
		}
		j, err := s.decodeJob(it)
		if err == nil && j != nil && !finished(j.Status) && !j.Deadline.IsZero() && j.Deadline.Before(now) {
			out = append(out, j)
		}
		return true, err
	})
	if err != nil {
		return nil, fmt.Errorf("dynamo store: listing expired jobs: %w", err)
	}
	slices.SortStableFunc(out, func(a, b *store.Job) int { return a.Deadline.Compare(b.Deadline) })
	return out, nil
}
