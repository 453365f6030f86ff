/** Runs the CLI in-process with captured output and a fake API. Test support only. */
import { createFakeFetch, type FakeHandler, type RecordedRequest } from '../../sdk/testing/fake-fetch.js';
import { createCliProgram, runCli } from '../program.js';

/** What one CLI run produced. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  requests: RecordedRequest[];
}

/** The env that points the CLI at the fake API without touching any real credentials file. */
export const TEST_ENV = {
  SLIPWAY_API_URL: 'http://api.test',
  SLIPWAY_TOKEN: 'sk_test',
  SLIPWAY_HOME: '/nonexistent/slipway-home',
};

/** Runs `slipway <argv…>` against `handler`, with {@link TEST_ENV} unless `env` is given. */
export async function runCliWith(handler: FakeHandler, argv: string[], env: NodeJS.ProcessEnv = TEST_ENV): Promise<CliRun> {
  const fake = createFakeFetch(handler);
  let stdout = '';
  let stderr = '';
  const program = createCliProgram({
    stdout: (s) => { stdout += s; },
    stderr: (s) => { stderr += s; },
    env,
    fetch: fake.fetch,
  });
  const code = await runCli(program, argv);
  return { code, stdout, stderr, requests: fake.requests };
}

/** `METHOD /path?query` of each request, below `/api/v1`, for asserting call sequences. */
export function calls(requests: RecordedRequest[]): string[] {
  return requests.map((r) => `${r.method} ${r.url.pathname.replace(/^\/api\/v1/, '')}${r.url.search}`);
}
