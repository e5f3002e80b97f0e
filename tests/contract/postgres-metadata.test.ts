import { describeMetadataStoreContract } from './metadata-store.ts';

describeMetadataStoreContract('PostgreSQL');
