// Login: paste an API token (from $STINT_HOME/token, `stint admin token create`, or an admin). It is
// exchanged at once for an httpOnly session cookie (POST /api/v1/session) and never stored.

import { useState, type FormEvent } from 'react';

export function LoginPage({ onLogin, error }: { onLogin(token: string): void; error: string | null }) {
  const [token, setToken] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (token.trim()) onLogin(token.trim());
  };
  return (
    <main id="main" className="login">
      <form onSubmit={submit} className="card">
        <h1>stint</h1>
        <p className="muted">Sign in with your API token.</p>
        <label htmlFor="token">API token</label>
        <input id="token" name="token" type="password" autoComplete="current-password" value={token} onChange={(e) => setToken(e.target.value)} autoFocus required />
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary">
          Sign in
        </button>
        <p className="hint">
          The server's first token is in <code>$STINT_HOME/token</code>; others come from <code>stint admin</code> or an admin.
        </p>
      </form>
    </main>
  );
}
