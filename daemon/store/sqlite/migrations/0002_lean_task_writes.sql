-- Fewer b-trees per task write. Every task change is written through
-- before it is answered, and each b-tree a row touches is one more page
-- (two pwrite calls) in every commit, so the tasks table is rebuilt as a
-- WITHOUT ROWID table keyed by id (no separate primary-key index), and the
-- indexes that only served an ORDER BY are dropped: TaskList counts every
-- matching row anyway, so sorting them costs about as much as that count.
-- The assignee index leaves out unassigned tasks (most pending ones).
CREATE TABLE tasks_v2 (
    id          TEXT    NOT NULL PRIMARY KEY,
    text        TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    priority    INTEGER NOT NULL DEFAULT 0,
    assigned_to TEXT    NOT NULL DEFAULT '',
    attempts    INTEGER NOT NULL DEFAULT 0,
    metadata    TEXT,
    result      TEXT,
    error       TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

INSERT INTO tasks_v2 (id, text, status, priority, assigned_to, attempts, metadata, result, error, created_at, updated_at, version, deleted)
SELECT id, text, status, priority, assigned_to, attempts, metadata, result, error, created_at, updated_at, version, deleted FROM tasks;

DROP TABLE tasks;
ALTER TABLE tasks_v2 RENAME TO tasks;

CREATE INDEX tasks_status_created ON tasks (status, created_at) WHERE deleted = 0;
-- TaskList repeats "assigned_to != ''" in its WHERE so the planner can use it.
CREATE INDEX tasks_assigned ON tasks (assigned_to) WHERE deleted = 0 AND assigned_to != '';
