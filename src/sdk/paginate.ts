import type { Page } from './types.js';

/**
 * Walks a cursor-paginated list page by page, newest first, stopping after the page whose
 * `nextCursor` is null. `fetchPage` receives `undefined` for the first page.
 *
 * @example
 * for await (const page of paginate((cursor) => client.listVersions('my-site', { cursor, limit: 100 }))) {
 *   for (const version of page.data) console.log(version.version_number, version.state);
 * }
 */
export async function* paginate<T>(fetchPage: (cursor: string | undefined) => Promise<Page<T>>): AsyncGenerator<Page<T>> {
  let cursor: string | undefined;
  const seen = new Set<string>();
  for (;;) {
    const page = await fetchPage(cursor);
    yield page;
    // A server that hands back a cursor it already gave would loop forever; stop instead.
    if (page.nextCursor === null || seen.has(page.nextCursor)) return;
    seen.add(page.nextCursor);
    cursor = page.nextCursor;
  }
}

/**
 * Collects every item of a paginated list into one array, for lists known to be short.
 *
 * @example
 * const all = await collectAll((cursor) => client.listDeployments({ cursor, limit: 100 }));
 */
export async function collectAll<T>(fetchPage: (cursor: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  for await (const page of paginate(fetchPage)) items.push(...page.data);
  return items;
}
