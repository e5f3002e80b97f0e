/**
 * The API contract as code: the types generated from openapi.yaml (api-types.ts, `npm run gen:api-types`)
 * under the names the server, the viewer, the workspace and the reference client use. Imports nothing.
 */
import type { components, paths } from './api-types.ts';

export type { components, paths };

type Schemas = components['schemas'];

export type Problem = Schemas['Problem'];
export type ProblemCode = Schemas['ProblemCode'];
export type FieldError = Schemas['FieldError'];
export type ViewTicket = Schemas['ViewTicket'];
export type ViewInfo = Schemas['ViewInfo'];
export type ViewTicketRenewal = Schemas['ViewTicketRenewal'];
export type WorkspaceConfig = Schemas['WorkspaceConfig'];
export type Classification = Schemas['Classification'];
export type ReviewStatus = Schemas['ReviewStatus'];
export type MediaType = Schemas['MediaType'];
/** openapi.yaml's `Document`, renamed so browser code keeps the DOM's `Document`. */
export type DocumentRecord = Schemas['Document'];
export type TransferNote = Schemas['TransferNote'];
export type Finding = Schemas['Finding'];
export type FeedPage = Schemas['FeedPage'];
export type ReviewRequest = Schemas['ReviewRequest'];
export type AcknowledgementRequest = Schemas['AcknowledgementRequest'];
export type DeletionRequest = Schemas['DeletionRequest'];
export type XdomeaVorgangRequest = Schemas['XdomeaVorgangRequest'];
export type AuditEntry = Schemas['AuditEntry'];
export type AuditPage = Schemas['AuditPage'];
export type DocumentAuditTrail = Schemas['DocumentAuditTrail'];
export type PublicJwk = Schemas['PublicJwk'];
export type JwkSet = Schemas['JwkSet'];
export type DevTokenRequest = Schemas['DevTokenRequest'];
export type DevToken = Schemas['DevToken'];

/** Every value of MediaType once: the record fails to compile when openapi.yaml adds or drops one. */
const mediaTypes: Record<MediaType, true> = {
  'application/pdf': true,
  'image/jpeg': true,
  'image/png': true,
  'image/tiff': true,
  'image/webp': true,
  'image/heic': true,
  'image/heif': true,
  'image/avif': true,
};

/** The media types a capture accepts, at run time (the client checks files before sending them). */
export const ACCEPTED_MEDIA_TYPES = Object.keys(mediaTypes) as readonly MediaType[];
