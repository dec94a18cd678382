-- O(page) task lists, exact counts kept by the writes, and purge.
--
-- Every list order is (key, id_len, id) in one direction (length
-- first, so "t-<digits>" ids sort numerically; "queue" uses -priority so
-- that priority descending, id ascending is one direction too). A page
-- after a cursor is then a row-value range on one of these indexes, read in
-- order from the cursor on: no count, no OFFSET, no sort. There is one index
-- per {filter} x {key}; each serves both directions, and the (status,
-- updated_at) ones also serve updatedBefore and the purge. The assignee
-- and session indexes leave out the tasks without one (most of the queue),
-- so a plain pending task is written to ten of them. Secondary indexes of a
-- WITHOUT ROWID table end with the primary key anyway, so the trailing id
-- costs nothing. length(id) and -priority are virtual generated columns
-- (computed on read, never stored in the row): SQLite seeks an index by a
-- row-value range such as (neg_priority, id_len, id) > (?, ?, ?) only on
-- plain columns, and scans from the start of the index on expressions.
ALTER TABLE tasks ADD COLUMN id_len INTEGER GENERATED ALWAYS AS (length(id)) VIRTUAL;
ALTER TABLE tasks ADD COLUMN neg_priority INTEGER GENERATED ALWAYS AS (-priority) VIRTUAL;

DROP INDEX tasks_status_created;
DROP INDEX tasks_assigned;

CREATE INDEX tasks_created  ON tasks (created_at, id_len, id) WHERE deleted = 0;
CREATE INDEX tasks_updated  ON tasks (updated_at, id_len, id) WHERE deleted = 0;
CREATE INDEX tasks_priority ON tasks (priority, id_len, id)   WHERE deleted = 0;
CREATE INDEX tasks_queue    ON tasks (neg_priority, id_len, id)  WHERE deleted = 0;
CREATE INDEX tasks_id       ON tasks (id_len, id)             WHERE deleted = 0;

CREATE INDEX tasks_status_created  ON tasks (status, created_at, id_len, id) WHERE deleted = 0;
CREATE INDEX tasks_status_updated  ON tasks (status, updated_at, id_len, id) WHERE deleted = 0;
CREATE INDEX tasks_status_priority ON tasks (status, priority, id_len, id)   WHERE deleted = 0;
CREATE INDEX tasks_status_queue    ON tasks (status, neg_priority, id_len, id)  WHERE deleted = 0;
CREATE INDEX tasks_status_id       ON tasks (status, id_len, id)             WHERE deleted = 0;

CREATE INDEX tasks_assigned_created  ON tasks (assigned_to, created_at, id_len, id) WHERE deleted = 0 AND assigned_to != '';
CREATE INDEX tasks_assigned_updated  ON tasks (assigned_to, updated_at, id_len, id) WHERE deleted = 0 AND assigned_to != '';
CREATE INDEX tasks_assigned_priority ON tasks (assigned_to, priority, id_len, id)   WHERE deleted = 0 AND assigned_to != '';
CREATE INDEX tasks_assigned_queue    ON tasks (assigned_to, neg_priority, id_len, id)  WHERE deleted = 0 AND assigned_to != '';
CREATE INDEX tasks_assigned_id       ON tasks (assigned_to, id_len, id)             WHERE deleted = 0 AND assigned_to != '';

CREATE INDEX tasks_session_created  ON tasks (json_extract(metadata, '$.sessionId'), created_at, id_len, id) WHERE deleted = 0 AND json_extract(metadata, '$.sessionId') IS NOT NULL;
CREATE INDEX tasks_session_updated  ON tasks (json_extract(metadata, '$.sessionId'), updated_at, id_len, id) WHERE deleted = 0 AND json_extract(metadata, '$.sessionId') IS NOT NULL;
CREATE INDEX tasks_session_priority ON tasks (json_extract(metadata, '$.sessionId'), priority, id_len, id)   WHERE deleted = 0 AND json_extract(metadata, '$.sessionId') IS NOT NULL;
CREATE INDEX tasks_session_queue    ON tasks (json_extract(metadata, '$.sessionId'), neg_priority, id_len, id)  WHERE deleted = 0 AND json_extract(metadata, '$.sessionId') IS NOT NULL;
CREATE INDEX tasks_session_id       ON tasks (json_extract(metadata, '$.sessionId'), id_len, id)             WHERE deleted = 0 AND json_extract(metadata, '$.sessionId') IS NOT NULL;

-- Tombstones, for the purge (few: a delete is rare).
CREATE INDEX tasks_tombstones ON tasks (updated_at) WHERE deleted = 1;

-- Live tasks per status, kept by triggers so that counting costs the same
-- at any size. A stale upsert updates no row and fires nothing.
CREATE TABLE task_counts (
    status TEXT    NOT NULL PRIMARY KEY,
    n      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO task_counts (status, n) VALUES ('pending', 0), ('in_progress', 0), ('completed', 0), ('failed', 0);
INSERT INTO task_counts (status, n) SELECT status, count(*) FROM tasks WHERE deleted = 0 GROUP BY status
    ON CONFLICT (status) DO UPDATE SET n = excluded.n;

CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks WHEN NEW.deleted = 0
BEGIN
    UPDATE task_counts SET n = n + 1 WHERE status = NEW.status;
END;

CREATE TRIGGER tasks_count_update AFTER UPDATE OF status, deleted ON tasks
    WHEN NEW.status != OLD.status OR NEW.deleted != OLD.deleted
BEGIN
    UPDATE task_counts SET n = n - 1 WHERE status = OLD.status AND OLD.deleted = 0;
    UPDATE task_counts SET n = n + 1 WHERE status = NEW.status AND NEW.deleted = 0;
END;

CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks WHEN OLD.deleted = 0
BEGIN
    UPDATE task_counts SET n = n - 1 WHERE status = OLD.status;
END;

-- Audit pages by (time, id) newest first; the session filter likewise.
DROP INDEX audit_records_session_time;
CREATE INDEX audit_records_session_time ON audit_records (session_id, time, id);
