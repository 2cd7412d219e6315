-- Customers, phone numbers, interactions, consent, voiceprints, watchlist,
-- audit log and change feed. Tokens {{id}}, {{blob}} and {{json}} are
-- replaced per dialect (see the package documentation).

CREATE TABLE customers (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    segment           TEXT NOT NULL DEFAULT '',
    vip               BOOLEAN NOT NULL DEFAULT FALSE,
    preferred_advisor TEXT NOT NULL DEFAULT '',
    notes             TEXT NOT NULL DEFAULT '',
    attributes        {{json}} NOT NULL,
    created_us        BIGINT NOT NULL,
    updated_us        BIGINT NOT NULL
);

CREATE TABLE customer_phones (
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    e164        TEXT NOT NULL,
    position    INTEGER NOT NULL,
    PRIMARY KEY (customer_id, e164)
);
CREATE INDEX customer_phones_e164 ON customer_phones (e164);

CREATE TABLE interactions (
    id          {{id}},
    call_id     TEXT NOT NULL UNIQUE,
    customer_id TEXT REFERENCES customers (id),
    started_us  BIGINT NOT NULL,
    answered_us BIGINT,
    ended_us    BIGINT,
    queue       TEXT NOT NULL DEFAULT '',
    agent       TEXT NOT NULL DEFAULT '',
    id_method   TEXT NOT NULL CHECK (id_method IN ('none', 'voice', 'number', 'pin')),
    id_score    DOUBLE PRECISION NOT NULL DEFAULT 0,
    outcome     TEXT NOT NULL DEFAULT '',
    notes       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX interactions_customer ON interactions (customer_id, started_us);

CREATE TABLE consents (
    id            {{id}},
    customer_id   TEXT NOT NULL REFERENCES customers (id),
    given_us      BIGINT NOT NULL,
    method        TEXT NOT NULL CHECK (method IN ('ivr-dtmf', 'agent')),
    given_by      TEXT NOT NULL,
    recording_ref TEXT NOT NULL DEFAULT '',
    withdrawn_us  BIGINT,
    withdrawn_by  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX consents_customer ON consents (customer_id);

CREATE TABLE voiceprints (
    customer_id    TEXT NOT NULL REFERENCES customers (id),
    model_id       TEXT NOT NULL,
    key_id         TEXT NOT NULL,
    sealed         {{blob}} NOT NULL,
    utterances     INTEGER NOT NULL,
    speech_seconds DOUBLE PRECISION NOT NULL,
    created_us     BIGINT NOT NULL,
    updated_us     BIGINT NOT NULL,
    PRIMARY KEY (customer_id, model_id)
);

CREATE TABLE watchlist (
    id                 TEXT PRIMARY KEY,
    label              TEXT NOT NULL,
    source_customer_id TEXT REFERENCES customers (id),
    model_id           TEXT NOT NULL,
    key_id             TEXT NOT NULL,
    sealed             {{blob}} NOT NULL,
    reason             TEXT NOT NULL DEFAULT '',
    added_by           TEXT NOT NULL,
    created_us         BIGINT NOT NULL
);
CREATE INDEX watchlist_source ON watchlist (source_customer_id);

-- No foreign key: the audit trail outlives what it describes.
CREATE TABLE audit_log (
    seq         {{id}},
    at_us       BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    customer_id TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_customer ON audit_log (customer_id, seq);

-- seq comes from change_counter, bumped in the writing transaction.
CREATE TABLE changes (
    seq         BIGINT PRIMARY KEY,
    at_us       BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    customer_id TEXT NOT NULL DEFAULT '',
    model_id    TEXT NOT NULL DEFAULT '',
    watch_id    TEXT NOT NULL DEFAULT ''
);

CREATE TABLE change_counter (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO change_counter (id, seq) VALUES (1, 0);
