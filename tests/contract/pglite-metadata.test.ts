import { describeAuditTrailContract } from './audit-trail.ts';
import { describeJobQueueContract } from './job-queue.ts';
import { describeMetadataStoreContract } from './metadata-store.ts';

describeMetadataStoreContract('PGlite');
describeJobQueueContract('PGlite');
describeAuditTrailContract('PGlite');
