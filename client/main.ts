import { parseArgs } from 'node:util';
import { KEY_CHOICES, type KeyChoice } from './encrypt.ts';
import { checkClassification, InputError } from './files.ts';
import { say } from './language.ts';
import { runUpload, type UploadCommand } from './upload.ts';
import { CLI_VERSION } from './version.ts';

const USAGE_DE = `Aufruf: vs-capture upload DATEI... --title TITEL [Optionen]

Verschlüsselt die Metadaten und jede Datei für einen Schlüssel aus GET /v1/keys (JWE, A256GCM) und
erfasst sie als ein Dokument, Seiten in der angegebenen Reihenfolge. Große Dateien gehen über
fortsetzbare Uploads (tus).

  --title TEXT              Titel des Dokuments (Pflicht; nicht schutzbedürftig, VSA)
  --case TEXT               Aktenzeichen
  --classification STUFE    VS-NfD (Vorgabe) oder OFFEN
  --office TEXT             ausstellende Dienststelle im Vermerk
  --unit TEXT               Dienststelle, der das Dokument gehört
  --source ART              camera | scanner | upload (Vorgabe)
  --enhance                 Fotos als Dokument aufbereiten (grau, Kontrast); Vorgabe: nein
  --sanitize MODUS          clean (Vorgabe: aktive Inhalte entfernen) oder rasterize (Seiten als Bild)
  --server URL              Adresse des Dienstes (Vorgabe $VS_CAPTURE_URL oder http://127.0.0.1:8080)
  --token T                 Bearer-Token (Vorgabe $VS_CAPTURE_TOKEN)
  --dev-user SUB            Entwicklungsmodus: Token von POST /v1/dev/token holen
  --dev-name NAME           Anzeigename von --dev-user, steht im Wasserzeichen des Viewers
  --roles a,b  --units a,b  Rollen und Dienststellen von --dev-user (Vorgabe capture,read und --unit)
  --key ART                 P-256 (Vorgabe), P-384 oder RSA-OAEP-256
  --resumable-above BYTES   Chiffratgröße, ab der fortsetzbar hochgeladen wird (Vorgabe 8 MiB)
  --retries N               Versuche der Erfassungsanfrage (Vorgabe 5)
  --max-file-bytes N        größte gesendete Datei (Vorgabe 104857600, die Vorgabe des Dienstes)
  --json                    Ergebnis als JSON ausgeben
  --version                 Version ausgeben

Die Server-URL darf auf /v1 enden. Meldungen folgen der Locale (Deutsch bei LANG=de_*).
`;

const USAGE_EN = `Usage: vs-capture upload FILE... --title TITLE [options]

Encrypts the metadata and every file to a key from GET /v1/keys (JWE, A256GCM) and captures them
as one document, pages in the order given. Large files go through resumable uploads (tus).

  --title TEXT              document title (required; not sensitive, VSA)
  --case TEXT               case number (Aktenzeichen)
  --classification LEVEL    VS-NfD (default) or OFFEN
  --office TEXT             issuing office printed in the marking
  --unit TEXT               unit (Dienststelle) the document belongs to
  --source KIND             camera | scanner | upload (default)
  --enhance                 document enhancement of photos (grey, contrast); default none
  --sanitize MODE           clean (default: remove active content) or rasterize (pages as images)
  --server URL              service URL (default $VS_CAPTURE_URL or http://127.0.0.1:8080)
  --token T                 bearer token (default $VS_CAPTURE_TOKEN)
  --dev-user SUB            development mode: get a token from POST /v1/dev/token
  --dev-name NAME           display name of --dev-user, shown in the viewer's watermark
  --roles a,b  --units a,b  roles and units of --dev-user (default capture,read and the --unit)
  --key KIND                P-256 (default), P-384 or RSA-OAEP-256
  --resumable-above BYTES   ciphertext size above which uploads are resumable (default 8 MiB)
  --retries N               attempts of the capture request (default 5)
  --max-file-bytes N        largest file sent (default 104857600, the service's default)
  --json                    print the result as JSON
  --version                 print the version

The server URL may end in /v1. Messages follow the locale (German for LANG=de_*).
`;

const USAGE = say(USAGE_DE, USAGE_EN);

const HINT = say("Alle Optionen: vs-capture --help", "All options: vs-capture --help");

/** Exit codes: 0 done, 1 refused or failed, 2 usage. */
export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (argv.includes('--version')) {
    process.stdout.write(`vs-capture ${CLI_VERSION}\n`);
    return 0;
  }
  let cmd: UploadCommand;
  let json: boolean;
  try {
    ({ cmd, json } = parseCommand(argv));
  } catch (err) {
    // The one line that matters and where to find the rest, not the whole help.
    process.stderr.write(`vs-capture: ${usageMessage(err)}\n${HINT}\n`);
    return 2;
  }
  try {
    const result = await runUpload(cmd, (line) => process.stderr.write(`${line}\n`));
    process.stdout.write(json ? `${JSON.stringify(result)}\n` : describe(result));
    return 0;
  } catch (err) {
    process.stderr.write(`vs-capture: ${(err as Error).message}\n`);
    return err instanceof InputError ? 2 : 1;
  }
}

/** node:util's parse errors, shortened to what was wrong. */
function usageMessage(err: unknown): string {
  const { code, message } = err as { code?: string; message: string };
  const option = /'([^']+)'/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return say(`unbekannte Option '${option}'`, `unknown option '${option}'`);
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return say(`Option ${option ?? ''} braucht einen Wert`, `option ${option ?? ''} needs a value`);
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return say('unerwartetes Argument', 'unexpected argument');
  return message;
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
      enhance: { type: 'boolean', default: false },
      sanitize: { type: 'string' },
      'dev-name': { type: 'string' },
      'max-file-bytes': { type: 'string', default: String(100 * 2 ** 20) },
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
  if (command !== 'upload') {
    throw new Error(command ? say(`unbekannter Befehl '${command}'; der Befehl ist 'upload'`, `unknown command '${command}'; the command is 'upload'`) : say("kein Befehl; z. B.: vs-capture upload scan.jpg --title 'Akte'", "no command; e.g.: vs-capture upload scan.jpg --title 'Akte'"));
  }
  if (files.length === 0) throw new Error(say('nennen Sie mindestens eine Datei', 'name at least one file to upload'));
  if (!values.title) throw new Error(say("--title fehlt (Pflicht), z. B. --title 'Anhörungsbogen'", "--title is required, e.g. --title 'Anhörungsbogen'"));
  if (!(KEY_CHOICES as readonly string[]).includes(values.key)) throw new Error(say(`--key muss eines von ${KEY_CHOICES.join(', ')} sein`, `--key must be one of ${KEY_CHOICES.join(', ')}`));
  if (values.sanitize !== undefined && values.sanitize !== 'clean' && values.sanitize !== 'rasterize') {
    throw new Error(say(`--sanitize muss clean oder rasterize sein, nicht '${values.sanitize}'`, `--sanitize must be clean or rasterize, not '${values.sanitize}'`));
  }
  return {
    json: values.json,
    cmd: {
      server: values.server,
      auth: authOf(values),
      files,
      maxFileBytes: positiveInteger(values['max-file-bytes'], '--max-file-bytes'),
      metadata: {
        title: values.title,
        source: values.source,
        ...(values.enhance ? { enhance: 'document' as const } : {}),
        ...(values.sanitize ? { sanitize: values.sanitize as 'clean' | 'rasterize' } : {}),
        ...(values.case ? { caseNumber: values.case } : {}),
        ...(values.classification ? { classification: checkClassification(values.classification) } : {}),
        ...(values.office ? { issuingOffice: values.office } : {}),
        ...(values.unit ? { unit: values.unit } : {}),
      },
      key: values.key as KeyChoice,
      resumableAbove: positiveInteger(values['resumable-above'], '--resumable-above'),
      retry: { attempts: positiveInteger(values.retries, '--retries'), baseDelayMs: 1000 },
    },
  };
}

/** Development users get a display name, so the watermark does not read "u1 (u1)". */
const DEV_NAME = 'Entwicklungsnutzer';

function authOf(values: {
  token?: string | undefined;
  'dev-user'?: string | undefined;
  'dev-name'?: string | undefined;
  roles: string;
  units?: string | undefined;
  unit?: string | undefined;
}): UploadCommand['auth'] {
  if (values['dev-user']) {
    const units = values.units ?? values.unit;
    if (!units) throw new Error(say('--dev-user braucht --units (oder --unit), z. B. --units BA-Musterstadt', '--dev-user needs --units (or --unit), e.g. --units BA-Musterstadt'));
    return { devUser: { sub: values['dev-user'], name: values['dev-name'] ?? DEV_NAME, roles: list(values.roles), units: list(units) } };
  }
  if (!values.token) throw new Error(say('geben Sie --token (oder $VS_CAPTURE_TOKEN) an, oder --dev-user im Entwicklungsmodus', 'give --token (or $VS_CAPTURE_TOKEN), or --dev-user in development mode'));
  return { token: values.token };
}

function list(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

function positiveInteger(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(say(`${name} erwartet eine positive ganze Zahl, nicht ${value}`, `Expected positive integer for ${name} but received ${value}`));
  return n;
}

function describe(result: Awaited<ReturnType<typeof runUpload>>): string {
  return [
    `document  ${result.id}`,
    `pages     ${result.pageCount}`,
    `api       ${result.documentUrl}`,
    `viewer    ${result.viewerUrl ?? say('(kein Ansichtsticket: dafür braucht es die Rolle read)', '(no view ticket issued: it needs the role read)')}`,
    '',
  ].join('\n');
}
