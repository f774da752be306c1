import { useSyncExternalStore } from 'react';

/** Session is what a sign-in (login, register, refreshToken) hands out. */
export interface Session {
  accessToken: string;
  refreshToken: string;
  expiresAt: string; // when accessToken expires (RFC 3339)
  user: { id: string; username: string };
}

const key = 'parley.session';
let current: Session | null = JSON.parse(localStorage.getItem(key) ?? 'null');
const listeners = new Set<() => void>();

export function getSession(): Session | null {
  return current;
}

/** setSession stores the session (null signs out) and tells the app. */
export function setSession(s: Session | null): void {
  current = s;
  if (s) localStorage.setItem(key, JSON.stringify(s));
  else localStorage.removeItem(key);
  listeners.forEach((l) => l());
}

function subscribe(l: () => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** useSession re-renders its component when the session changes. */
export function useSession(): Session | null {
  return useSyncExternalStore(subscribe, getSession);
}
