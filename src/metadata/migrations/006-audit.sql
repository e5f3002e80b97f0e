-- Schema 5: the audit trail (docs/audit.md). One chain over every entry in commit order: the next
-- position is taken under the counter's row lock inside the transaction of the change it records,
-- so positions are gap-free and become visible in order. Plain columns only for ordering,
-- authorization and the chain; the entry itself is sealed.
CREATE TABLE audit_counter (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  last_seq bigint NOT NULL,
  -- SHA-256 (hex) of the entry at last_seq; null before the first.
  last_hash text
);
INSERT INTO audit_counter (singleton, last_seq, last_hash) VALUES (true, 0, NULL);

CREATE TABLE audit_events (
  seq bigint PRIMARY KEY,
  id text NOT NULL UNIQUE,
  at timestamptz NOT NULL,
  document_id text NOT NULL,
  unit text NOT NULL,
  type text NOT NULL,
  kek_id text NOT NULL,
  sealed bytea NOT NULL,
  hash text NOT NULL,
  prev_hash text,
  prev_doc_hash text
);
-- A document's trail and its head, found by index: never by listing.
CREATE INDEX audit_events_document ON audit_events (document_id, seq);
CREATE INDEX audit_events_unit ON audit_events (unit, seq);

-- Signed statements "the chain's entry `seq` has hash h" (a JWS under the manifest key), so deleting
-- the newest entries is detectable.
CREATE TABLE audit_checkpoints (
  seq bigint PRIMARY KEY,
  at timestamptz NOT NULL,
  jws text NOT NULL
);
