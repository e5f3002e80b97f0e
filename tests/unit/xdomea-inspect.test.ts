/**
 * The inspector that files pass through on their way into the ZIP: digest, size, PDF header version
 * and the XMP PDF/A identification, wherever chunk boundaries fall.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { fileFormat } from '../../src/xdomea/formats.ts';
import { inspector } from '../../src/xdomea/inspect.ts';

const PDFA = Buffer.from(
  `%PDF-1.7\n%\xE2\xE3\n${'x'.repeat(5000)}\n<rdf:Description rdf:about="" pdfaid:part="2" pdfaid:conformance="B"/>\n${'y'.repeat(3000)}\n%%EOF\n`,
  'latin1',
);

async function inspect(bytes: Buffer, chunk: number) {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk));
  const { stream, done } = inspector();
  const passed = await buffer(Readable.from(parts).pipe(stream));
  return { passed, inspection: await done };
}

describe('xdomea file inspection', () => {
  it.each([1, 7, 64, 1000, 100_000])('reads digest, header and PDF/A declaration in chunks of %i bytes, passing the bytes unchanged', async (chunk) => {
    const { passed, inspection } = await inspect(PDFA, chunk);
    expect(passed.equals(PDFA)).toBe(true);
    expect(inspection).toEqual({
      sha256: createHash('sha256').update(PDFA).digest('hex'),
      size: PDFA.length,
      declared: { pdfVersion: '1.7', pdfa: { part: '2', conformance: 'B' } },
    });
    expect(fileFormat('application/pdf', inspection.declared)).toMatchObject({ code: '044', version: 'PDF/A-2b' });
  });

  it('describes a PDF without a PDF/A declaration by its header version, and other files by the code list', async () => {
    const plain = Buffer.from('%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n', 'latin1');
    const { inspection } = await inspect(plain, 5);
    expect(inspection.declared).toEqual({ pdfVersion: '1.4' });
    expect(fileFormat('application/pdf', inspection.declared)).toMatchObject({ code: '018', version: '1.4' });
    expect(fileFormat('image/jpeg', {})).toMatchObject({ code: '011', extension: 'jpg' });
    expect(fileFormat('image/heic', {})).toMatchObject({ code: '100', otherName: 'heic', extension: 'heic' });
  });
});
