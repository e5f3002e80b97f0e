import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { JWK } from 'jose';
import type { DevToken, DocumentRecord, JwkSet, ViewTicket } from '../contract/index.ts';
import { Upload } from 'tus-js-client';
import { CLI_VERSION } from './version.ts';
import { encryptFor, pickIngestKey, type KeyChoice } from './encrypt.ts';
import { checkFile, type CheckedFile } from './files.ts';
import { fetchJson, request, serverError, ServerError, withRetries, type RetryPolicy } from './http.ts';
import { say } from './language.ts';
import { progressBar } from './progress.ts';

export interface UploadCommand {
  server: string;
  /** A bearer token; or, in development mode, a user to get one for from POST /v1/dev/token. */
  auth: { token: string } | { devUser: { sub: string; name: string; roles: string[]; units: string[] } };
  files: string[];
  /** Larger files are refused before anything is encrypted (the service's MAX_FILE_BYTES). */
  maxFileBytes: number;
  metadata: {
    title: string;
    caseNumber?: string;
    classification?: string;
    issuingOffice?: string;
    unit?: string;
    source: string;
    enhance?: 'none' | 'document';
    sanitize?: 'clean' | 'rasterize';
  };
  key: KeyChoice;
  /** Files whose ciphertext is larger go through tus; then all files do, since one request cannot mix both. */
  resumableAbove: number;
  retry: RetryPolicy;
}

export interface UploadResult {
  id: string;
  pageCount: number;
  documentUrl: string;
  /** Absent when the caller may not read (no role `read`) or views are not served. */
  viewerUrl?: string;
  resumable: boolean;
}

interface EncryptedFile {
  label: string;
  /** The file's own size, which its progress bar shows. */
  size: number;
  jwe: string;
}

const APP = { app: 'vs-capture-cli', version: CLI_VERSION };
/** tus-js-client's own retries of an interrupted PATCH (HEAD, then resume from the offset). */
const TUS_RETRY_DELAYS_MS = [0, 1000, 3000, 5000, 10_000];

/** Encrypts every part to a published key, uploads, captures once (idempotently) and says where the document is. */
export async function runUpload(cmd: UploadCommand, log: (line: string) => void): Promise<UploadResult> {
  const server = serviceBase(cmd.server);
  // Every file is checked on this machine before anything is encrypted or sent.
  const checked: CheckedFile[] = [];
  for (const file of cmd.files) checked.push(await checkFile(file, cmd.maxFileBytes));
  const token = 'token' in cmd.auth ? cmd.auth.token : await devToken(server, cmd.auth.devUser);
  const key = pickIngestKey(await fetchJson<JwkSet>(`${server}/v1/keys`), cmd.key);
  const metadata = await encryptFor(key, Buffer.from(JSON.stringify({ ...cmd.metadata, device: APP })), 'application/json');
  const files = await Promise.all(checked.map((file) => encryptFile(key, file)));
  const resumable = files.some((f) => f.jwe.length > cmd.resumableAbove);
  const idempotencyKey = randomUUID();
  const auth = { Authorization: `Bearer ${token}` };

  let uploadIds = resumable ? await uploadAll(server, auth, files) : [];
  const send = () => sendCapture(`${server}/v1/documents`, { ...auth, 'Idempotency-Key': idempotencyKey }, form(metadata, files, uploadIds), resumable ? undefined : files);
  const retryLog = (why: string, waitMs: number) =>
    log(say(`neuer Versuch in ${(waitMs / 1000).toFixed(1).replace('.', ',')} s nach ${why}`, `retrying in ${(waitMs / 1000).toFixed(1)} s after ${why}`));
  let res = await withRetries(cmd.retry, send, retryLog);
  if (res.status === 404 && resumable) {
    // An earlier attempt whose answer was lost may have succeeded and consumed the uploads: upload
    // again and repeat with the same key, which the server answers with that document.
    log(say('Uploads schon verbraucht; erneut hochladen, um die Anfrage zu wiederholen', 'uploads already consumed; uploading again to repeat the request'));
    uploadIds = await uploadAll(server, auth, files);
    res = await withRetries(cmd.retry, send, retryLog);
  }
  if (res.status !== 201) throw naming(await serverError(res), cmd.files);
  const record = (await res.json()) as DocumentRecord;
  return {
    id: record.id,
    pageCount: record.pageCount,
    documentUrl: `${server}/v1/documents/${record.id}`,
    ...(await viewerUrl(server, auth, record.id)),
    resumable,
  };
}

/** The service's base URL: a URL ending in /v1 (the API's prefix) means the same service. */
function serviceBase(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/v1$/, '');
}

/** A refusal names the file it concerns: the only one, or the part the server names. */
function naming(err: ServerError, files: string[]): ServerError {
  const part = /(?:part|Teil) (\d+)/.exec(err.message)?.[1];
  const file = files.length === 1 ? files[0] : part ? files[Number(part) - 1] : undefined;
  if (!file) return err;
  return new ServerError(err.status, err.code, `${say('abgelehnt', 'refused')}: ${file}: ${err.detail}`);
}

/**
 * The capture request; inline files are streamed with a progress bar of their own size. The body is
 * built first, so its length is known (the service requires Content-Length).
 */
async function sendCapture(url: string, headers: Record<string, string>, body: FormData, inline: EncryptedFile[] | undefined): Promise<Response> {
  if (!inline) return request(url, { method: 'POST', headers, body });
  const encoded = new Response(body);
  const blob = await encoded.blob();
  const label = inline.length === 1 ? inline[0]!.label : say(`${inline.length} Dateien`, `${inline.length} files`);
  const progress = progressBar(label, inline.reduce((sum, f) => sum + f.size, 0));
  let sent = 0;
  const counted = blob.stream().pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        for (let at = 0; at < chunk.byteLength; at += PROGRESS_STEP) {
          const piece = chunk.subarray(at, at + PROGRESS_STEP);
          controller.enqueue(piece);
          sent += piece.byteLength;
          progress(sent, blob.size);
        }
      },
    }),
  );
  return request(url, {
    method: 'POST',
    headers: { ...headers, 'Content-Type': encoded.headers.get('content-type')!, 'Content-Length': String(blob.size) },
    body: counted,
    duplex: 'half',
  } as RequestInit);
}

/** Bytes between progress updates of an inline capture. */
const PROGRESS_STEP = 64 * 1024;

async function devToken(server: string, user: { sub: string; name: string; roles: string[]; units: string[] }): Promise<string> {
  const issued = await fetchJson<DevToken>(`${server}/v1/dev/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(user),
  });
  return issued.access_token;
}

async function encryptFile(key: JWK, file: CheckedFile): Promise<EncryptedFile> {
  const bytes = await readFile(file.file);
  return { label: path.basename(file.file), size: bytes.byteLength, jwe: await encryptFor(key, bytes, file.mediaType) };
}

function form(metadata: string, files: EncryptedFile[], uploadIds: string[]): FormData {
  const body = new FormData();
  body.append('metadata', metadata);
  if (uploadIds.length > 0) for (const id of uploadIds) body.append('upload', id);
  else for (const [i, f] of files.entries()) body.append('file', new Blob([f.jwe], { type: 'application/jose' }), `part-${i + 1}`);
  return body;
}

async function uploadAll(server: string, auth: Record<string, string>, files: EncryptedFile[]): Promise<string[]> {
  const ids: string[] = [];
  for (const file of files) ids.push(await tusUpload(`${server}/v1/uploads`, auth, file));
  return ids;
}

/** One resumable upload of the ciphertext; resolves with the upload id. File names stay local (they may be telling). */
function tusUpload(endpoint: string, headers: Record<string, string>, file: EncryptedFile): Promise<string> {
  return new Promise((resolve, reject) => {
    const upload = new Upload(Buffer.from(file.jwe, 'latin1'), {
      endpoint,
      headers,
      metadata: { filetype: 'application/jose' },
      retryDelays: TUS_RETRY_DELAYS_MS,
      storeFingerprintForResuming: false,
      onProgress: progressBar(file.label, file.size),
      onError: reject,
      onSuccess: () => resolve(upload.url!.split('/').pop()!),
    });
    upload.start();
  });
}

/** A short-lived viewer link when the caller may read the document. */
async function viewerUrl(server: string, auth: Record<string, string>, id: string): Promise<{ viewerUrl?: string }> {
  const res = await request(`${server}/v1/documents/${id}/views`, { method: 'POST', headers: auth });
  if (res.status !== 201) return {};
  return { viewerUrl: ((await res.json()) as ViewTicket).viewerUrl };
}
