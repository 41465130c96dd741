// Typed errors with stable codes. Every error that crosses the API is a StintError and travels
// as {code, message, details}; the client rebuilds the same class from it. Codes never change
// meaning once shipped.

export const ERROR_HTTP_STATUS = {
  INVALID_SPEC: 400,
  INVALID_REQUEST: 400,
  UNSUPPORTED_FEATURE: 422,
  UNSATISFIABLE: 422,
  WORKDIR_TOO_LARGE: 413,
  /** A request body over its route's limit (uploads answer WORKDIR_TOO_LARGE). */
  BODY_TOO_LARGE: 413,
  /** A body in a content type the route does not take. */
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  /** A task's image_id names an image that is neither imported, local nor pullable (src/containers/images.ts). */
  IMAGE_NOT_FOUND: 400,
  QUOTA_EXCEEDED: 429,
  /** Too many failed authentications from one address, or too many open streams of one user. */
  RATE_LIMITED: 429,
  /** A cookie-authenticated change without the session's X-CSRF-Token header. */
  CSRF: 403,
  /** An Idempotency-Key sent again with a different submission (IETF httpapi-idempotency-key-header). */
  IDEMPOTENCY_KEY_REUSED: 422,
  BACKEND_ERROR: 502,
  SERVER_UNREACHABLE: 503,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_HTTP_STATUS;

/** One problem found in a task file: the field path, where it is, and what went wrong. */
export interface FieldIssue {
  field: string;
  message: string;
  line?: number;
  col?: number;
  value?: unknown;
  accepted?: string;
}

export class StintError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StintError';
    this.code = code;
    this.details = details;
  }

  get httpStatus(): number {
    return ERROR_HTTP_STATUS[this.code];
  }

  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && value in ERROR_HTTP_STATUS;
}

/**
 * Formats field issues as "field (line L:C): got VALUE; message" lines, the form every task-file
 * error takes. The value is shown when the issue carries one the message does not already quote.
 */
export function describeIssues(issues: readonly FieldIssue[]): string {
  return issues
    .map((issue) => {
      const where = issue.line !== undefined ? ` (line ${issue.line}:${issue.col ?? 1})` : '';
      return `${issue.field}${where}: ${gotValue(issue)}${issue.message}`;
    })
    .join('\n');
}

function gotValue(issue: FieldIssue): string {
  if (issue.value === undefined || issue.value === null || typeof issue.value === 'object') return '';
  const text = String(issue.value);
  if (text === '' || issue.message.includes(text)) return '';
  const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return `got ${JSON.stringify(shown)}; `;
}
