// The web UI's entry: the session (token → /api/v1/me, remembered with the token so a reload
// renders at once; a refused token logs out), the page frame and the routes. Only Overview and
// Jobs are in the first bundle; job detail, launch and admin (with uPlot) are chunks loaded when
// first opened (members never download the admin one).

import { lazy, StrictMode, Suspense, useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { Api, errorText, jobsUrl, prefetch, type EarlyRequests, type MeView } from './api.js';
import { Layout } from './components/Layout.js';
import { JobsPage, listQueryOf } from './pages/Jobs.js';
import { LoginPage } from './pages/Login.js';
import { OverviewPage } from './pages/Overview.js';
import { navigate, useLocation } from './router.js';
import { SessionContext, TOKEN_KEY, type Session } from './session.js';
import './styles.css';

const AdminPage = lazy(() => import('./pages/Admin.js'));
const JobDetailPage = lazy(() => import('./pages/JobDetail.js').then((m) => ({ default: m.JobDetailPage })));
const LaunchPage = lazy(() => import('./pages/Launch.js').then((m) => ({ default: m.LaunchPage })));
const ME_KEY = 'stint.me';
const UNKNOWN_CALLER: MeView = { id: 0, name: '', role: 'viewer', projects: [] };

function cachedMe(token: string | null): MeView | null {
  try {
    const saved = JSON.parse(localStorage.getItem(ME_KEY) ?? 'null') as { token: string; me: MeView } | null;
    return saved && saved.token === token ? saved.me : null;
  } catch {
    return null;
  }
}

/** Requests the landing page needs, sent before React starts (used once, by identical calls). */
function earlyRequests(token: string | null): EarlyRequests | undefined {
  if (!token) return undefined;
  const urls = ['/api/v1/me'];
  if (location.pathname === '/jobs') urls.push(jobsUrl(listQueryOf(new URLSearchParams(location.search))));
  return prefetch(token, urls);
}

const START_TOKEN = localStorage.getItem(TOKEN_KEY);
const EARLY = earlyRequests(START_TOKEN);

function App() {
  const [token, setToken] = useState<string | null>(() => localStorage.getItem(TOKEN_KEY));
  // The caller as last seen: pages render at once on a reload, while /me is asked again.
  const [me, setMe] = useState<MeView | null>(() => cachedMe(token));
  const [loginError, setLoginError] = useState<string | null>(null);
  const forget = () => {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(ME_KEY);
    setToken(null);
    setMe(null);
  };
  const logout = () => {
    forget();
    navigate('/login');
  };
  const api = useMemo(() => (token ? new Api(token, logout, token === START_TOKEN ? EARLY : undefined) : null), [token]);
  useEffect(() => {
    if (!api) return;
    api.me().then(
      (fresh) => {
        localStorage.setItem(ME_KEY, JSON.stringify({ token: api.token, me: fresh }));
        setMe(fresh);
      },
      (e: unknown) => {
        setLoginError(errorText(e));
        forget();
      },
    );
  }, [api]);

  const login = (value: string) => {
    setLoginError(null);
    localStorage.setItem(TOKEN_KEY, value);
    setToken(value);
    if (location.pathname === '/login') navigate('/', true);
  };
  if (!api) return <LoginPage onLogin={login} error={loginError} />;
  // Until /me answers (first sign-in), pages render as a viewer would: they fetch their data at
  // once instead of after that round trip, and grow their buttons when the role is known.
  const session: Session = { api, me: me ?? UNKNOWN_CALLER, logout };
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
