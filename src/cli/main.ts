import { parseArgs } from 'node:util';
import { KEY_CHOICES, type KeyChoice } from './encrypt.ts';
import { runUpload, type UploadCommand } from './upload.ts';

const USAGE = `Usage: vs-capture upload FILE... --title TITLE [options]

Encrypts the metadata and every file to a key from GET /v1/keys (JWE, A256GCM) and captures them
as one document, pages in the order given. Large files go through resumable uploads (tus).

  --title TEXT              document title (required; not sensitive, VSA)
  --case TEXT               case number (Aktenzeichen)
  --classification LEVEL    VS-NfD (default) or OFFEN
  --office TEXT             issuing office printed in the marking
  --unit TEXT               unit (Dienststelle) the document belongs to
  --source KIND             camera | scanner | upload (default)
  --server URL              service URL (default $VS_CAPTURE_URL or http://127.0.0.1:8080)
  --token T                 bearer token (default $VS_CAPTURE_TOKEN)
  --dev-user SUB            development mode: get a token from POST /v1/dev/token
  --roles a,b  --units a,b  roles and units of --dev-user (default capture,read and the --unit)
  --key KIND                P-256 (default), P-384 or RSA-OAEP-256
  --resumable-above BYTES   ciphertext size above which uploads are resumable (default 8 MiB)
  --retries N               attempts of the capture request (default 5)
  --json                    print the result as JSON
`;

/** Exit codes: 0 done, 1 refused or failed, 2 usage. */
export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  let cmd: UploadCommand;
  let json: boolean;
  try {
    ({ cmd, json } = parseCommand(argv));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  try {
    const result = await runUpload(cmd, (line) => process.stderr.write(`${line}\n`));
    process.stdout.write(json ? `${JSON.stringify(result)}\n` : describe(result));
    return 0;
  } catch (err) {
    process.stderr.write(`vs-capture: ${(err as Error).message}\n`);
    return 1;
  }
}

function parseCommand(argv: string[]): { cmd: UploadCommand; json: boolean } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      title: { type: 'string' },
      case: { type: 'string' },
      classification: { type: 'string' },
      office: { type: 'string' },
      unit: { type: 'string' },
      source: { type: 'string', default: 'upload' },
      server: { type: 'string', default: process.env.VS_CAPTURE_URL ?? 'http://127.0.0.1:8080' },
      token: { type: 'string', default: process.env.VS_CAPTURE_TOKEN },
      'dev-user': { type: 'string' },
      roles: { type: 'string', default: 'capture,read' },
      units: { type: 'string' },
      key: { type: 'string', default: 'P-256' },
      'resumable-above': { type: 'string', default: String(8 * 2 ** 20) },
      retries: { type: 'string', default: '5' },
      json: { type: 'boolean', default: false },
    },
  });
  const [command, ...files] = positionals;
  if (command !== 'upload') throw new Error(command ? `unknown command '${command}'` : 'no command given');
  if (files.length === 0) throw new Error('name at least one file to upload');
  if (!values.title) throw new Error('--title is required');
  if (!(KEY_CHOICES as readonly string[]).includes(values.key)) throw new Error(`--key must be one of ${KEY_CHOICES.join(', ')}`);
  return {
    json: values.json,
    cmd: {
      server: values.server,
      auth: authOf(values),
      files,
      metadata: {
        title: values.title,
        source: values.source,
        ...(values.case ? { caseNumber: values.case } : {}),
        ...(values.classification ? { classification: values.classification } : {}),
        ...(values.office ? { issuingOffice: values.office } : {}),
        ...(values.unit ? { unit: values.unit } : {}),
      },
      key: values.key as KeyChoice,
      resumableAbove: positiveInteger(values['resumable-above'], '--resumable-above'),
      retry: { attempts: positiveInteger(values.retries, '--retries'), baseDelayMs: 1000 },
    },
  };
}

function authOf(values: { token?: string | undefined; 'dev-user'?: string | undefined; roles: string; units?: string | undefined; unit?: string | undefined }): UploadCommand['auth'] {
  if (values['dev-user']) {
    const units = values.units ?? values.unit;
    if (!units) throw new Error('--dev-user needs --units (or --unit)');
    return { devUser: { sub: values['dev-user'], roles: list(values.roles), units: list(units) } };
  }
  if (!values.token) throw new Error('give --token (or $VS_CAPTURE_TOKEN), or --dev-user in development mode');
  return { token: values.token };
}

function list(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

function positiveInteger(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`Expected positive integer for ${name} but received ${value}`);
  return n;
}

function describe(result: Awaited<ReturnType<typeof runUpload>>): string {
  return [
    `document  ${result.id}`,
    `pages     ${result.pageCount}`,
    `api       ${result.documentUrl}`,
    `viewer    ${result.viewerUrl ?? '(no view ticket issued: it needs the role read)'}`,
    '',
  ].join('\n');
}
