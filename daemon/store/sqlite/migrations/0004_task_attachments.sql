-- Task attachments (task.attach): typed key/value entries of a task, at
-- most one per key. value is the JSON text as given; size is its length
-- in bytes. Times are Unix microseconds (UTC). Keyed by (task_id, key), so
-- a put finds its row, and a task's count, by the primary key; the index
-- reads a task's attachments oldest first (ties by key) without sorting.
CREATE TABLE task_attachments (
    task_id    TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    created_by TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (task_id, key)
) STRICT, WITHOUT ROWID;

CREATE INDEX task_attachments_task_created ON task_attachments (task_id, created_at, key);

-- Attachments go with their task: a delete (TaskDelete, the purge) and a
-- tombstone remove them in the same statement. Triggers rather than a
-- foreign key: a tombstone keeps its row, and with a cascading key a
-- migration that rebuilds tasks (DROP TABLE, as 0002 and 0003 did) would
-- delete every attachment. Such a migration drops these triggers with the
-- table and must create them again, like the count triggers. The
-- tombstone trigger's WHEN is all a live task's upsert pays.
CREATE TRIGGER tasks_attachments_delete AFTER DELETE ON tasks
BEGIN
    DELETE FROM task_attachments WHERE task_id = OLD.id;
END;

CREATE TRIGGER tasks_attachments_tombstone AFTER UPDATE OF deleted ON tasks
    WHEN NEW.deleted = 1 AND OLD.deleted = 0
BEGIN
    DELETE FROM task_attachments WHERE task_id = NEW.id;
END;
