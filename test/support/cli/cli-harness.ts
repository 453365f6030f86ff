/** Runs the CLI in-process with captured output and a fake API. Test support only. */
import { createFakeFetch, type FakeHandler, type RecordedRequest } from '../sdk/fake-fetch.js';
import { createCliProgram, runCli } from '../../../src/cli/program.js';

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

/** What a CLI run sees besides its arguments. */
export interface CliRunInput {
  /** The environment; {@link TEST_ENV} when absent. */
  env?: NodeJS.ProcessEnv;
  /** Standard input; a run without it has none. */
  stdin?: string;
}

/** Runs `slipway <argv…>` against `handler`. */
export async function runCliWith(handler: FakeHandler, argv: string[], input: CliRunInput = {}): Promise<CliRun> {
  const { env = TEST_ENV, stdin } = input;
  const fake = createFakeFetch(handler);
  let stdout = '';
  let stderr = '';
  const program = createCliProgram({
    stdout: (s) => { stdout += s; },
    stderr: (s) => { stderr += s; },
    env,
    fetch: fake.fetch,
    readStdin: stdin === undefined ? undefined : async () => stdin,
  });
  const code = await runCli(program, argv);
  return { code, stdout, stderr, requests: fake.requests };
}

/** `METHOD /path?query` of each request, below `/api/v1`, for asserting call sequences. */
export function calls(requests: RecordedRequest[]): string[] {
  return requests.map((r) => `${r.method} ${r.url.pathname.replace(/^\/api\/v1/, '')}${r.url.search}`);
}
