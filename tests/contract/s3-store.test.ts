import { generateKek, KekRing } from '../../src/crypto/kek-ring.ts';
import { EncryptedStore } from '../../src/storage/encrypted-store.ts';
import { freshS3Store, s3Label } from '../support/s3.ts';
import { describeObjectStoreContract } from './object-store.ts';

describeObjectStoreContract(s3Label(), () => freshS3Store('contract'));
describeObjectStoreContract(`EncryptedStore(${s3Label()})`, async () => new EncryptedStore(await freshS3Store('contract-enc'), new KekRing([generateKek('k-test')])));
