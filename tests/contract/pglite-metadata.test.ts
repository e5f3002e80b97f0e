import { describeJobQueueContract } from './job-queue.ts';
import { describeMetadataStoreContract } from './metadata-store.ts';

describeMetadataStoreContract('PGlite');
describeJobQueueContract('PGlite');
