-- Consents gain the method 'import' (collected outside the switch and
-- brought in with recordings by a bulk enrolment). The SQLite file says
-- the same by rebuilding the consents table.

ALTER TABLE consents DROP CONSTRAINT consents_method_check;
ALTER TABLE consents ADD CONSTRAINT consents_method_check CHECK (method IN ('ivr-dtmf', 'agent', 'import'));
