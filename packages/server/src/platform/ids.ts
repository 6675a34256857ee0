// Prefixed random identifiers for ids that leave the server (events, jobs, later webhook endpoints and
// deliveries), like Stripe's: whoever reads one in a log knows what it names.
import { customAlphabet } from 'nanoid'

/** 24 base62 symbols: about 143 random bits, so ids never collide and cannot be guessed. */
const random = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 24)

export type IdPrefix = 'evt' | 'job' | 'mail' | 'we' | 'wd' | 'ks' | 'kp'

export const newId = (prefix: IdPrefix): string => `${prefix}_${random()}`
