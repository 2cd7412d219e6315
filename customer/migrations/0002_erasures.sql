-- Erasure is final: biometric_erasures remembers every customer whose
-- biometrics were erased (consent withdrawn), so that no automatic
-- enrolment (bulk import from recordings, the demo) brings them back.

CREATE TABLE biometric_erasures (
    customer_id TEXT PRIMARY KEY REFERENCES customers (id),
    erased_us   BIGINT NOT NULL,
    erased_by   TEXT NOT NULL
);
-- Erasures made before this migration are in the audit log.
INSERT INTO biometric_erasures (customer_id, erased_us, erased_by)
    SELECT a.customer_id, a.at_us, a.actor FROM audit_log a
    WHERE a.action = 'biometrics.erase'
      AND a.seq = (SELECT max(b.seq) FROM audit_log b WHERE b.customer_id = a.customer_id AND b.action = 'biometrics.erase')
      AND a.customer_id IN (SELECT id FROM customers);
