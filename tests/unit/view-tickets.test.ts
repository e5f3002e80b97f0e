import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { loadKey } from '../../src/keys/key-source.ts';
import { createViewTickets, VIEW_TICKET_KEY } from '../../src/views/tickets.ts';

const reader = { sub: 'u1', name: 'Erika Mustermann' };
const DOC = '01JDV8K0000000000000000000';

async function newKey(): Promise<JWK> {
  return exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey);
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(() => undefined, (err: { code?: string }) => err.code);
}

describe('view tickets', () => {
  it('verifies what it issued, on another instance holding the same key', async () => {
    const key = await newKey();
    const now = Date.now();
    const { ticket, grant } = await (await createViewTickets(key, 600_000, () => now)).issue(reader, DOC);
    const verified = await (await createViewTickets(key, 600_000, () => now)).verify(ticket, DOC);
    expect(verified).toEqual(grant);
    // JWT times are whole seconds.
    expect(Math.abs(verified.expiresAt.getTime() - (now + 600_000))).toBeLessThan(1000);
  });

  it('refuses expired, forged and other-document tickets with distinct codes', async () => {
    let now = Date.now();
    const key = await newKey();
    const tickets = await createViewTickets(key, 600_000, () => now);
    const { ticket } = await tickets.issue(reader, DOC);
    expect(await codeOf(tickets.verify(ticket, '01JDV8K0000000000000000001'))).toBe('ticket_wrong_document');
    const foreign = await (await createViewTickets(await newKey(), 600_000)).issue(reader, DOC);
    expect(await codeOf(tickets.verify(foreign.ticket, DOC))).toBe('ticket_invalid');
    expect(await codeOf(tickets.verify('not.a.ticket', DOC))).toBe('ticket_invalid');
    now += 600_001;
    expect(await codeOf(tickets.verify(ticket, DOC))).toBe('ticket_expired');
  });

  it('loads a configured key and refuses anything but a private P-256 JWK without echoing it', async () => {
    const key = await newKey();
    expect(await loadKey({ json: JSON.stringify(key) }, VIEW_TICKET_KEY)).toMatchObject({ kty: 'EC', crv: 'P-256', d: key.d });
    const { d: _d, ...publicOnly } = key;
    await expect(loadKey({ json: JSON.stringify(publicOnly) }, VIEW_TICKET_KEY)).rejects.toThrow(/^VIEW_TICKET_KEY must be a private EC P-256 JWK/);
    await expect(loadKey({ json: '{secret-garbage' }, VIEW_TICKET_KEY)).rejects.toThrow(/^VIEW_TICKET_KEY must be/);
    await expect(loadKey({ json: '{secret-garbage' }, VIEW_TICKET_KEY)).rejects.not.toThrow(/secret-garbage/);
  });
});
