-- Schema 5: indexes whose cost per page does not grow with the number of documents (bench/growth.ts,
-- docs/BENCHMARKS-growth.md). A list or search page is read per unit of the caller, each unit's part
-- from an index already in feed order, and merged (docs/metadata-store.md, "Query plans"):

-- Title and page words carry their document's unit and feed position, so a word's postings are read
-- per unit in feed order: a word frequent elsewhere but absent from the caller's units costs nothing.
-- The key replaces (token, document_id): feed_seq is unique per document, so it stays one row per word.
ALTER TABLE document_words ADD COLUMN unit text, ADD COLUMN feed_seq bigint;
UPDATE document_words w SET unit = d.unit, feed_seq = d.feed_seq FROM documents d WHERE d.id = w.document_id;
ALTER TABLE document_words ALTER COLUMN unit SET NOT NULL, ALTER COLUMN feed_seq SET NOT NULL;
ALTER TABLE document_words DROP CONSTRAINT document_words_pkey;
ALTER TABLE document_words ADD PRIMARY KEY (token, unit, feed_seq);

-- A status page per unit in feed order, however the statuses are spread (pending: only the newest).
CREATE INDEX documents_unit_status_seq ON documents (unit, review_status, feed_seq);

-- A case number's few documents per unit, without reading the rows.
DROP INDEX documents_case_token;
CREATE INDEX documents_case_token ON documents (case_token, unit, feed_seq) WHERE case_token IS NOT NULL;

-- A capture-time range's documents per unit, without reading the rows.
DROP INDEX documents_unit_created;
CREATE INDEX documents_unit_created ON documents (unit, created_at) INCLUDE (feed_seq);
