-- Schema 3: the durable job queue (docs/jobs.md). Any instance takes any job: a claim is one
-- UPDATE over rows picked with FOR UPDATE SKIP LOCKED and leases the job to its holder; a job whose
-- lease ran out (its instance died) is claimed again. The payload is sealed; the plain columns hold
-- only what claiming, retrying and operators' counts need.
CREATE TABLE jobs (
  id bigserial PRIMARY KEY,
  kind text NOT NULL,
  document_id text,
  state text NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL CHECK (max_attempts > 0),
  run_at timestamptz NOT NULL,
  lease_until timestamptz,
  holder text,
  -- An error class name only (e.g. StorageUnavailableError), never a message that could quote content.
  last_error text,
  created_at timestamptz NOT NULL,
  finished_at timestamptz,
  kek_id text NOT NULL,
  sealed bytea NOT NULL
);
-- What a claim scans: unfinished jobs by the time they may run (queued) or their lease ends (running).
CREATE INDEX jobs_queued ON jobs (run_at) WHERE state = 'queued';
CREATE INDEX jobs_running ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_document ON jobs (document_id) WHERE document_id IS NOT NULL;
