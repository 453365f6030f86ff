import { sql as init } from './0001-init.js';
import { sql as dynamic } from './0002-dynamic.js';
import { sql as instanceLogs } from './0003-instance-logs.js';
import { sql as envVars } from './0004-env-vars.js';
import { sql as unenforcedLimits } from './0005-unenforced-limits.js';
import { sql as asIs } from './0006-as-is.js';
import { sql as onDemandInstances } from './0008-on-demand-instances.js';
import { sql as staticInclude } from './0007-static-include.js';
import { sql as routeRevision } from './0009-route-revision.js';
import { sql as instancesByDeployment } from './0012-instances-by-deployment.js';
import { sql as artifactCollected } from './0010-artifact-collected.js';
import { sql as tenantsDomainsTls } from './0013-tenants-domains-tls.js';

/** One schema change. `id` orders them and is recorded once applied; never edit a shipped one. */
export interface Migration {
  id: string;
  sql: string;
}

/** Every migration, oldest first. Kept as TypeScript strings so they ship inside `dist/`. */
export const MIGRATIONS: readonly Migration[] = [
  { id: '0001-init', sql: init },
  { id: '0002-dynamic', sql: dynamic },
  { id: '0003-instance-logs', sql: instanceLogs },
  { id: '0004-env-vars', sql: envVars },
  { id: '0005-unenforced-limits', sql: unenforcedLimits },
  { id: '0006-as-is', sql: asIs },
  { id: '0007-static-include', sql: staticInclude },
  { id: '0008-on-demand-instances', sql: onDemandInstances },
  { id: '0009-route-revision', sql: routeRevision },
  { id: '0010-artifact-collected', sql: artifactCollected },
  { id: '0012-instances-by-deployment', sql: instancesByDeployment },
  { id: '0013-tenants-domains-tls', sql: tenantsDomainsTls },
];
