// Wire format of the web UI's session (POST/DELETE /api/v1/session): a token is exchanged for an
// httpOnly, SameSite=Strict cookie holding a server-side session id (never the token), and the
// answer carries the CSRF token that every cookie-authenticated change must send back as
// X-CSRF-Token; DELETE ends the session on the server. Shared by server and web app.

import { z } from 'zod';
import { MeSchema } from './admin-schemas.js';

export const SessionRequestSchema = z.object({
  token: z.string().min(1).max(1024).describe('an API token (as in $STINT_HOME/token or from `stint token create`)'),
});
export type SessionRequest = z.infer<typeof SessionRequestSchema>;

export const SessionSchema = z.object({
  csrfToken: z.string().describe('send as the X-CSRF-Token header on every POST, PUT and DELETE made with the session cookie'),
  me: MeSchema,
});
export type SessionView = z.infer<typeof SessionSchema>;

export const SessionEndSchema = z.object({ ended: z.literal(true) });
