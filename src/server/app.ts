// The HTTP application: Fastify with the zod schemas of src/api as validators and as the source of
// the OpenAPI document, authentication decided on the matched route (deny by default, see
// route-access.ts: a bearer token or the web session's cookie resolves to a user, attached as
// request.user; see auth.ts), and one error handler that turns every failure into
// {code, message, details}: a StintError keeps its code (and a RATE_LIMITED one sets Retry-After),
// a schema failure names the field, anything unexpected is a 500 INTERNAL without a stack trace.

import fastifyCookie from '@fastify/cookie';
import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { StintError } from '../core/errors.js';
import type { ServerResources } from './resources.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerGpuRoutes } from './routes/gpus.js';
import { registerUsageRoutes } from './routes/usage.js';
import { registerUploadRoutes } from './routes/uploads.js';
import { registerLogRoutes } from './routes/logs.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerTokenRoutes } from './routes/tokens.js';
import { registerLogStreamRoutes } from './routes/log-stream.js';
import { registerUiRoutes } from './routes/ui.js';
import { Authenticator } from './auth.js';
import { guardRoutes } from './route-access.js';
import { registerSessionRoutes } from './routes/session.js';
import { registerImageRoutes } from './routes/images.js';
import { VERSION } from '../version.js';

export async function buildApp(res: ServerResources): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 2 * 1024 * 1024 });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'stint API', description: 'Jobs, GPUs, logs, users, tokens, projects and the audit log of a stint server.', version: VERSION },
      components: { securitySchemes: { token: { type: 'http', scheme: 'bearer' } } },
      security: [{ token: [] }],
    },
    transform: jsonSchemaTransform,
  });
  app.setErrorHandler((error, request, reply) => {
    const stint = toStintError(error as FastifyError, request);
    if (stint.code === 'INTERNAL') res.logger.error({ err: error, url: request.url }, 'request failed');
    if (typeof stint.details.retryAfterSeconds === 'number') void reply.header('retry-after', String(stint.details.retryAfterSeconds));
    void reply.status(stint.httpStatus).send(stint.toJSON());
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new StintError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}; see /api/openapi.json`);
    void reply.status(404).send(error.toJSON());
  });
  const auth = new Authenticator(res.store.users, res.clock);
  await app.register(fastifyCookie);
  guardRoutes(app, auth);
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true }));
  registerJobRoutes(app, res);
  registerLogRoutes(app, res);
  registerGpuRoutes(app, res);
  registerUsageRoutes(app, res);
  registerUploadRoutes(app, res);
  registerTokenRoutes(app, res, auth);
  registerAdminRoutes(app, res, auth);
  registerLogStreamRoutes(app, res, auth);
  registerSessionRoutes(app, auth);
  registerImageRoutes(app, res);
  await registerUiRoutes(app);
  return app;
}

function toStintError(error: FastifyError, request: FastifyRequest): StintError {
  if (error instanceof StintError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation.map((v) => {
      const path = v.instancePath.split('/').filter(Boolean);
      const field = path.length > 0 ? path.join('.') : (error.validationContext ?? 'body');
      return { field, message: v.message };
    });
    const text = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
    return new StintError('INVALID_REQUEST', `invalid request: ${text}`, { issues });
  }
  if (typeof error.statusCode === 'number' && error.statusCode < 500) {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const upload = request.routeOptions.url === '/api/v1/uploads';
      return new StintError(upload ? 'WORKDIR_TOO_LARGE' : 'BODY_TOO_LARGE', `request body too large: ${error.message}`, { code: error.code });
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      const type = request.headers['content-type'] ?? '(none)';
      return new StintError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${type} is not accepted here; send application/json (workdir archives go to POST /api/v1/uploads as application/gzip)`, { field: 'content-type', value: type, accepted: 'application/json' });
    }
    return new StintError('INVALID_REQUEST', error.message, { code: error.code });
  }
  return new StintError('INTERNAL', 'internal server error; the server log has the details', {}, { cause: error });
}
