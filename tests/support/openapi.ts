/**
 * Checks HTTP exchanges against openapi.yaml, so the API tests fail the moment the service and its
 * contract drift apart. `openapiAgent(app)` is supertest with that check on every response.
 */
import { readFileSync } from 'node:fs';
import type { ClientRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import request from 'supertest';
import type { Response, Test } from 'supertest';
import { parse } from 'yaml';

export const OPENAPI_PATH = fileURLToPath(new URL('../../openapi.yaml', import.meta.url));
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
type Method = (typeof METHODS)[number];
type Json = Record<string, unknown>;

/** One request and its response, as the contract sees them. */
export interface Exchange {
  method: string;
  /** Path with query string, e.g. `/v1/documents?limit=5`. */
  url: string;
  requestHeaders: Record<string, string>;
  /** The parsed body for JSON requests; anything else is only checked by content type. */
  requestBody?: unknown;
  status: number;
  headers: Record<string, string>;
  body: unknown;
  hasBody: boolean;
}

interface Operation {
  template: string;
  pointer: string;
  parameters: Parameter[];
  op: Json;
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schemaPointer: string;
}

export class ContractViolation extends Error {
  override readonly name = 'ContractViolation';
}

/** The parsed contract with compiled validators; build it once per test file (or use the shared one). */
export class OpenApiContract {
  /** The parsed openapi.yaml. */
  readonly document: Json;
  private readonly routes: Array<{ template: string; regex: RegExp; names: string[] }>;
  private readonly strict = new Ajv2020({ strict: false, allErrors: true });
  // Parameters and headers travel as text: "5" must pass as an integer.
  private readonly coercing = new Ajv2020({ strict: false, allErrors: true, coerceTypes: true });
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(text = readFileSync(OPENAPI_PATH, 'utf8')) {
    this.document = parse(text) as Json;
    for (const ajv of [this.strict, this.coercing]) {
      addFormats.default(ajv);
      ajv.addSchema(this.document, 'openapi');
    }
    this.routes = Object.keys(this.paths())
      .map((template) => routeOf(template))
      // A literal path wins over a template that would also match it (OpenAPI 3.1, Path Templating).
      .sort((a, b) => a.names.length - b.names.length);
  }

  /** Every mismatch between the exchange and the contract, in words; empty when it conforms. */
  check(exchange: Exchange): string[] {
    const [path = '', query = ''] = exchange.url.split('?', 2);
    const found = this.operation(exchange.method.toLowerCase(), path);
    if (typeof found === 'string') return [found];
    const problems = this.checkResponse(found, exchange);
    // An invalid request answered with 4xx is the contract at work; accepting one is drift.
    if (exchange.status < 400) problems.push(...this.checkRequest(found, path, new URLSearchParams(query), exchange));
    return problems;
  }

  /** Throws a ContractViolation listing every mismatch. */
  assert(exchange: Exchange): void {
    const problems = this.check(exchange);
    if (problems.length === 0) return;
    throw new ContractViolation(
      `${exchange.method.toUpperCase()} ${exchange.url} → ${exchange.status} breaks openapi.yaml:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }

  private paths(): Json {
    return this.document.paths as Json;
  }

  private operation(method: string, path: string): Operation | string {
    const route = this.routes.find((r) => r.regex.test(path));
    if (!route) return `path ${path} is not in openapi.yaml`;
    const item = this.paths()[route.template] as Json;
    if (!(METHODS as readonly string[]).includes(method) || !item[method]) {
      return `${method.toUpperCase()} is not documented for ${route.template}`;
    }
    const pointer = `#/paths/${escapePointer(route.template)}`;
    return {
      template: route.template,
      pointer: `${pointer}/${method}`,
      parameters: this.mergedParameters(item, item[method] as Json, pointer, method),
      op: item[method] as Json,
    };
  }

  /** Path-level parameters, overridden by operation-level ones of the same name and location. */
  private mergedParameters(item: Json, op: Json, pointer: string, method: string): Parameter[] {
    const withPointers = (list: unknown, base: string): Parameter[] =>
      ((list as Json[] | undefined) ?? []).map((p, i) => ({
        ...(this.deref(p) as unknown as Parameter),
        schemaPointer: `${this.refPointer(p, `${base}/parameters/${i}`)}/schema`,
      }));
    const byKey = new Map<string, Parameter>();
    for (const p of [...withPointers(item.parameters, pointer), ...withPointers(op.parameters, `${pointer}/${method}`)]) {
      byKey.set(`${p.in}:${p.name.toLowerCase()}`, p);
    }
    return [...byKey.values()];
  }

  private checkRequest(found: Operation, path: string, query: URLSearchParams, exchange: Exchange): string[] {
    const { parameters } = found;
    const route = this.routes.find((r) => r.template === found.template)!;
    const pathValues = route.regex.exec(path)!.slice(1).map(decodeURIComponent);
    const problems: string[] = [];
    for (const name of new Set(query.keys())) {
      if (!parameters.some((p) => p.in === 'query' && p.name === name)) problems.push(`query parameter '${name}' is not documented`);
    }
    for (const p of parameters) {
      const value =
        p.in === 'path' ? pathValues[route.names.indexOf(p.name)]
        : p.in === 'query' ? (query.get(p.name) ?? undefined)
        : p.in === 'header' ? exchange.requestHeaders[p.name.toLowerCase()]
        : undefined;
      if (value === undefined) {
        if (p.required) problems.push(`required ${p.in} parameter '${p.name}' is missing`);
        continue;
      }
      problems.push(...this.validate(this.coercing, p.schemaPointer, value, `${p.in} parameter '${p.name}'`));
    }
    return [...problems, ...this.checkRequestBody(found, exchange)];
  }

  private checkRequestBody(found: Operation, exchange: Exchange): string[] {
    const body = found.op.requestBody ? this.deref(found.op.requestBody) : undefined;
    const type = exchange.requestHeaders['content-type'];
    if (!body) return type ? [`a request body (${type}) was sent, but the operation takes none`] : [];
    if (!type) return body.required ? ['the required request body is missing'] : [];
    const mediaType = matchMediaType(type, Object.keys(body.content as Json));
    if (!mediaType) return [`request content type ${type} is not one of ${Object.keys(body.content as Json).join(', ')}`];
    if (!isJson(type) || exchange.requestBody === undefined) return [];
    const pointer = `${this.refPointer(found.op.requestBody, `${found.pointer}/requestBody`)}/content/${escapePointer(mediaType)}/schema`;
    return this.validate(this.strict, pointer, exchange.requestBody, 'request body');
  }

  private checkResponse(found: Operation, exchange: Exchange): string[] {
    const responses = found.op.responses as Json;
    const key = [String(exchange.status), `${String(exchange.status)[0]}XX`, 'default'].find((k) => k in responses);
    if (!key) return [`status ${exchange.status} is not documented (documented: ${Object.keys(responses).join(', ')})`];
    const response = this.deref(responses[key]);
    const pointer = this.refPointer(responses[key], `${found.pointer}/responses/${key}`);
    return [...this.checkResponseHeaders(response, pointer, exchange), ...this.checkResponseContent(response, pointer, exchange)];
  }

  private checkResponseHeaders(response: Json, pointer: string, exchange: Exchange): string[] {
    const problems: string[] = [];
    for (const [name, raw] of Object.entries((response.headers as Json | undefined) ?? {})) {
      const header = this.deref(raw);
      const value = exchange.headers[name.toLowerCase()];
      if (value === undefined) {
        if (header.required) problems.push(`response header ${name} is missing (declared required)`);
        continue;
      }
      const schemaPointer = `${this.refPointer(raw, `${pointer}/headers/${escapePointer(name)}`)}/schema`;
      problems.push(...this.validate(this.coercing, schemaPointer, value, `response header ${name}`));
    }
    return problems;
  }

  private checkResponseContent(response: Json, pointer: string, exchange: Exchange): string[] {
    const content = response.content as Json | undefined;
    const type = exchange.headers['content-type'];
    if (!content) return exchange.hasBody ? [`a response body (${type ?? 'no content type'}) was sent, but none is documented`] : [];
    if (!exchange.hasBody) return exchange.method.toLowerCase() === 'head' ? [] : ['the documented response body is missing'];
    const mediaType = type ? matchMediaType(type, Object.keys(content)) : undefined;
    if (!mediaType) return [`response content type ${type ?? '(none)'} is not one of ${Object.keys(content).join(', ')}`];
    if (!isJson(mediaType)) return [];
    return this.validate(this.strict, `${pointer}/content/${escapePointer(mediaType)}/schema`, exchange.body, 'response body');
  }

  private validate(ajv: Ajv2020, pointer: string, value: unknown, what: string): string[] {
    const key = `${ajv === this.strict ? 's' : 'c'}${pointer}`;
    let validator = this.validators.get(key);
    if (!validator) {
      validator = ajv.compile({ $ref: `openapi${pointer}` });
      this.validators.set(key, validator);
    }
    return validator(value) ? [] : describeErrors(validator.errors ?? [], what);
  }

  /** Follows a `$ref` to a component (parameters, responses, headers, request bodies). */
  private deref(value: unknown): Json {
    const ref = (value as Json).$ref;
    return typeof ref === 'string' ? this.deref(resolvePointer(this.document, ref)) : (value as Json);
  }

  /** Where the object really lives, so schema pointers work through references. */
  private refPointer(value: unknown, here: string): string {
    const ref = (value as Json).$ref;
    return typeof ref === 'string' ? this.refPointer(resolvePointer(this.document, ref), ref) : here;
  }
}

let shared: OpenApiContract | undefined;

/** The contract of openapi.yaml, parsed once per test file. */
export function openapiContract(): OpenApiContract {
  return (shared ??= new OpenApiContract());
}

export type OpenApiAgent = Record<Exclude<Method, 'trace'>, (url: string) => Test>;

/**
 * supertest for `app` that checks every exchange against openapi.yaml: `await api.get('/healthz').expect(200)`.
 * A mismatch (undocumented path, method or status, wrong headers, content type or body, or a request
 * outside the contract that the service accepted) fails the request's promise with a ContractViolation.
 */
export function openapiAgent(app: Parameters<typeof request>[0], contract: OpenApiContract = openapiContract()): OpenApiAgent {
  const agent = request(app);
  const checked = (method: Exclude<Method, 'trace'>) => (url: string) => {
    const test = agent[method](url);
    return test.expect((res: Response) => contract.assert(exchangeOf(test, res)));
  };
  return {
    get: checked('get'),
    put: checked('put'),
    post: checked('post'),
    delete: checked('delete'),
    options: checked('options'),
    head: checked('head'),
    patch: checked('patch'),
  };
}

/** Reads the exchange from supertest: what went over the wire (`test.req`) and the body it sent. */
export function exchangeOf(test: Test, res: Response): Exchange {
  const sent = test.req as ClientRequest;
  const data = (test.toJSON() as { data?: unknown }).data;
  const requestHeaders = Object.fromEntries(Object.entries(sent.getHeaders()).map(([k, v]) => [k, String(v)]));
  const length = res.headers['content-length'];
  return {
    method: sent.method,
    url: sent.path,
    requestHeaders,
    ...(data !== undefined ? { requestBody: data } : {}),
    status: res.status,
    headers: res.headers as Record<string, string>,
    body: res.body,
    // A HEAD answer's Content-Length describes the GET body; the answer itself never has one.
    hasBody: sent.method === 'HEAD' ? false : length !== undefined ? Number(length) > 0 : Boolean(res.text) || Buffer.isBuffer(res.body),
  };
}

function routeOf(template: string): { template: string; regex: RegExp; names: string[] } {
  const names: string[] = [];
  const source = template
    .split(/(\{[^}]+\})/)
    .map((segment) => {
      const param = /^\{([^}]+)\}$/.exec(segment);
      if (!param) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(param[1]!);
      return '([^/]+)';
    })
    .join('');
  return { template, regex: new RegExp(`^${source}$`), names };
}

/** `application/json; charset=utf-8` matches `application/json`, `image/jpeg` matches `image/*`. */
function matchMediaType(actual: string, declared: string[]): string | undefined {
  const type = actual.split(';')[0]!.trim().toLowerCase();
  return (
    declared.find((d) => d.toLowerCase() === type) ??
    declared.find((d) => d.endsWith('/*') && type.startsWith(d.slice(0, -1).toLowerCase())) ??
    declared.find((d) => d === '*/*')
  );
}

function isJson(mediaType: string): boolean {
  return /^application\/(?:[\w.-]+\+)?json(?:;|$)/i.test(mediaType.trim());
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function resolvePointer(doc: Json, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`only local references are supported, not ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => (node as Json)[key], doc);
}

function describeErrors(errors: ErrorObject[], what: string): string[] {
  return errors.map((e) => {
    const at = e.instancePath ? `${what} ${e.instancePath}` : what;
    const detail = 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})`
      : 'additionalProperty' in e.params ? ` ('${String(e.params.additionalProperty)}')`
      : 'allowedValue' in e.params ? ` (${JSON.stringify(e.params.allowedValue)})`
      : '';
    return `${at}: ${e.message ?? 'is invalid'}${detail}`;
  });
}
