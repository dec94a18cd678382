-- Tasks: the durable copy of the Redis task hashes. Times are Unix
-- microseconds (UTC). metadata and result hold JSON text or NULL.
CREATE TABLE tasks (
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
) STRICT;

CREATE INDEX tasks_status_created ON tasks (status, created_at) WHERE deleted = 0;
CREATE INDEX tasks_created ON tasks (created_at) WHERE deleted = 0;
CREATE INDEX tasks_updated ON tasks (updated_at) WHERE deleted = 0;
CREATE INDEX tasks_assigned ON tasks (assigned_to) WHERE deleted = 0;

-- Audit: one row per hook decision, keyed by event id. rule_ids is a JSON
-- array of strings.
CREATE TABLE audit_records (
    id             TEXT    NOT NULL PRIMARY KEY,
    time           INTEGER NOT NULL,
    session_id     TEXT    NOT NULL DEFAULT '',
    event          TEXT    NOT NULL DEFAULT '',
    tool           TEXT    NOT NULL DEFAULT '',
    decision       TEXT    NOT NULL DEFAULT '',
    rule_ids       TEXT    NOT NULL DEFAULT '[]',
    reason         TEXT    NOT NULL DEFAULT '',
    latency_micros INTEGER NOT NULL DEFAULT 0,
    instance_id    TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX audit_records_time ON audit_records (time, id);
CREATE INDEX audit_records_session_time ON audit_records (session_id, time);
