/**
 * Sign-in, session check, sign-out and the offline fallback. `boot()` runs once, before the first render:
 * it takes a one-time login token from `#token=…` (and removes it from the URL at once), waits for the
 * persisted snapshot, then signs in or checks the session. A network failure with a persisted snapshot is
 * offline mode, not "signed out"; while offline or unreachable the session check is retried in the background.
 */
import { login, logout, logoutEverywhere, me } from './api'
import { clearIssuedCommands } from './components/breakers/issuedCommands'
import { classifyError } from './errors'
import { snapshotHydrated, useSessionStore, useSnapshotStore } from './store'

/** How long the session check may take before it counts as a network failure. */
export const SESSION_CHECK_TIMEOUT_MS = 5_000
/** Background retry cadence while offline or unreachable (plus an immediate retry on the `online` event). */
export const RETRY_INTERVAL_MS = 15_000
/** Service worker runtime cache of tRPC GETs (vite.config.ts `runtimeCaching`); emptied on sign-out. */
export const API_CACHE_NAME = 'fusebox-api'

const UNREACHABLE_NOTICE = "Can't reach the Fusebox server — retrying."

/**
 * Reads `token` from a `#token=…` fragment and strips the fragment from the address bar and history entry,
 * so the one-time token is not left in history or shared by copying the URL. Returns null when absent.
 */
export function takeLoginToken(loc: Location = window.location, hist: History = window.history): string | null {
  if (!loc.hash) return null
  const token = new URLSearchParams(loc.hash.slice(1)).get('token')
  if (token === null) return null
  hist.replaceState(hist.state, '', loc.pathname + loc.search)
  return token || null
}

let bootPromise: Promise<void> | null = null
let retryTimer: ReturnType<typeof setInterval> | null = null
let checkInFlight: Promise<void> | null = null

/** Starts the app's session logic once (idempotent). */
export function boot(): Promise<void> {
  bootPromise ??= runBoot()
  return bootPromise
}

async function runBoot(): Promise<void> {
  // Before the first await: main.tsx creates the router as soon as boot() returns, and it must not see the token.
  const token = takeLoginToken()
  window.addEventListener('online', onOnline)
  window.addEventListener('offline', () => useSessionStore.setState({ browserOnline: false }))
  await snapshotHydrated()
  if (token) {
    await signIn(token, 'link')
    return
  }
  // A login link pasted into the address bar of this open tab changes only the hash (no reload): take it too.
  window.addEventListener('hashchange', () => {
    const linked = takeLoginToken()
    if (linked) void signIn(linked, 'link')
  })
  // Known offline and something to show: render it now rather than waiting for a request to fail.
  if (!navigator.onLine && hasSavedData()) {
    enterUnreachable()
    return
  }
  await checkSession()
}

function onOnline(): void {
  useSessionStore.setState({ browserOnline: true })
  const { auth } = useSessionStore.getState()
  if (auth === 'offline' || auth === 'unreachable') void checkSession()
}

/** Whether this device kept anything to show offline: the overview snapshot or any page's last data. */
function hasSavedData(): boolean {
  const { snapshot, pages } = useSnapshotStore.getState()
  return snapshot !== null || Object.keys(pages).length > 0
}

/** Offline mode if there is a persisted snapshot to render, else the login form with a notice; retries. */
/** The server cannot be asked, or answered with an error (`reason`: its message, e.g. a 503 "Redis is unreachable"). */
function enterUnreachable(reason: string | null = null): void {
  useSessionStore.setState({
    ...(hasSavedData()
      ? { auth: 'offline' as const, authNotice: null }
      : { auth: 'unreachable' as const, authNotice: reason === null ? UNREACHABLE_NOTICE : `The Fusebox server answered: ${reason} — retrying.` }),
    liveError: reason,
  })
  retryTimer ??= setInterval(() => {
    if (navigator.onLine) void checkSession()
  }, RETRY_INTERVAL_MS)
}

function stopRetrying(): void {
  if (retryTimer !== null) clearInterval(retryTimer)
  retryTimer = null
}

function enterSignedIn(role: 'viewer' | 'operator'): void {
  stopRetrying()
  useSessionStore.setState({ auth: 'signedIn', role, authNotice: null, linkDown: false, liveError: null })
}

/** Asks the server who we are (`auth.me`); one check at a time. */
export function checkSession(): Promise<void> {
  checkInFlight ??= (async () => {
    try {
      const { role } = await me({ signal: AbortSignal.timeout(SESSION_CHECK_TIMEOUT_MS) })
      enterSignedIn(role)
    } catch (err) {
      const failure = classifyError(err)
      if (failure.kind === 'server' && failure.code === 'UNAUTHORIZED') {
        // No session (never signed in, or it expired): nothing this tab issued is followed any longer, and what
        // this device kept for the ended session is forgotten, exactly as on sign-out.
        stopRetrying()
        void forgetDeviceData()
        useSessionStore.setState({ auth: 'signedOut', role: null, authNotice: null })
      } else {
        // Network failures, timeouts and server-side errors alike: keep what we have and retry.
        enterUnreachable(failure.kind === 'server' ? failure.message : null)
      }
    } finally {
      checkInFlight = null
    }
  })()
  return checkInFlight
}

/**
 * Where a token came from: a login link (`#token=` in the URL, one-time and short-lived on the server, see
 * server/app/loginLink.ts) or typed / pasted into the form (a configured access token, or a pasted link's token).
 */
export type TokenSource = 'link' | 'typed'

/** The login form's notice when the server answered 401 to a token from `source`. */
export function rejectedTokenNotice(source: TokenSource): string {
  return source === 'link'
    ? 'That login link was not accepted: it was used already or has expired. Ask for a new one (npx fusebox login-link).'
    : 'That access token was not accepted. Check it and try again, or open a new login link.'
}

/**
 * What the token field holds, as a token: a whole login link pasted there (`…#token=abc`) gives its token and
 * `'link'`; anything else is taken as typed (trimmed). Null for an empty field or a link without a token.
 */
export function tokenFromInput(raw: string): { token: string; source: TokenSource } | null {
  const text = raw.trim()
  if (!text) return null
  const hash = /^https?:\/\/\S*#(.*)$/i.exec(text)?.[1]
  if (hash === undefined) return { token: text, source: 'typed' }
  const token = new URLSearchParams(hash).get('token')
  return token ? { token, source: 'link' } : null
}

/**
 * Signs in with a token from `source` (default typed); on failure sets a notice for the login form (and offline
 * mode on network errors).
 */
export async function signIn(token: string, source: TokenSource = 'typed'): Promise<void> {
  try {
    const { role } = await login(token)
    enterSignedIn(role)
  } catch (err) {
    const failure = classifyError(err)
    if (failure.kind === 'server') {
      const notice =
        failure.code === 'UNAUTHORIZED'
          ? rejectedTokenNotice(source)
          : failure.code === 'TOO_MANY_REQUESTS'
            ? 'Too many sign-in attempts — wait a minute and try again.'
            : `Sign-in failed: ${failure.message}`
      useSessionStore.setState({ auth: 'signedOut', role: null, authNotice: notice })
    } else if (failure.kind === 'network') {
      enterUnreachable()
    }
  }
}

/**
 * Forgets everything this device kept for a session — the commands this tab issued (and their trackers), the
 * in-memory and persisted snapshot and page data, and the service worker's cached API answers (which include
 * `auth.me`). The synchronous part runs before the first await: a tracker polling on would meet the ended
 * session's 401 and toast it. Shared by sign-out and every way a session ends (expiry, revocation).
 */
export async function forgetDeviceData(): Promise<void> {
  clearIssuedCommands()
  useSnapshotStore.getState().clearSnapshot()
  // Never rejects (it also runs un-awaited): a storage that cannot be cleared is reported, the rest still goes.
  try {
    await useSnapshotStore.persist.clearStorage()
  } catch (err) {
    console.warn('Could not clear the saved snapshot', err)
  }
  if (typeof caches !== 'undefined') await caches.delete(API_CACHE_NAME).catch(() => false)
}

/**
 * The server said the session is gone (401 on a data call or the live stream: expired, signed out elsewhere, token
 * removed): forget this device's data as sign-out does, back to the login form with a notice.
 */
export function sessionEnded(): void {
  stopRetrying()
  void forgetDeviceData()
  useSessionStore.setState({ auth: 'signedOut', role: null, authNotice: 'Your session ended — sign in again.' })
}

/** Signs out: ends the server session, then forgets everything this device kept for it (`forgetDeviceData`). */
export async function signOut(): Promise<void> {
  await endSession(logout, 'Sign-out')
}

/**
 * "Sign out everywhere": ends every session of this access token on the server (other devices and tabs get 401
 * on their next call, their live streams close within 10 s), then forgets this device's data like sign-out.
 */
export async function signOutEverywhere(): Promise<void> {
  await endSession(logoutEverywhere, 'Sign-out everywhere')
}

async function endSession(request: () => Promise<unknown>, what: string): Promise<void> {
  try {
    await request()
  } catch (err) {
    console.warn(`${what} request failed; clearing local data anyway`, err)
  }
  stopRetrying()
  await forgetDeviceData()
  useSessionStore.setState({ auth: 'signedOut', role: null, authNotice: null, linkDown: false })
}
