import { createAcmeClientCa } from '../services/tls/acme-client-ca.js';
import type { ServiceDrivers } from '../services/services.js';
import type { AcmeConfig } from './acme-config.js';

/** The ACME CA the services get for `config` (SLIPWAY_ACME_*), or none without a directory URL. */
export function acmeDriver(config: AcmeConfig | undefined): ServiceDrivers['acme'] {
  if (!config) return undefined;
  return {
    ca: createAcmeClientCa({ directoryUrl: config.directoryUrl, email: config.email, extraCaPem: config.extraCaPem }),
    options: {
      limits: { maxOrdersPerHour: config.maxOrdersPerHour, maxOrdersPerTenantPerHour: config.maxOrdersPerTenantPerHour },
      checkIntervalMs: config.checkIntervalMs,
    },
  };
}
