-- Schema 2: named leases, so cluster-wide maintenance (the orphan sweep) runs on one instance at a time.
CREATE TABLE leases (
  name text PRIMARY KEY,
  holder text NOT NULL,
  lease_until timestamptz NOT NULL
);
