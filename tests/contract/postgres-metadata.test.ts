import { describeAuditTrailContract } from './audit-trail.ts';
import { describeJobQueueContract } from './job-queue.ts';
import { describeMetadataStoreContract } from './metadata-store.ts';

describeMetadataStoreContract('PostgreSQL');
describeJobQueueContract('PostgreSQL');
describeAuditTrailContract('PostgreSQL');
