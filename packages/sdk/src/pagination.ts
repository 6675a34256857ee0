// Cursor pagination: a list call returns a PagePromise, which can be awaited (the first page) or iterated
// with `for await` (every item of every page, fetched as the loop reaches them).

export interface PageData<T> {
  data: T[]
  nextCursor: string | null
}

export type PageLoader<T> = (cursor: string | undefined) => Promise<PageData<T>>

export class Page<T> implements AsyncIterable<T> {
  readonly data: T[]
  /** Pass as `cursor` to get the following page; null on the last page. */
  readonly nextCursor: string | null
  readonly #load: PageLoader<T>

  constructor(load: PageLoader<T>, page: PageData<T>) {
    this.#load = load
    this.data = page.data
    this.nextCursor = page.nextCursor
  }

  hasNextPage(): boolean {
    return this.nextCursor !== null
  }

  /** The following page; rejects when this is the last one (check `hasNextPage()` first). */
  async getNextPage(): Promise<Page<T>> {
    if (this.nextCursor === null) throw new Error('No next page: check hasNextPage() first')
    return new Page(this.#load, await this.#load(this.nextCursor))
  }

  /** Every page from this one on. */
  async *iterPages(): AsyncGenerator<Page<T>, void, undefined> {
    let page: Page<T> = this
    yield page
    while (page.hasNextPage()) {
      page = await page.getNextPage()
      yield page
    }
  }

  /** Every item from this page on, across pages. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.iterPages()) yield* page.data
  }
}

/**
 * The result of a list call. Awaiting it loads the first page; iterating it walks all items.
 * The first request is sent when either happens (not before), and only once.
 */
export class PagePromise<T> implements PromiseLike<Page<T>>, AsyncIterable<T> {
  readonly #load: PageLoader<T>
  readonly #cursor: string | undefined
  #first: Promise<Page<T>> | undefined

  constructor(load: PageLoader<T>, cursor?: string) {
    this.#load = load
    this.#cursor = cursor
  }

  #firstPage(): Promise<Page<T>> {
    this.#first ??= this.#load(this.#cursor).then((page) => new Page(this.#load, page))
    return this.#first
  }

  // biome-ignore lint/suspicious/noThenProperty: being awaitable is the point of this class.
  then<A = Page<T>, B = never>(
    onFulfilled?: ((page: Page<T>) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#firstPage().then(onFulfilled, onRejected)
  }

  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<Page<T> | B> {
    return this.#firstPage().catch(onRejected)
  }

  finally(onFinally?: (() => void) | null): Promise<Page<T>> {
    return this.#firstPage().finally(onFinally)
  }

  get [Symbol.toStringTag](): string {
    return 'PagePromise'
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    yield* await this.#firstPage()
  }
}
