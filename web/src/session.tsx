// The logged-in session: the token (kept in localStorage, removed on logout or when the server
// refuses it) and the caller's identity from /api/v1/me. Every page reads it through useSession().

import { createContext, useContext } from 'react';
import type { Api, MeView } from './api.js';

export const TOKEN_KEY = 'stint.token';

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
