import type { Request } from 'express';
import type { z } from 'zod';
import { AppError } from './errors.ts';

/** Validates input before the handler runs; refusals name each bad field. */
export function parseWith<T extends z.ZodType>(schema: T, input: unknown, what: string): z.infer<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const errors = parsed.error.issues.map((i) => ({ field: i.path.join('.') || '(root)', message: i.message }));
  throw new AppError('validation_failed', {
    detail: `The ${what} is invalid: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}.`,
    extra: { errors },
  });
}

export function parseQuery<T extends z.ZodType>(schema: T, req: Request): z.infer<T> {
  return parseWith(schema, req.query, 'query');
}

export function parseBody<T extends z.ZodType>(schema: T, req: Request): z.infer<T> {
  return parseWith(schema, req.body, 'request body');
}
