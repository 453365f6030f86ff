import { SlipwayError } from './errors.js';

/** How a deployment's variable is kept: `plain` values are readable back, `secret` ones never. */
export type EnvVarKind = 'plain' | 'secret';

/**
 * A deployment's environment as frozen into a version at publish: name → kind and value. A
 * secret's value here is sealed (see `services/secret-box.ts`); only the build and the
 * instances ever see it opened.
 */
export type FrozenEnv = Record<string, { secret: boolean; value: string }>;

/** Limits on a deployment's environment; generous for apps, small enough to keep rows sane. */
export const ENV_LIMITS = { maxVars: 200, maxNameLength: 256, maxValueBytes: 32 * 1024, maxTotalBytes: 256 * 1024 } as const;

/**
 * Names Slipway sets itself. `PORT` is the one the app must listen on and `SLIPWAY_*` describe
 * the instance; letting a user variable replace them would break routing or lie to the app.
 */
export function isReservedEnvName(name: string): boolean {
  return name === 'PORT' || name.startsWith('SLIPWAY_');
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Throws `invalid_env_var` for a name a POSIX shell could not export, or a reserved one. */
export function checkEnvName(name: string): void {
  if (!NAME.test(name) || name.length > ENV_LIMITS.maxNameLength) {
    throw new SlipwayError('invalid_env_var', `"${name.slice(0, 80)}" is not a valid variable name: use letters, digits and _, not starting with a digit`, {
      details: { name: name.slice(0, 80) },
    });
  }
  if (isReservedEnvName(name)) {
    throw new SlipwayError('invalid_env_var', `${name} is set by Slipway and cannot be overridden`, { details: { name, reason: 'reserved' } });
  }
}

/** Throws `invalid_env_var` for a value that cannot be an environment string or is too long. */
export function checkEnvValue(name: string, value: string): void {
  if (value.includes('\0')) throw new SlipwayError('invalid_env_var', `the value of ${name} contains a NUL byte`, { details: { name } });
  if (Buffer.byteLength(value) > ENV_LIMITS.maxValueBytes) {
    throw new SlipwayError('invalid_env_var', `the value of ${name} is longer than ${ENV_LIMITS.maxValueBytes} bytes`, { details: { name } });
  }
}
