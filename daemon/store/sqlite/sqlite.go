// Package sqlite is the SQLite backend of the ClaudeBench store, built on
// the pure-Go modernc.org/sqlite driver.
//
// The database runs in WAL mode with a busy timeout and foreign keys on.
// A single *sql.DB serves all calls: reads run concurrently on a small pool,
// while writes are serialized in-process by a context-aware gate and use
// BEGIN IMMEDIATE (_txlock=immediate), so concurrent writers in one process
// never see SQLITE_BUSY and writers in other processes wait for the busy
// timeout. Times are stored as Unix microseconds.
//
// Use it through store.Open; *Store implements store.Store.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/claudebench/cb/daemon/store/internal/model"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// BusyTimeout is how long a statement waits for a lock held by another
// connection (typically another process) before failing with SQLITE_BUSY.
const BusyTimeout = 10 * time.Second

// Checkpointing: SQLite's automatic checkpoint runs inside the commit that
// crosses its threshold, and a checkpoint ends with fsync, so now and then
// one write (and every request waiting on it) would stall for the disk.
// Instead the store turns it off and checkpoints from a goroutine of its
// own every CheckpointInterval, without blocking writers; if the WAL has
// grown past CheckpointResetFrames (writers kept it from being checkpointed
// to its end) one checkpoint runs between two writes, so that the next
// write starts the WAL over.
const (
	CheckpointInterval    = time.Second
	CheckpointResetFrames = 4096 // pages: 16 MiB of WAL
)

// Store is a store.Store backed by one SQLite database file.
type Store struct {
	db   *sql.DB
	path string

	stopCheckpoints chan struct{}
	checkpointsDone chan struct{}

	// writeGate serializes writes within the process: a buffered channel of
	// capacity one, so acquiring it can be abandoned when ctx ends.
	writeGate chan struct{}

	// Prepared statements for the fixed queries: parsing SQL is a large share
	// of the cost of a small statement.
	stmtTaskUpsert, stmtTaskGet, stmtTaskDelete,
	stmtTaskCount, stmtAuditInsert,
	stmtAttachmentCheck, stmtAttachmentUpsert,
	stmtAttachmentList, stmtAttachmentListKey *sql.Stmt

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) the SQLite database at path, creating its
// parent directory with mode 0700 and a new file with mode 0600, and applies
// any pending migrations. In-memory databases are not supported.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file::memory:") {
		return nil, fmt.Errorf("sqlite store: need a database file path, got %q", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: resolve path %q: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite store: create directory for %s: %w", abs, err)
	}
	// Create the file ourselves so it gets mode 0600; SQLite gives its -wal
	// and -shm files the same mode as the database.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: create %s: %w", abs, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlite store: create %s: %w", abs, err)
	}

	db, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("sqlite store: open %s: %w", abs, err)
	}
	conns := min(max(runtime.NumCPU(), 2), 8)
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)

	s := &Store{db: db, path: abs, writeGate: make(chan struct{}, 1),
		stopCheckpoints: make(chan struct{}), checkpointsDone: make(chan struct{})}
	if err := s.setup(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite store: open %s: %w", abs, err)
	}
	go s.checkpointLoop()
	return s, nil
}

func (s *Store) checkpointLoop() {
	defer close(s.checkpointsDone)
	t := time.NewTicker(CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopCheckpoints:
			return
		case <-t.C:
			_, _ = s.Checkpoint(context.Background())
		}
	}
}

// Checkpoint copies the WAL into the database file without blocking
// writers, and once more between two writes when the WAL has grown past
// CheckpointResetFrames. It returns the WAL's size in pages after.
func (s *Store) Checkpoint(ctx context.Context) (walFrames int, err error) {
	run := func() (int, error) {
		var busy, frames, done int
		if err := s.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done); err != nil {
			return 0, fmt.Errorf("sqlite store: checkpoint: %w", err)
		}
		return frames, nil
	}
	frames, err := run()
	if err != nil || frames <= CheckpointResetFrames {
		return frames, err
	}
	if err := s.lockWrite(ctx); err != nil {
		return frames, err
	}
	defer s.unlockWrite()
	return run()
}

// dsn builds the driver connection string for the database file abs. The
// path goes in a file: URI so that '?', '#' and '%' in it are escaped.
func dsn(abs string) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows drive paths: file:///C:/...
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "wal_autocheckpoint(0)") // see Checkpoint
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}
	return u.String()
}

// setup checks the connection, applies migrations and prepares statements.
func (s *Store) setup(ctx context.Context) error {
	// The first connection switches the file to WAL before any other opens.
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&s.stmtTaskUpsert, taskUpsertSQL},
		{&s.stmtTaskGet, taskGetSQL},
		{&s.stmtTaskDelete, taskDeleteSQL},
		{&s.stmtTaskCount, taskCountSQL},
		{&s.stmtAuditInsert, auditInsertSQL},
		{&s.stmtAttachmentCheck, attachmentCheckSQL},
		{&s.stmtAttachmentUpsert, attachmentUpsertSQL},
		{&s.stmtAttachmentList, attachmentListSQL},
		{&s.stmtAttachmentListKey, attachmentListKeySQL},
	} {
		stmt, err := s.db.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("prepare %.40q: %w", p.query, err)
		}
		*p.stmt = stmt
	}
	return nil
}

// lockWrite acquires the in-process write gate, or fails when ctx ends.
func (s *Store) lockWrite(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case s.writeGate <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// unlockWrite releases the write gate.
func (s *Store) unlockWrite() { <-s.writeGate }

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// Kind returns "sqlite".
func (s *Store) Kind() string { return model.KindSQLite }

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite store: ping: %w", err)
	}
	return nil
}

// Close closes the database. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stopCheckpoints)
		<-s.checkpointsDone
		for _, stmt := range []*sql.Stmt{s.stmtTaskUpsert, s.stmtTaskGet, s.stmtTaskDelete,
			s.stmtTaskCount, s.stmtAuditInsert, s.stmtAttachmentCheck, s.stmtAttachmentUpsert,
			s.stmtAttachmentList, s.stmtAttachmentListKey} {
			if stmt != nil {
				_ = stmt.Close()
			}
		}
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("sqlite store: close: %w", err)
		}
	})
	return s.closeErr
}

// notFound wraps model.ErrNotFound for a task id.
func notFound(id string) error {
	return fmt.Errorf("sqlite store: task %q: %w", id, model.ErrNotFound)
}

// isNoRows reports whether err is sql.ErrNoRows.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
