import type { PublishResult, SlipwayClient } from '../sdk/index.js';
import { writeJson, type CliIo } from './cli-io.js';
import { ReportedFailure } from './command-context.js';

/**
 * Waits for the publish's operation by polling rather than with `?wait=true`: a long build
 * would otherwise outlast fetch's 5-minute header timeout, and polling lets us show progress.
 * The answer is rebuilt in the publish shape from the final deployment and version.
 */
export async function waitForPublish(client: SlipwayClient, first: PublishResult): Promise<PublishResult> {
  const operation = first.operation.state === 'running'
    ? await client.waitForOperation(first.operation.id)
    : first.operation;
  const [version, deployment] = await Promise.all([
    client.getVersion(first.deployment.id, first.version.id),
    client.getDeployment(first.deployment.id),
  ]);
  const promoted = deployment.active_version_id === version.id;
  return { deployment, version, services: first.services, promoted, operation: { id: operation.id, state: operation.state } };
}

/** The failure of a finished publish, or null when it succeeded. */
function failureOf(result: PublishResult): { code: string; message: string } | null {
  if (result.version.state === 'failed') return result.version.error ?? { code: 'build_failed', message: 'the build failed' };
  if (result.operation.state === 'failed') return { code: 'internal_error', message: 'the publish operation failed' };
  return null;
}

/**
 * Prints how a waited-for publish ended: the result (as JSON with `json`) and `Ready: …`, or
 * the failure with a pointer to the build log, exiting 1.
 */
export function reportPublish(io: CliIo, result: PublishResult, options: { slug: string; json: boolean }): void {
  const { slug, json } = options;
  const label = `v${result.version.version_number}`;
  if (json) writeJson(io.stdout, result);
  const failure = failureOf(result);
  if (failure) {
    if (json) {
      writeJson(io.stderr, { ...failure, details: { version_number: result.version.version_number }, request_id: null });
    } else {
      io.stderr(`error: ${label} failed: ${failure.message} (${failure.code})\n`);
      io.stderr(`See the build log: slipway logs ${slug} --build --version ${result.version.version_number}\n`);
    }
    throw new ReportedFailure();
  }
  if (json) return;
  const url = result.promoted ? result.deployment.public_url : result.version.preview_url;
  io.stdout(`Ready: ${label} → ${url}${result.promoted ? '' : ' (not active)'}\n`);
}
