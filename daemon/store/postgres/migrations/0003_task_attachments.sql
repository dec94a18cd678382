-- Task attachments (task.attach): typed key/value entries of a task, at
-- most one per key. value is jsonb, like the tasks' JSON (it round-trips
-- semantically); size is the length in bytes of the value as given. Keys
-- use the "C" collation so that ordering matches SQLite byte order. Keyed
-- by (task_id, key); the index reads a task's attachments oldest first
-- (ties by key) without sorting.
CREATE TABLE task_attachments (
    task_id    text COLLATE "C" NOT NULL,
    key        text COLLATE "C" NOT NULL,
    type       text        NOT NULL,
    value      jsonb       NOT NULL,
    size       integer     NOT NULL,
    created_by text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (task_id, key)
);

CREATE INDEX task_attachments_task_created ON task_attachments (task_id, created_at, key);

-- Attachments go with their task: a delete (TaskDelete, the purge) and a
-- tombstone remove them in the same statement, row by row through the
-- primary key. Triggers rather than a foreign key, as on SQLite: a
-- tombstone keeps its row. The tombstone trigger's WHEN is all a live
-- task's upsert pays (no trigger call is queued when it is false).
CREATE FUNCTION tasks_attachments_drop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM task_attachments WHERE task_id = OLD.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER tasks_attachments_delete AFTER DELETE ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_attachments_drop();
CREATE TRIGGER tasks_attachments_tombstone AFTER UPDATE OF deleted ON tasks
    FOR EACH ROW WHEN (NEW.deleted AND NOT OLD.deleted)
    EXECUTE FUNCTION tasks_attachments_drop();
