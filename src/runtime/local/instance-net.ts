/**
 * Address and name arithmetic of the local driver's instance networks: which /30 of the
 * platform's /16 an instance slot gets, and what its namespace and interfaces are called. Pure
 * functions, so the naming rules that cleanup relies on live in one place.
 */
import { SlipwayError } from '../../core/errors.js';

/** Most /30 slots a /16 holds. */
export const SLOTS_PER_SUBNET = 16_384;

/** The parsed `a.b.0.0/16` an instance network is carved from. */
export interface Subnet16 {
  a: number;
  b: number;
  /** The CIDR as given (`10.213.0.0/16`). */
  cidr: string;
}

/** What one instance slot is called and addressed as. */
export interface SlotNet {
  /** Named network namespace (`<label>-<slot>`). */
  ns: string;
  /** Host end of the veth pair (`<label>v<slot>`, at most 15 characters). */
  veth: string;
  /** Host side of the /30 (`.1`). */
  hostIp: string;
  /** Instance side of the /30 (`.2`). */
  instanceIp: string;
}

/**
 * Labels name host objects: the configuration's rule (3-8 characters), plus one more for the
 * container driver's `<label>c`. Nine is the most that fits: a veth `<label>v<slot>` with a
 * five-digit slot is then 15 characters, the kernel's limit.
 */
export function assertLabel(label: string): void {
  if (!/^[a-z][a-z0-9]{2,8}$/.test(label)) {
    throw new SlipwayError('internal_error', `runtime label must be 3-9 of [a-z0-9] starting with a letter, not "${label}"`);
  }
}

/** Parses an IPv4 /16 such as `10.213.0.0/16`. */
export function parseSubnet16(cidr: string): Subnet16 {
  const m = /^(\d{1,3})\.(\d{1,3})\.0\.0\/16$/.exec(cidr);
  const a = Number(m?.[1]);
  const b = Number(m?.[2]);
  if (!m || a > 255 || b > 255) {
    throw new SlipwayError('internal_error', `instance subnet must be an IPv4 /16 such as 10.213.0.0/16, not "${cidr}"`);
  }
  return { a, b, cidr };
}

/** Names and addresses of slot `slot` (0-based) of `label` in `subnet`. */
export function slotNet(label: string, subnet: Subnet16, slot: number): SlotNet {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOTS_PER_SUBNET) {
    throw new SlipwayError('internal_error', `instance slot ${slot} is outside the subnet`);
  }
  const base = slot * 4;
  const prefix = `${subnet.a}.${subnet.b}.${Math.floor(base / 256)}`;
  return {
    ns: `${label}-${slot}`,
    veth: `${label}v${slot}`,
    hostIp: `${prefix}.${(base % 256) + 1}`,
    instanceIp: `${prefix}.${(base % 256) + 2}`,
  };
}

/** Matches exactly the namespaces of `label` (not those of a longer label sharing its prefix). */
export function nsPattern(label: string): RegExp {
  return new RegExp(`^${label}-\\d+$`);
}

/** Matches exactly the host-side veths of `label`. */
export function vethPattern(label: string): RegExp {
  return new RegExp(`^${label}v\\d+$`);
}
