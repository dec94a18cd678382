package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/claudebench/cb/daemon/store/internal/model"
	"github.com/claudebench/cb/daemon/store/internal/query"
)

// untranslatableCharacter is PostgreSQL's SQLSTATE for a character text
// or jsonb cannot hold.
const untranslatableCharacter = "22P05"

// Attachment statements.
const (
	// attachmentLockSQL locks the task's row for the rest of the put's
	// transaction: puts on one task (from any daemon) then count and insert
	// one at a time, and a delete or tombstone of the task waits for the
	// put, so that its trigger sees (and drops) what the put wrote.
	attachmentLockSQL = `SELECT deleted FROM tasks WHERE id = $1 FOR UPDATE`
	// attachmentCountSQL runs after the lock, so (READ COMMITTED) it sees
	// every put committed before: a lock and a count in one statement
	// would count from a snapshot taken before the lock was granted.
	attachmentCountSQL = `SELECT count(*), coalesce(bool_or(key = $2), false)
		FROM task_attachments WHERE task_id = $1`
	// attachmentUpsertSQL inserts an attachment or replaces all but its
	// created_at, and returns the created_at it keeps.
	attachmentUpsertSQL = `INSERT INTO task_attachments (` + query.AttachmentColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (task_id, key) DO UPDATE SET
			type = excluded.type, value = excluded.value, size = excluded.size,
			created_by = excluded.created_by, updated_at = excluded.updated_at
		RETURNING created_at`
	attachmentListSQL = `SELECT ` + query.AttachmentColumns + ` FROM task_attachments
		WHERE task_id = ANY($1) ORDER BY task_id, created_at, key`
	attachmentListKeySQL = `SELECT ` + query.AttachmentColumns + ` FROM task_attachments
		WHERE task_id = ANY($1) AND key = $2 ORDER BY task_id, created_at, key`
)

// AttachmentPut stores a, replacing the attachment with its key if the task
// has one (keeping its created_at), in one transaction that locks the
// task's row, checks it is live and, for a new key, that the task has fewer
// than max attachments.
func (s *Store) AttachmentPut(ctx context.Context, a model.Attachment, max int) (model.Attachment, error) {
	a, err := model.NormalizeAttachment(a)
	if err != nil {
		return model.Attachment{}, fmt.Errorf("postgres store: put attachment: %w", err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var deleted bool
		err := tx.QueryRow(ctx, attachmentLockSQL, a.TaskID).Scan(&deleted)
		if isNoRows(err) || (err == nil && deleted) {
			return notFound(a.TaskID)
		}
		if err != nil {
			return fmt.Errorf("lock task: %w", err)
		}
		var (
			n      int
			exists bool
		)
		if err := tx.QueryRow(ctx, attachmentCountSQL, a.TaskID, a.Key).Scan(&n, &exists); err != nil {
			return fmt.Errorf("count: %w", err)
		}
		if !exists && max > 0 && n >= max {
			return fmt.Errorf("%w: the task has %d, the most allowed", model.ErrTooManyAttachments, n)
		}
		err = tx.QueryRow(ctx, attachmentUpsertSQL, a.TaskID, a.Key, a.Type, string(a.Value), a.Size,
			a.CreatedBy, a.CreatedAt.Time, a.UpdatedAt.Time).Scan(&a.CreatedAt.Time)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == untranslatableCharacter {
			// jsonb refuses \u0000 in a string, which JSON allows.
			return fmt.Errorf("%w: value: %s", model.ErrInvalidArgument, pgErr.Message)
		}
		return err
	})
	if errors.Is(err, model.ErrNotFound) {
		return model.Attachment{}, err
	}
	if err != nil {
		return model.Attachment{}, fmt.Errorf("postgres store: put attachment %q of task %q: %w", a.Key, a.TaskID, err)
	}
	a.CreatedAt.Time = a.CreatedAt.UTC()
	return a, nil
}

// AttachmentList returns the attachments of taskIDs (only key's when key is
// not empty), grouped by task in the order of taskIDs, oldest first within
// a task, read by the (task_id, created_at, key) index in one statement.
func (s *Store) AttachmentList(ctx context.Context, taskIDs []string, key string) ([]model.Attachment, error) {
	if len(taskIDs) == 0 {
		return nil, nil
	}
	stmt, args := attachmentListSQL, []any{taskIDs}
	if key != "" {
		stmt, args = attachmentListKeySQL, append(args, key)
	}
	rows, err := s.pool.Query(ctx, stmt, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres store: list attachments: %w", err)
	}
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (model.Attachment, error) {
		var a model.Attachment
		err := r.Scan(&a.TaskID, &a.Key, &a.Type, &a.Value, &a.Size, &a.CreatedBy, &a.CreatedAt.Time, &a.UpdatedAt.Time)
		a.CreatedAt.Time = a.CreatedAt.UTC()
		a.UpdatedAt.Time = a.UpdatedAt.UTC()
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres store: list attachments: %w", err)
	}
	return query.GroupAttachments(found, taskIDs), nil
}
