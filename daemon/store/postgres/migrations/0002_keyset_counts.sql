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
-- one, so a plain pending task is written to three indexes: every task
-- write pays for each, before it is answered.
-- metadata's sessionId as a stored column, so that a count by session can
-- read its index alone (an index on the expression always fetches the row).
ALTER TABLE tasks ADD COLUMN session_id text GENERATED ALWAYS AS (metadata->>'sessionId') STORED;

DROP INDEX tasks_status_created;
DROP INDEX tasks_created;
DROP INDEX tasks_updated;
DROP INDEX tasks_assigned;

CREATE INDEX tasks_status_created  ON tasks (status, created_at, length(id), id) WHERE NOT deleted;
CREATE INDEX tasks_status_updated  ON tasks (status, updated_at, length(id), id) WHERE NOT deleted;
CREATE INDEX tasks_status_queue    ON tasks (status, (-priority), length(id), id) WHERE NOT deleted;

CREATE INDEX tasks_assigned_created  ON tasks (assigned_to, created_at, length(id), id) WHERE NOT deleted AND assigned_to != '';
CREATE INDEX tasks_assigned_updated  ON tasks (assigned_to, updated_at, length(id), id) WHERE NOT deleted AND assigned_to != '';

CREATE INDEX tasks_session_created  ON tasks (session_id, created_at, length(id), id) WHERE NOT deleted AND session_id IS NOT NULL;
CREATE INDEX tasks_session_updated  ON tasks (session_id, updated_at, length(id), id) WHERE NOT deleted AND session_id IS NOT NULL;

-- Tombstones, for the purge (few: a delete is rare).
CREATE INDEX tasks_tombstones ON tasks (updated_at) WHERE deleted;

-- Live tasks per status. Several daemons write at once, so the writes never
-- update a counter row (that would serialize every commit on it, and two
-- transactions changing two statuses in opposite orders would deadlock):
-- triggers append +1/-1 rows to task_count_deltas, a heap with no index,
-- and Maintain folds them into task_counts under an advisory lock. Reads
-- add both.
CREATE TABLE task_counts (
    status text   NOT NULL PRIMARY KEY,
    n      bigint NOT NULL
);
CREATE TABLE task_count_deltas (
    status text   NOT NULL,
    n      bigint NOT NULL
);

-- No writer may slip a task in between the count and the triggers.
LOCK TABLE tasks IN SHARE MODE;
INSERT INTO task_counts (status, n) VALUES ('pending', 0), ('in_progress', 0), ('completed', 0), ('failed', 0);
INSERT INTO task_counts (status, n) SELECT status, count(*) FROM tasks WHERE NOT deleted GROUP BY status
    ON CONFLICT (status) DO UPDATE SET n = excluded.n;

CREATE FUNCTION tasks_count_delta() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND NOT OLD.deleted THEN
        INSERT INTO task_count_deltas (status, n) VALUES (OLD.status, -1);
    END IF;
    IF TG_OP <> 'DELETE' AND NOT NEW.deleted THEN
        INSERT INTO task_count_deltas (status, n) VALUES (NEW.status, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks
    FOR EACH ROW WHEN (NOT NEW.deleted) EXECUTE FUNCTION tasks_count_delta();
CREATE TRIGGER tasks_count_update AFTER UPDATE OF status, deleted ON tasks
    FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status OR NEW.deleted IS DISTINCT FROM OLD.deleted)
    EXECUTE FUNCTION tasks_count_delta();
CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks
    FOR EACH ROW WHEN (NOT OLD.deleted) EXECUTE FUNCTION tasks_count_delta();

-- Audit pages by (time, id) newest first; the session and decision filters
-- likewise (the dashboard asks for the latest denials on every load: rare
-- in a large audit, they would otherwise be found by reading it backwards).
DROP INDEX audit_records_session_time;
CREATE INDEX audit_records_session_time ON audit_records (session_id, time, id);
CREATE INDEX audit_records_decision_time ON audit_records (decision, time, id);
