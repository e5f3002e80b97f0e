-- Schema 1: documents, the feed order, acknowledgements, deletions and idempotency claims.
-- Plain columns only for ordering and authorization; every metadata value is in `sealed`
-- (the at-rest envelope, docs/storage-format.md) or a blind index token (docs/metadata-store.md).

-- One row: the feed's last position. Taking the next one locks the row until the commit ends,
-- so positions become visible in order and without gaps.
CREATE TABLE feed_counter (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  last_seq bigint NOT NULL
);
INSERT INTO feed_counter (singleton, last_seq) VALUES (true, 0);

CREATE TABLE documents (
  id text PRIMARY KEY,
  feed_seq bigint NOT NULL UNIQUE,
  unit text NOT NULL,
  created_at timestamptz NOT NULL,
  review_status text NOT NULL CHECK (review_status IN ('pending', 'approved', 'rejected')),
  page_count integer NOT NULL,
  size_bytes bigint NOT NULL,
  case_token text,
  search_key_id text,
  kek_id text NOT NULL,
  sealed bytea NOT NULL
);
CREATE INDEX documents_unit_seq ON documents (unit, feed_seq);
CREATE INDEX documents_unit_created ON documents (unit, created_at);
CREATE INDEX documents_case_token ON documents (case_token) WHERE case_token IS NOT NULL;

-- Blind index tokens of title words, one row per distinct word of a document.
CREATE TABLE document_words (
  token text NOT NULL,
  document_id text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
  PRIMARY KEY (token, document_id)
);
CREATE INDEX document_words_document ON document_words (document_id);

CREATE TABLE acknowledgements (
  document_id text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
  subject_hash text NOT NULL,
  created_at timestamptz NOT NULL,
  kek_id text NOT NULL,
  sealed bytea NOT NULL,
  PRIMARY KEY (document_id, subject_hash)
);

-- What stays of a deleted document: enough to finish an interrupted deletion, to answer its unit,
-- and to continue a feed whose cursor names it.
CREATE TABLE deletions (
  document_id text PRIMARY KEY,
  unit text NOT NULL,
  deleted_at timestamptz NOT NULL,
  feed_seq bigint NOT NULL
);

CREATE TABLE idempotency_keys (
  key_hash text PRIMARY KEY,
  fingerprint text NOT NULL,
  document_id text NOT NULL,
  lease_until timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  done boolean NOT NULL DEFAULT false
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
