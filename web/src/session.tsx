// The logged-in session: the API client (cookie session, CSRF token in memory) and the caller's
// identity from /api/v1/me. The token is never kept by the page. Every page reads it through
// useSession().

import { createContext, useContext } from 'react';
import type { Api, MeView } from './api.js';

/** localStorage key holding only '1' while a session cookie is expected: no token, no identity. */
export const SIGNED_IN_KEY = 'stint.signed-in';

export interface Session {
  api: Api;
  me: MeView;
  logout(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a session');
  return session;
}
