// The lock lives in util/ so the agent can take one too (its release sweep); the server's
// processes keep importing it from here.
export { acquirePidLock, type PidLock } from '../util/pid-lock.js';
