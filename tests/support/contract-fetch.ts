/** A fetch for openapi-fetch that checks every exchange against openapi.yaml, like openapiAgent does for supertest. */
import { openapiContract, type OpenApiContract } from './openapi.ts';

export function contractFetch(contract: OpenApiContract = openapiContract()): (request: Request) => Promise<Response> {
  return async (request) => {
    const url = new URL(request.url);
    const requestText = request.body ? await request.clone().text() : undefined;
    const response = await fetch(request);
    const type = response.headers.get('content-type') ?? '';
    const bytes = Buffer.from(await response.clone().arrayBuffer());
    contract.assert({
      method: request.method,
      url: url.pathname + url.search,
      requestHeaders: Object.fromEntries(request.headers),
      ...(requestText ? { requestBody: JSON.parse(requestText) as unknown } : {}),
      status: response.status,
      headers: Object.fromEntries(response.headers),
      body: /json/.test(type) && bytes.length > 0 ? (JSON.parse(bytes.toString('utf8')) as unknown) : bytes,
      hasBody: bytes.length > 0,
    });
    return response;
  };
}
