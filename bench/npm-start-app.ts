/**
 * The MTTR section's app as users write it: Express from the npm registry (its lockfile made by
 * test/support/real-projects.ts), a `"start": "node server.js"` script, published with no run
 * command, so detection chooses how it starts. Health settings are the defaults (checks every
 * 1 s), since how soon a restarted app is seen is part of what a user waits for. Also reads
 * what one instance costs: the resident memory of its whole process tree, from /proc.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processTree } from '../src/runtime/local/process-tree.js';
import type { PublishResult, PublishSetting, SlipwayClient } from '../src/sdk/index.js';
import { expressApp, type RealProject } from '../test/support/real-projects.js';
import { instanceHandleDir } from './bench-platform.js';

/** Only a short drain (a replaced version stops sooner) and one replica; checks keep their defaults. */
const SETTINGS: Partial<Record<PublishSetting, number>> = { drain_timeout_ms: 2000, replicas: 1 };

/**
 * The Express project and a publisher of it with a fresh marker (a new source: a new build);
 * `runCommand` replaces the detected one (`npm start`: how it ran before start scripts ran directly).
 */
export interface NpmStartApp {
  publish(client: SlipwayClient, to: { slug: string; marker: string; runCommand?: string }): Promise<PublishResult>;
  remove(): Promise<void>;
}

/** Makes the project (needs the npm registry for its lockfile). */
export async function createNpmStartApp(): Promise<NpmStartApp> {
  const project: RealProject = await expressApp('bench-express');
  const files = {
    'package.json': await readFile(join(project.dir, 'package.json'), 'utf8'),
    'package-lock.json': await readFile(join(project.dir, 'package-lock.json'), 'utf8'),
  };
  const serverJs = await readFile(join(project.dir, 'server.js'), 'utf8');
  return {
    async publish(client, { slug, marker, runCommand }) {
      const result = await client.publish(slug, { files: { ...files, 'server.js': `${serverJs}// ${marker}\n` } }, {
        wait: true, settings: SETTINGS, ...(runCommand === undefined ? {} : { runCommand, port: 3000 }),
      });
      if (!result.promoted || result.version.state !== 'ready') {
        throw new Error(`publish to ${slug} was not promoted: ${result.version.state} ${result.version.error?.message ?? ''}`);
      }
      return result;
    },
    remove: () => project.remove(),
  };
}

/** The processes of one instance's tree (from the agent's handle) and their summed RSS. */
export interface InstanceFootprint {
  /** `comm` of each process, the top one first. */
  processes: string[];
  rssKb: number;
}

/** Reads the footprint of a running instance from /proc. */
export async function instanceFootprint(home: string, instanceId: string): Promise<InstanceFootprint> {
  const handle = JSON.parse(await readFile(join(instanceHandleDir(home), `${instanceId}.json`), 'utf8')) as { data: { pid: number } };
  const processes: string[] = [];
  let rssKb = 0;
  for (const pid of processTree(handle.data.pid, null)) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const name = /^Name:\s+(.*)$/m.exec(status)?.[1];
    if (name === undefined) continue;
    processes.push(name);
    rssKb += Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0);
  }
  return { processes, rssKb };
}
