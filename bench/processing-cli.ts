/** Whole-process entry for the benchmark: `node processing-cli.mjs in out [none|document]`, bundled by bench/processing.ts. */
import { readFile, writeFile } from 'node:fs/promises';
import { processDocument } from '../src/processing/index.ts';

const [input, output, enhance = 'none'] = process.argv.slice(2);
const result = await processDocument([{ bytes: await readFile(input!) }], {
  enhance: enhance === 'document' ? 'document' : 'none',
  sanitize: 'clean',
  marking: { classification: 'VS-NfD', issuingOffice: 'Bundesamt für Benchmarks', capturedAt: new Date(), documentId: '01JBENCH000000000000000000' },
  limits: { maxPages: 10_000, timeBudgetMs: 600_000 },
});
await writeFile(output!, result.rendition);
