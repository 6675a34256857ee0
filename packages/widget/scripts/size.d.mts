export declare const BUDGET: { loader: number; total: number }
export declare const DIST: string
export declare function measure(dist?: string): {
  loader: number
  chat: number
  /** gzip bytes per language chunk file name */
  locales: Record<string, number>
  largestLocale: number
  total: number
  chunks: string[]
}
