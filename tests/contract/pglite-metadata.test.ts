import { describeMetadataStoreContract } from './metadata-store.ts';

describeMetadataStoreContract('PGlite');
