// The widget's languages: which one is picked, that each is complete, and which lay out right to left.
import { describe, expect, it } from 'vitest'
import { en, fmt, isRtl, LOCALES, loadStrings, pickLocale } from '../src/chat/i18n'

describe('widget languages', () => {
  it('picks the first supported candidate: setLocale, then the owner, then the browser', () => {
    expect(pickLocale('fr', 'de', 'en-GB')).toBe('fr')
    expect(pickLocale(undefined, 'de', 'en-GB')).toBe('de')
    expect(pickLocale(undefined, undefined, 'pt-BR')).toBe('pt')
    expect(pickLocale('xx', undefined, 'nl_NL')).toBe('nl')
    expect(pickLocale('iw')).toBe('he')
    expect(pickLocale('zh-CN', undefined)).toBe('en')
  })

  it('has every string in every language, each different from English somewhere', async () => {
    for (const locale of LOCALES) {
      const strings = await loadStrings(locale)
      expect(Object.keys(strings).sort()).toEqual(Object.keys(en).sort())
      for (const value of Object.values(strings)) expect(value.trim()).not.toBe('')
      // Placeholders survive translation.
      expect(strings.openUnread).toContain('{0}')
      expect(strings.thanks).toContain('{1}')
      if (locale !== 'en') expect(strings.open).not.toBe(en.open)
    }
  })

  it('lays out Arabic and Hebrew right to left, and fills placeholders', () => {
    expect(LOCALES.filter(isRtl)).toEqual(['ar', 'he'])
    expect(fmt('Thanks, {0}! We will write to {1}.', 'Ada', 'ada@example.com')).toBe('Thanks, Ada! We will write to ada@example.com.')
  })
})
