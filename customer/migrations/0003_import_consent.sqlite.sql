-- Consents gain the method 'import' (collected outside the switch and
-- brought in with recordings by a bulk enrolment). SQLite cannot alter a
-- CHECK constraint: the consents table is rebuilt (the PostgreSQL file
-- alters it).

CREATE TABLE consents_v2 (
    id            {{id}},
    customer_id   TEXT NOT NULL REFERENCES customers (id),
    given_us      BIGINT NOT NULL,
    method        TEXT NOT NULL CHECK (method IN ('ivr-dtmf', 'agent', 'import')),
    given_by      TEXT NOT NULL,
    recording_ref TEXT NOT NULL DEFAULT '',
    withdrawn_us  BIGINT,
    withdrawn_by  TEXT NOT NULL DEFAULT ''
);
INSERT INTO consents_v2 (id, customer_id, given_us, method, given_by, recording_ref, withdrawn_us, withdrawn_by)
    SELECT id, customer_id, given_us, method, given_by, recording_ref, withdrawn_us, withdrawn_by FROM consents;
DROP TABLE consents;
ALTER TABLE consents_v2 RENAME TO consents;
CREATE INDEX consents_customer ON consents (customer_id);
