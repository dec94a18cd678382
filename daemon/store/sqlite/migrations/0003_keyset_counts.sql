-- O(page) task lists, exact counts kept by the writes, and purge.
--
-- Every list order is (key, length(id), id) in one direction (length
-- first, so "t-<digits>" ids sort numerically). Three keys serve the five
-- orders: created_at (createdAt, and id: an id is made from its creation
-- time), updated_at, and -priority (queue: priority descending, id
-- ascending, Redis's claim order; priority is the same order, desc = queue
-- asc). A page after a cursor is then a row-value range on one of these
-- indexes, read in order from the cursor on: no count, no OFFSET, no sort.
-- The status filter has an index per key; a list without a filter reads
-- each status's page from them and merges the four (see query.TaskList),
-- so no index of the whole table is kept. The assignee and session filters
-- (one worker's or one session's tasks) have created_at and updated_at
-- indexes, and sort their matches for queue and priority. Each index serves
-- both directions, and (status, updated_at) also serves updatedBefore and
-- the purge. The assignee and session indexes leave out the tasks without
-- one (most of the queue), so a plain pending task is written to three
-- indexes: every task write pays for each, before it is answered.
-- Secondary indexes of a WITHOUT ROWID table end with the primary key
-- anyway, so the trailing id costs nothing.
--
-- The table is rebuilt with two more columns. SQLite seeks an index by a
-- row-value range such as (neg_priority, id_len, id) > (?, ?, ?) only on
-- columns (on expressions it scans from the start of the index), so
-- length(id) and -priority become virtual generated columns (computed, not
-- stored). metadata's sessionId is a plain column that the upsert fills
-- (json_extract of its metadata parameter): SQLite never answers from an
-- index alone when the query uses a generated column, virtual or stored,
-- so a count by session would read every matching row; and json_extract
-- runs once per write instead of once per session index. ANY: a sessionId
-- that is not a string must not fail the write of a STRICT row.
CREATE TABLE tasks_v3 (
    id           TEXT    NOT NULL PRIMARY KEY,
    text         TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    priority     INTEGER NOT NULL DEFAULT 0,
    assigned_to  TEXT    NOT NULL DEFAULT '',
    attempts     INTEGER NOT NULL DEFAULT 0,
    metadata     TEXT,
    result       TEXT,
    error        TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0,
    id_len       INTEGER GENERATED ALWAYS AS (length(id)) VIRTUAL,
    neg_priority INTEGER GENERATED ALWAYS AS (-priority) VIRTUAL,
    session_id   ANY
) STRICT, WITHOUT ROWID;

INSERT INTO tasks_v3 (id, text, status, priority, assigned_to, attempts, metadata, result, error, created_at, updated_at, version, deleted, session_id)
SELECT id, text, status, priority, assigned_to, attempts, metadata, result, error, created_at, updated_at, version, deleted,
       json_extract(metadata, '$.sessionId') FROM tasks;

DROP TABLE tasks; -- and its indexes
ALTER TABLE tasks_v3 RENAME TO tasks;

CREATE INDEX tasks_status_created  ON tasks (status, created_at, id_len, id) WHERE deleted = 0;
CREATE INDEX tasks_status_updated  ON tasks (status, updated_at, id_len, id) WHERE deleted = 0;
CREATE INDEX tasks_status_queue    ON tasks (status, neg_priority, id_len, id)  WHERE deleted = 0;

CREATE INDEX tasks_assigned_created  ON tasks (assigned_to, created_at, id_len, id) WHERE deleted = 0 AND assigned_to != '';
CREATE INDEX tasks_assigned_updated  ON tasks (assigned_to, updated_at, id_len, id) WHERE deleted = 0 AND assigned_to != '';

CREATE INDEX tasks_session_created  ON tasks (session_id, created_at, id_len, id) WHERE deleted = 0 AND session_id IS NOT NULL;
CREATE INDEX tasks_session_updated  ON tasks (session_id, updated_at, id_len, id) WHERE deleted = 0 AND session_id IS NOT NULL;

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

-- Audit pages by (time, id) newest first; the session and decision filters
-- likewise (the dashboard asks for the latest denials on every load: rare
-- in a large audit, they would otherwise be found by reading it backwards).
DROP INDEX audit_records_session_time;
CREATE INDEX audit_records_session_time ON audit_records (session_id, time, id);
CREATE INDEX audit_records_decision_time ON audit_records (decision, time, id);
