import { readFile } from 'node:fs/promises';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { parse } from 'yaml';
import { ACCEPTED_MEDIA_TYPES, type DocumentRecord, type ProblemCode, type ViewInfo, type ViewTicketRenewal } from '../../contract/index.ts';
import type { ErrorCode } from '../../src/kernel/errors.ts';
import type { ViewService } from '../../src/views/service.ts';
import type { toDocumentView } from '../../src/api/documents.ts';
import type { ServerError } from '../../client/http.ts';
import type { fetchInfo, renewTicket } from '../../viewer/src/api.ts';
import type { Problem as WorkspaceProblem } from '../../workspace/src/api.ts';

// Type-level checks fail `tsc --noEmit` (the first step of `npm test`); vitest only runs the value checks.
type ServerViewInfo = Awaited<ReturnType<ViewService['info']>>;
type ViewerViewInfo = Awaited<ReturnType<typeof fetchInfo>>;

describe('contract/ (the types generated from openapi.yaml) binds server, viewer, workspace and client', () => {
  it('the ViewInfo the server sends is the one the viewer reads', () => {
    expectTypeOf<ViewerViewInfo>().toEqualTypeOf<ViewInfo>();
    expectTypeOf<ServerViewInfo>().toExtend<ViewerViewInfo>();
    expectTypeOf<Awaited<ReturnType<ViewService['renewTicket']>>['expiresInSeconds']>().toEqualTypeOf<Awaited<ReturnType<typeof renewTicket>>['expiresInSeconds']>();
    expectTypeOf<Awaited<ReturnType<typeof renewTicket>>>().toEqualTypeOf<ViewTicketRenewal>();
    // The viewer's former hand copy lacked `classification`; a server type without it no longer passes.
    // @ts-expect-error the contract requires classification
    expectTypeOf<Omit<ServerViewInfo, 'classification'>>().toExtend<ViewerViewInfo>();
  });

  it('the server answers with exactly the contract problem codes, and the viewer, workspace and client branch on those', () => {
    expectTypeOf<ErrorCode>().toEqualTypeOf<ProblemCode>();
    expectTypeOf<WorkspaceProblem['code']>().toEqualTypeOf<ProblemCode | undefined>();
    expectTypeOf<ServerError['code']>().toEqualTypeOf<ProblemCode | undefined>();
  });

  it("the server's document view is the contract's Document", () => {
    expectTypeOf<ReturnType<typeof toDocumentView>>().toEqualTypeOf<DocumentRecord>();
  });

  it('ACCEPTED_MEDIA_TYPES lists the MediaType enum of openapi.yaml, in its order', async () => {
    const doc = parse(await readFile(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as { components: { schemas: { MediaType: { enum: string[] } } } };
    expect([...ACCEPTED_MEDIA_TYPES]).toEqual(doc.components.schemas.MediaType.enum);
  });
});
