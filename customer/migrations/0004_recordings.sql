-- Call recordings, made only after the caller was told (the notice and
-- who gave it are kept with each row). The audio is sealed like the
-- voiceprints: AES-256-GCM under the store's key, the additional data
-- binding it to the row's id, customer and call. customer_id is NULL for
-- a caller who was not identified: such a recording is found by its call
-- (the interaction's call_id).

CREATE TABLE recordings (
    id          TEXT PRIMARY KEY,
    call_id     TEXT NOT NULL,
    customer_id TEXT REFERENCES customers (id),
    started_us  BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    channels    INTEGER NOT NULL CHECK (channels IN (1, 2)),
    notice      TEXT NOT NULL CHECK (notice <> ''),
    notice_by   TEXT NOT NULL CHECK (notice_by <> ''),
    key_id      TEXT NOT NULL,
    sealed      {{blob}} NOT NULL,
    size_bytes  BIGINT NOT NULL,
    created_us  BIGINT NOT NULL
);
CREATE INDEX recordings_customer ON recordings (customer_id, started_us);
CREATE INDEX recordings_call ON recordings (call_id);
CREATE INDEX recordings_started ON recordings (started_us);
