import { setupBuildIsolation, type BuildIsolation } from './build-isolation.js';
import { buildWorkDir, prepareHome } from './prepare-home.js';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createApi } from '../api/app.js';
import { createFsBlobStore } from '../blobs/fs/fs-blob-store.js';
import { bootstrap } from '../services/bootstrap.js';
import { sweepIdempotencyKeys } from '../services/idempotency.js';
import { createNotifier } from '../services/shared-notifier.js';
import type { EngineApi } from '../runtime/docker/engine-api.js';
import type { Notifier } from '../services/notifier.js';
import { createServices } from '../services/services.js';
import { homePaths, type SlipwayConfig } from './config.js';
import { containerEngineApi } from './container-engine.js';
import { openStore } from './open-store.js';
import { acquirePidLock } from './pid-lock.js';
import { sweepUploadDir } from './sweep-uploads.js';
import { loadSecretBox } from './secrets-key.js';
import { acmeDriver } from './acme-driver.js';

/** The first automatic garbage collection waits this long, so a start is not slowed by one. */
const GC_FIRST_RUN_DELAY_MS = 5 * 60 * 1000;

/** A running `slipway server`. */
export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Starts the control plane: store (migrated), blobs, services, API, and the build worker
 * resuming whatever a previous run left queued or half-built.
 */
export async function startServer(config: SlipwayConfig): Promise<RunningServer> {
  const paths = homePaths(config.home);
  await prepareHome(config.home);
  const lock = await acquirePidLock(paths.serverLock, `slipway server for ${config.home}`);
  // Under the lock, so no other server on this home can be using the scratch space.
  const swept = await sweepUploadDir(paths.uploads).catch(async (err: unknown) => {
    await lock.release();
    throw err;
  });
  const logger = pino({ level: config.logLevel, base: { process: 'server' } });
  let builds: BuildIsolation | undefined;
  let docker: EngineApi | undefined;
  let notifier: Notifier | undefined;
  try {
    if (swept > 0) logger.info({ swept }, 'removed uploads left by an earlier run');
    builds = await setupBuildIsolation(config);
    // Printed whatever the log level: how far builds are isolated is a security property.
    console.log(`server: ${builds.summary}`);
    for (const warning of builds.warnings) logger.warn(warning);
    const store = await openStore({
      databaseUrl: config.databaseUrl, pgliteDir: paths.db,
      onIdleError: (err) => logger.warn({ err }, 'an idle database connection failed; it will be replaced'),
    });
    // Opened before anything can emit: other servers' changes are heard from here on.
    notifier = await createNotifier(store, logger);
    // Private like the home's own blobs/ when we create it; a shared folder given by the
    // operator keeps the permissions they chose.
    await mkdir(config.blobDir, { recursive: true, mode: 0o700 });
    const blobs = await createFsBlobStore({ root: config.blobDir });
    docker = config.runtimeDriver === 'docker' ? containerEngineApi(config) : undefined;
    const services = createServices({
      store, blobs, notifier, logger, secrets: await loadSecretBox(store.db, {
        given: config.secretsKey, keyFile: paths.secretsKey, discardUnreadable: config.discardUnreadableSecrets, warn: (message) => logger.warn(message),
      }),
      config: {
        baseDomain: config.baseDomain, publicScheme: config.publicScheme, publicPort: config.publicPort, limits: config.limits,
        workDir: await buildWorkDir(config.home, config.buildUidBase !== undefined), uploadDir: paths.uploads, buildUidBase: config.buildUidBase, logDir: paths.buildLogs, buildTimeoutMs: config.buildTimeoutMs, buildConcurrency: config.buildConcurrency,
        buildSandbox: builds.sandbox, buildNetwork: builds.network,
        logRetention: { maxAgeMs: config.logRetentionDays * 24 * 3600_000, maxLinesPerDeployment: config.logMaxLines },
        wakeIdleMs: config.wakeIdleMs, wakeMaxVersions: config.wakeMaxVersions, hostId: config.hostId,
        domains: { dnsServers: config.dnsServers, httpCheckPort: config.domainHttpCheckPort, allowPrivate: config.domainHttpCheckAllowPrivate },
        gc: {
          keepVersions: config.retainVersions, keepDays: config.retainDays, graceMs: config.gcGraceMs,
          intervalMs: config.gcIntervalMs, firstRunDelayMs: Math.min(config.gcIntervalMs, GC_FIRST_RUN_DELAY_MS),
          buildCacheMaxBytes: config.dockerBuildCacheMaxBytes,
        },
        // `up` starts the engine before the server; a server run alone finds it (or builds of
        // a Dockerfile fail, `unavailable`, until there is one).
        docker,
      },
    }, { acme: acmeDriver(config.acme) });
    const app = await createApi({ services, logger });
    await app.listen({ port: config.apiPort, host: config.apiHost });
    const port = (app.server.address() as AddressInfo).port;
    const url = `http://${config.apiHost.includes(':') ? `[${config.apiHost}]` : config.apiHost}:${port}`;
    await bootstrap(store.db, { credentialsFile: paths.credentials, internalTokenFile: paths.internalToken }, url);
    await services.instances.stopOrphanedRollouts();
    await services.worker.resume();
    services.reconciler.start();
    services.wake.start();
    services.gc.start();
    services.domainChecker.start();
    services.acme?.start();
    // Without ACME the embedded local CA issues (docs/domains.md, TLS certificates).
    // A CA that cannot be made now costs HTTPS, not the control plane: on-demand issuance retries it.
    if (services.acme === undefined) {
      await services.localCa.start({ caFile: paths.localCaCert }).catch((err: unknown) => logger.error({ err }, 'the local CA could not start; HTTPS certificates wait for it'));
    }
    const sweep = () => {
      sweepIdempotencyKeys(store.db).catch((err) => logger.warn({ err }, 'idempotency sweep failed'));
      services.logs.sweep().catch((err) => logger.warn({ err }, 'log retention sweep failed'));
    };
    const sweeper = setInterval(sweep, 10 * 60 * 1000).unref();
    services.logs.sweep().catch((err) => logger.warn({ err }, 'log retention sweep failed'));
    logger.info({ url, home: config.home, store: config.databaseUrl ? 'postgres' : 'pglite' }, 'slipway server listening');
    return {
      url,
      port,
      close: async () => {
        clearInterval(sweeper);
        await services.worker.stop();
        await services.wake.stop();
        await services.gc.stop();
        await services.domainChecker.stop();
        await services.acme?.stop();
        await services.localCa.stop();
        services.certificates.stop();
        await services.reconciler.stop();
        services.routes.stop();
        await app.close();
        await notifier?.close();
        await store.close();
        await docker?.close();
        await builds?.close().catch((err) => logger.warn({ err }, 'could not remove the build network'));
        await lock.release();
      },
    };
  } catch (err) {
    await notifier?.close().catch(() => undefined);
    await docker?.close().catch(() => undefined);
    await builds?.close().catch(() => undefined);
    await lock.release();
    throw err;
  }
}
