// Kubernetes `Status` bodies (meta/v1) for errors and exec results.

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { name?: string; group?: string; kind?: string; causes?: { reason?: string; message: string; field?: string }[] };
  code: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusBody['details'],
  ) {
    super(message);
  }

  toStatus(): StatusBody {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

export const errors = {
  unauthorized: () => new ApiError(401, 'Unauthorized', 'Unauthorized'),
  notFound: (resource: string, name: string) =>
    new ApiError(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource }),
  noRoute: () => new ApiError(404, 'NotFound', 'the server could not find the requested resource'),
  alreadyExists: (resource: string, name: string) =>
    new ApiError(409, 'AlreadyExists', `${resource} "${name}" already exists`, { name, kind: resource }),
  badRequest: (message: string) => new ApiError(400, 'BadRequest', message),
  invalid: (resource: string, name: string, field: string, message: string) =>
    new ApiError(422, 'Invalid', `${resource} "${name}" is invalid: ${field}: ${message}`, {
      name,
      kind: resource,
      causes: [{ reason: 'FieldValueInvalid', message, field }],
    }),
  forbidden: (resource: string, name: string, why: string) =>
    new ApiError(403, 'Forbidden', `${resource} "${name}" is forbidden: ${why}`, { name, kind: resource }),
  methodNotAllowed: (method: string) =>
    new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource: ${method}`),
  tooLarge: (limit: number) => new ApiError(413, 'RequestEntityTooLarge', `request body larger than ${limit} bytes`),
  internal: (message: string) => new ApiError(500, 'InternalError', `Internal error occurred: ${message}`),
};

/** Channel-3 status that ends an exec: Success, or NonZeroExitCode carrying the code. */
export function execStatus(exitCode: number): Omit<StatusBody, 'kind' | 'apiVersion' | 'code'> {
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: exit status ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

export function execFailure(message: string): Omit<StatusBody, 'kind' | 'apiVersion' | 'code'> {
  return { metadata: {}, status: 'Failure', message, reason: 'InternalError' };
}
