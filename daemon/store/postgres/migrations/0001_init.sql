-- Tasks: the durable copy of the Redis task hashes. Ids use the "C"
-- collation so that ordering matches SQLite byte order.
CREATE TABLE tasks (
    id          text COLLATE "C" NOT NULL PRIMARY KEY,
    text        text        NOT NULL,
    status      text        NOT NULL,
    priority    bigint      NOT NULL DEFAULT 0,
    assigned_to text        NOT NULL DEFAULT '',
    attempts    bigint      NOT NULL DEFAULT 0,
    metadata    jsonb,
    result      jsonb,
    error       text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    version     bigint      NOT NULL,
    deleted     boolean     NOT NULL DEFAULT false
);

CREATE INDEX tasks_status_created ON tasks (status, created_at) WHERE NOT deleted;
CREATE INDEX tasks_created ON tasks (created_at) WHERE NOT deleted;
CREATE INDEX tasks_updated ON tasks (updated_at) WHERE NOT deleted;
CREATE INDEX tasks_assigned ON tasks (assigned_to) WHERE NOT deleted;

-- Audit: one row per hook decision, keyed by event id.
CREATE TABLE audit_records (
    id             text COLLATE "C" NOT NULL PRIMARY KEY,
    time           timestamptz NOT NULL,
    session_id     text        NOT NULL DEFAULT '',
    event          text        NOT NULL DEFAULT '',
    tool           text        NOT NULL DEFAULT '',
    decision       text        NOT NULL DEFAULT '',
    rule_ids       text[]      NOT NULL DEFAULT '{}',
    reason         text        NOT NULL DEFAULT '',
    latency_micros bigint      NOT NULL DEFAULT 0,
    instance_id    text        NOT NULL DEFAULT ''
);

CREATE INDEX audit_records_time ON audit_records (time, id);
CREATE INDEX audit_records_session_time ON audit_records (session_id, time);
