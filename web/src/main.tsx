// The web UI's entry: the session, the page frame and the routes. The session is an httpOnly
// cookie the server sets when the login page posts the token (see api.ts); the page keeps only
// the CSRF token, in memory, and a "signed in" flag (no token, no identity) in localStorage so a
// reload asks /api/v1/me before React starts and a first visit goes straight to the login page.
// Only Overview and Jobs are in the first bundle; job detail, launch and admin (with uPlot) are
// chunks loaded when first opened (members never download the admin one).

import { lazy, StrictMode, Suspense, useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { Api, currentSession, errorText, jobsUrl, openSession, prefetch, type EarlyRequests, type SessionMe } from './api.js';
import { Layout } from './components/Layout.js';
import { JobsPage, listQueryOf } from './pages/Jobs.js';
import { LoginPage } from './pages/Login.js';
import { OverviewPage } from './pages/Overview.js';
import { navigate, useLocation } from './router.js';
import { SessionContext, SIGNED_IN_KEY, type Session } from './session.js';
import './styles.css';

const AdminPage = lazy(() => import('./pages/Admin.js'));
const JobDetailPage = lazy(() => import('./pages/JobDetail.js').then((m) => ({ default: m.JobDetailPage })));
const LaunchPage = lazy(() => import('./pages/Launch.js').then((m) => ({ default: m.LaunchPage })));

const HAD_SESSION = localStorage.getItem(SIGNED_IN_KEY) === '1';

/** Requests the landing page needs, sent before React starts (used once, by identical calls). */
function earlyRequests(): EarlyRequests | undefined {
  if (!HAD_SESSION) return undefined;
  const urls = ['/api/v1/me'];
  if (location.pathname === '/jobs') urls.push(jobsUrl(listQueryOf(new URLSearchParams(location.search))));
  return prefetch(urls);
}

const EARLY = earlyRequests();

function App() {
  const [me, setMe] = useState<(SessionMe & { resumed: boolean }) | null>(null);
  const [checking, setChecking] = useState(HAD_SESSION);
  const [loginError, setLoginError] = useState<string | null>(null);
  const forget = (why: string | null) => {
    localStorage.removeItem(SIGNED_IN_KEY);
    setLoginError(why);
    setMe(null);
  };
  useEffect(() => {
    if (!HAD_SESSION) return;
    currentSession(EARLY).then(
      (found) => (found ? setMe({ ...found, resumed: true }) : forget(null)),
      (e: unknown) => forget(errorText(e)),
    ).finally(() => setChecking(false));
  }, []);
  // The requests sent before React started belong to the session found then, never a later one.
  const api = useMemo(() => (me ? new Api(me.csrfToken, () => forget('Your session ended; sign in again.'), me.resumed ? EARLY : undefined) : null), [me]);
  const logout = async () => {
    await api?.closeSession().catch(() => undefined);
    forget(null);
    navigate('/login');
  };
  const login = async (token: string) => {
    setLoginError(null);
    try {
      const opened = await openSession(token);
      localStorage.setItem(SIGNED_IN_KEY, '1');
      setMe({ ...opened, resumed: false });
      if (location.pathname === '/login') navigate('/', true);
    } catch (e) {
      setLoginError(errorText(e));
    }
  };
  if (checking) return <p className="loading" role="status">Signing in…</p>;
  if (!api || !me) return <LoginPage onLogin={(token) => void login(token)} error={loginError} />;
  const session: Session = { api, me, logout: () => void logout() };
  return (
    <SessionContext.Provider value={session}>
      <Layout>
        <Routes />
      </Layout>
    </SessionContext.Provider>
  );
}

function Routes() {
  return (
    <Suspense fallback={<p className="loading" role="status">Loading…</p>}>
      <Page />
    </Suspense>
  );
}

/** Overview and Jobs are in the first bundle; the other pages load when first opened. */
function Page() {
  const { path } = useLocation();
  const job = /^\/jobs\/(\d+)$/.exec(path);
  if (job) return <JobDetailPage id={Number(job[1])} />;
  if (path === '/jobs') return <JobsPage />;
  if (path === '/launch') return <LaunchPage />;
  if (path.startsWith('/admin')) return <AdminPage />;
  if (path === '/' || path === '/login') return <OverviewPage />;
  return (
    <section>
      <h1>Not found</h1>
      <p>There is no page at {path}.</p>
    </section>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
