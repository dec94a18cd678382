package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/claudebench/cb/daemon/store/internal/model"
	"github.com/claudebench/cb/daemon/store/internal/query"
)

// Attachment statements, prepared at Open.
const (
	// attachmentCheckSQL reads, in one statement, whether the task is live
	// and how many attachments it has, and whether key (?2) is one of them.
	attachmentCheckSQL = `SELECT deleted,
		(SELECT count(*) FROM task_attachments WHERE task_id = ?1),
		EXISTS (SELECT 1 FROM task_attachments WHERE task_id = ?1 AND key = ?2)
		FROM tasks WHERE id = ?1`
	// attachmentUpsertSQL inserts an attachment or replaces all but its
	// created_at, and returns the created_at it keeps.
	attachmentUpsertSQL = `INSERT INTO task_attachments (` + query.AttachmentColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (task_id, key) DO UPDATE SET
			type = excluded.type, value = excluded.value, size = excluded.size,
			created_by = excluded.created_by, updated_at = excluded.updated_at
		RETURNING created_at`
	// The ids come as one JSON array (?1), so that one statement serves any
	// number of them.
	attachmentListSQL = `SELECT ` + query.AttachmentColumns + ` FROM task_attachments
		WHERE task_id IN (SELECT value FROM json_each(?1)) ORDER BY task_id, created_at, key`
	attachmentListKeySQL = `SELECT ` + query.AttachmentColumns + ` FROM task_attachments
		WHERE task_id IN (SELECT value FROM json_each(?1)) AND key = ?2 ORDER BY task_id, created_at, key`
)

// AttachmentPut stores a, replacing the attachment with its key if the task
// has one (keeping its created_at), in one IMMEDIATE transaction that
// checks the task is live and, for a new key, that the task has fewer than
// max attachments.
func (s *Store) AttachmentPut(ctx context.Context, a model.Attachment, max int) (model.Attachment, error) {
	a, err := model.NormalizeAttachment(a)
	if err != nil {
		return model.Attachment{}, fmt.Errorf("sqlite store: put attachment: %w", err)
	}
	errorf := func(format string, args ...any) error {
		return fmt.Errorf("sqlite store: put attachment %q of task %q: "+format, append([]any{a.Key, a.TaskID}, args...)...)
	}
	if err := s.lockWrite(ctx); err != nil {
		return model.Attachment{}, errorf("%w", err)
	}
	defer s.unlockWrite()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return model.Attachment{}, errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()

	var (
		deleted, exists bool
		n               int
	)
	err = tx.StmtContext(ctx, s.stmtAttachmentCheck).QueryRowContext(ctx, a.TaskID, a.Key).Scan(&deleted, &n, &exists)
	if isNoRows(err) || (err == nil && deleted) {
		return model.Attachment{}, notFound(a.TaskID)
	}
	if err != nil {
		return model.Attachment{}, errorf("%w", err)
	}
	if !exists && max > 0 && n >= max {
		return model.Attachment{}, errorf("%w: the task has %d, the most allowed", model.ErrTooManyAttachments, n)
	}
	var createdAt int64
	if err := tx.StmtContext(ctx, s.stmtAttachmentUpsert).QueryRowContext(ctx,
		a.TaskID, a.Key, a.Type, string(a.Value), a.Size, a.CreatedBy,
		a.CreatedAt.UnixMicro(), a.UpdatedAt.UnixMicro()).Scan(&createdAt); err != nil {
		return model.Attachment{}, errorf("%w", err)
	}
	if err := tx.Commit(); err != nil {
		return model.Attachment{}, errorf("commit: %w", err)
	}
	a.CreatedAt.Time = time.UnixMicro(createdAt).UTC()
	return a, nil
}

// AttachmentList returns the attachments of taskIDs (only key's when key is
// not empty), grouped by task in the order of taskIDs, oldest first within
// a task, read by the (task_id, created_at, key) index.
func (s *Store) AttachmentList(ctx context.Context, taskIDs []string, key string) ([]model.Attachment, error) {
	if len(taskIDs) == 0 {
		return nil, nil
	}
	ids, err := json.Marshal(taskIDs)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: list attachments: %w", err)
	}
	stmt, args := s.stmtAttachmentList, []any{string(ids)}
	if key != "" {
		stmt, args = s.stmtAttachmentListKey, append(args, key)
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: list attachments: %w", err)
	}
	var found []model.Attachment
	for rows.Next() {
		var (
			a                    model.Attachment
			value                []byte
			createdAt, updatedAt int64
		)
		if err := rows.Scan(&a.TaskID, &a.Key, &a.Type, &value, &a.Size, &a.CreatedBy, &createdAt, &updatedAt); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("sqlite store: list attachments: %w", err)
		}
		a.Value = value
		a.CreatedAt.Time = time.UnixMicro(createdAt).UTC()
		a.UpdatedAt.Time = time.UnixMicro(updatedAt).UTC()
		found = append(found, a)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("sqlite store: list attachments: %w", err)
	}
	return query.GroupAttachments(found, taskIDs), nil
}
