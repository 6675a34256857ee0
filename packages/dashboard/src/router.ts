// A tiny History-API router under /dashboard (the server answers every /dashboard/* path with index.html).
import { useEffect, useState } from 'preact/hooks'

export const BASE = '/dashboard'

const current = (): string => location.pathname.replace(/^\/dashboard\/?/, '/').replace(/\/+$/, '') || '/'

export function navigate(path: string): void {
  history.pushState(null, '', `${BASE}${path}`)
  dispatchEvent(new PopStateEvent('popstate'))
}

/** The path below /dashboard, e.g. "/conversations/…"; re-renders on navigation. */
export function useRoute(): string {
  const [path, setPath] = useState(current)
  useEffect(() => {
    const onPop = () => setPath(current())
    addEventListener('popstate', onPop)
    return () => removeEventListener('popstate', onPop)
  }, [])
  return path
}

/** Click handler for in-app links: plain clicks navigate without a reload, modified clicks open normally. */
export function onLinkClick(e: MouseEvent): void {
  const a = (e.currentTarget as HTMLAnchorElement | null) ?? null
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
  e.preventDefault()
  navigate(a.pathname.replace(/^\/dashboard/, '') || '/')
}
