package tasks

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/claudebench/cb/daemon/store"
)

// Persister writes task snapshots to the store with group commit: every
// Save waits for its own write, and writes that arrive together share one
// transaction.
type Persister struct {
	st  store.Store
	in  chan saveReq
	log *slog.Logger
}

type saveReq struct {
	tasks []store.Task
	done  chan error
}

// maxBatch bounds one transaction.
const maxBatch = 512

// NewPersister prepares a persister; Run must be running for Save to return.
func NewPersister(st store.Store, log *slog.Logger) *Persister {
	return &Persister{st: st, in: make(chan saveReq, 1024), log: log}
}

// Save writes tasks (version-guarded) and returns when they are committed.
func (p *Persister) Save(ctx context.Context, tasks ...store.Task) error {
	if p == nil {
		return nil
	}
	req := saveReq{tasks: tasks, done: make(chan error, 1)}
	select {
	case p.in <- req:
	case <-ctx.Done():
		return fmt.Errorf("persist tasks: %w", ctx.Err())
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("persist tasks: %w", ctx.Err())
	}
}

// Flush returns once every Save queued before it is committed.
func (p *Persister) Flush(ctx context.Context) error { return p.Save(ctx) }

// Run commits batches until ctx is done, then drains what is queued.
func (p *Persister) Run(ctx context.Context) {
	for {
		select {
		case req := <-p.in:
			p.commit(req)
		case <-ctx.Done():
			for {
				select {
				case req := <-p.in:
					p.commit(req)
				default:
					return
				}
			}
		}
	}
}

func (p *Persister) commit(first saveReq) {
	reqs := []saveReq{first}
	n := len(first.tasks)
collect:
	for n < maxBatch {
		select {
		case r := <-p.in:
			reqs = append(reqs, r)
			n += len(r.tasks)
		default:
			break collect
		}
	}
	batch := make([]store.Task, 0, n)
	for _, r := range reqs {
		batch = append(batch, r.tasks...)
	}
	err := p.st.TaskUpsertMany(context.Background(), batch)
	if err != nil {
		p.log.Error("store write failed", "tasks", len(batch), "err", err)
		err = fmt.Errorf("persist %d tasks: %w", len(batch), err)
	}
	for _, r := range reqs {
		r.done <- err
	}
}
