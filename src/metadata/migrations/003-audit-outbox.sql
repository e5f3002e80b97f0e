-- Schema 3: audit events committed with the change they record, until the audit trail has them.
-- A capture's `captured` event is inserted in the commit transaction (sealed: it names people);
-- the request appends it to the trail and deletes the row; a row left by a failed append or a
-- crash is appended by the sweep once its lease ran out.
CREATE TABLE audit_outbox (
  id bigserial PRIMARY KEY,
  document_id text NOT NULL,
  lease_until timestamptz NOT NULL,
  kek_id text NOT NULL,
  sealed bytea NOT NULL
);
CREATE INDEX audit_outbox_lease ON audit_outbox (lease_until);
