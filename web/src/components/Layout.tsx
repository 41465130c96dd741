// The page frame: a skip link, the navigation (Admin only for admins), who is signed in, logout.

import type { ReactNode } from 'react';
import { Link, useLocation } from '../router.js';
import { useSession } from '../session.js';

export function Layout({ children }: { children: ReactNode }) {
  const { me, logout } = useSession();
  const { path } = useLocation();
  const item = (to: string, label: string, active: boolean) => (
    <li>
      <Link to={to} aria-current={active ? 'page' : undefined}>
        {label}
      </Link>
    </li>
  );
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link to="/" className="brand">
          stint
        </Link>
        <nav aria-label="Main">
          <ul>
            {item('/', 'Overview', path === '/')}
            {item('/jobs', 'Jobs', path.startsWith('/jobs'))}
            {item('/launch', 'Launch', path === '/launch')}
            {me.role === 'admin' && item('/admin', 'Admin', path.startsWith('/admin'))}
          </ul>
        </nav>
        <div className="who">
          <span>
            {me.name ? <>{me.name} <span className="muted">({me.role})</span></> : <span className="muted">signing in…</span>}
          </span>
          <button type="button" onClick={logout}>
            Log out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
