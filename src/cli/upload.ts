import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { JWK } from 'jose';
import { Upload } from 'tus-js-client';
import { detectType, encryptFor, pickIngestKey, type KeyChoice } from './encrypt.ts';
import { fetchJson, serverError, withRetries, type RetryPolicy } from './http.ts';
import { progressBar } from './progress.ts';

export interface UploadCommand {
  server: string;
  /** A bearer token; or, in development mode, a user to get one for from POST /v1/dev/token. */
  auth: { token: string } | { devUser: { sub: string; roles: string[]; units: string[] } };
  files: string[];
  metadata: { title: string; caseNumber?: string; classification?: string; issuingOffice?: string; unit?: string; source: string };
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
  jwe: string;
}

const APP = { app: 'vs-capture-cli', version: '0.1.0' };
/** tus-js-client's own retries of an interrupted PATCH (HEAD, then resume from the offset). */
const TUS_RETRY_DELAYS_MS = [0, 1000, 3000, 5000, 10_000];

/** Encrypts every part to a published key, uploads, captures once (idempotently) and says where the document is. */
export async function runUpload(cmd: UploadCommand, log: (line: string) => void): Promise<UploadResult> {
  const server = cmd.server.replace(/\/+$/, '');
  const token = 'token' in cmd.auth ? cmd.auth.token : await devToken(server, cmd.auth.devUser);
  const key = pickIngestKey(await fetchJson<{ keys: JWK[] }>(`${server}/v1/keys`), cmd.key);
  const metadata = await encryptFor(key, Buffer.from(JSON.stringify({ ...cmd.metadata, device: APP })), 'application/json');
  const files = await Promise.all(cmd.files.map((file) => encryptFile(key, file)));
  const resumable = files.some((f) => f.jwe.length > cmd.resumableAbove);
  const idempotencyKey = randomUUID();
  const auth = { Authorization: `Bearer ${token}` };

  let uploadIds = resumable ? await uploadAll(server, auth, files) : [];
  const send = () => fetch(`${server}/v1/documents`, { method: 'POST', headers: { ...auth, 'Idempotency-Key': idempotencyKey }, body: form(metadata, files, uploadIds) });
  const retryLog = (why: string, waitMs: number) => log(`retrying in ${(waitMs / 1000).toFixed(1)} s after ${why}`);
  let res = await withRetries(cmd.retry, send, retryLog);
  if (res.status === 404 && resumable) {
    // An earlier attempt whose answer was lost may have succeeded and consumed the uploads: upload
    // again and repeat with the same key, which the server answers with that document.
    log('uploads already consumed; uploading again to repeat the request');
    uploadIds = await uploadAll(server, auth, files);
    res = await withRetries(cmd.retry, send, retryLog);
  }
  if (res.status !== 201) throw await serverError(res);
  const record = (await res.json()) as { id: string; pageCount: number };
  return {
    id: record.id,
    pageCount: record.pageCount,
    documentUrl: `${server}/v1/documents/${record.id}`,
    ...(await viewerUrl(server, auth, record.id)),
    resumable,
  };
}

async function devToken(server: string, user: { sub: string; roles: string[]; units: string[] }): Promise<string> {
  const issued = await fetchJson<{ access_token: string }>(`${server}/v1/dev/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(user),
  });
  return issued.access_token;
}

async function encryptFile(key: JWK, file: string): Promise<EncryptedFile> {
  const bytes = await readFile(file);
  return { label: path.basename(file), jwe: await encryptFor(key, bytes, await detectType(bytes)) };
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
      onProgress: progressBar(file.label),
      onError: reject,
      onSuccess: () => resolve(upload.url!.split('/').pop()!),
    });
    upload.start();
  });
}

/** A short-lived viewer link when the caller may read the document. */
async function viewerUrl(server: string, auth: Record<string, string>, id: string): Promise<{ viewerUrl?: string }> {
  const res = await fetch(`${server}/v1/documents/${id}/views`, { method: 'POST', headers: auth });
  if (res.status !== 201) return {};
  return { viewerUrl: ((await res.json()) as { viewerUrl: string }).viewerUrl };
}
