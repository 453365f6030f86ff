// @peculiar/x509 describes its ASN.1 classes with decorators that need this loaded first.
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// Node's webcrypto is the WebCrypto the library expects; the types differ only because this
// project compiles without the DOM lib.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
type LibKeyPair = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];
type LibKey = LibKeyPair['privateKey'];

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A certificate and its private key, both PEM. */
export interface PemPair {
  certPem: string;
  keyPem: string;
  notBefore: Date;
  notAfter: Date;
  /** Upper-case hex, as `tls` reports `getPeerCertificate().serialNumber`. */
  serial: string;
}

/** A certificate authority able to sign: its certificate and its private key, both PEM. */
export interface SigningCa {
  certPem: string;
  keyPem: string;
}

/**
 * A positive 128-bit serial (the top bit cleared, so DER needs no sign byte): random, so two
 * certificates of one CA never share one (RFC 5280 §4.1.2.2).
 */
function newSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x10;
  return bytes.toString('hex');
}

async function exportKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
}

async function importKeyPem(pem: string): Promise<webcrypto.CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
}

async function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
}

/** Escapes a value for an X.500 name string (RFC 4514). */
function rdnValue(value: string): string {
  return value.replace(/[,+"\\<>;=]/g, '\\$&');
}

/** OID of the X.509 name constraints extension (RFC 5280 §4.2.1.10). */
const NAME_CONSTRAINTS_OID = '2.5.29.30';

/** A DER element: `tag`, its length (short or long form), `body`. */
function der(tag: number, body: Buffer): Buffer {
  const n = body.length;
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

/**
 * Name constraints permitting only `domain` and the names under it (one dNSName subtree):
 * NameConstraints { permittedSubtrees [0] { GeneralSubtree { dNSName [2] domain } } }. Encoded
 * here because @peculiar/x509 has no class for it, and the structure is four fixed elements.
 */
function permittedDnsSubtree(domain: string): Buffer {
  return der(0x30, der(0xa0, der(0x30, der(0x82, Buffer.from(domain, 'ascii')))));
}

/**
 * Makes a CA: P-256 key, self-signed, `name` as its common name, valid `days` from now. With
 * `permittedDomain`, the CA may only sign names at or under that domain (a critical name
 * constraint): an operator who trusts it as a root trusts it for nothing else, so its key,
 * if it leaked, could not impersonate other sites to them.
 */
export async function createCa(name: string, days: number, permittedDomain?: string): Promise<PemPair> {
  const keys = await newKeys();
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + days * 86_400_000);
  const serial = newSerial();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial, name: `CN=${rdnValue(name)}`, notBefore, notAfter, signingAlgorithm: ALGORITHM, keys: keys as unknown as LibKeyPair,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as unknown as LibKey),
      ...(permittedDomain === undefined ? [] : [new x509.Extension(NAME_CONSTRAINTS_OID, true, permittedDnsSubtree(permittedDomain))]),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey), notBefore, notAfter, serial: serial.toUpperCase() };
}

/**
 * Issues a server certificate for `hostnames` (the first is its common name; wildcards such as
 * `*.apps.example.com` allowed) with a new P-256 key, signed by `ca`, valid `days` from now
 * (back-dated a minute for clocks a little behind).
 */
export async function issueServerCertificate(ca: SigningCa, hostnames: readonly string[], days: number): Promise<PemPair> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await importKeyPem(ca.keyPem);
  const keys = await newKeys();
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + days * 86_400_000);
  const serial = newSerial();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial, subject: `CN=${rdnValue(hostnames[0] ?? 'localhost')}`, issuer: caCert.subject, notBefore, notAfter,
    signingAlgorithm: ALGORITHM, publicKey: keys.publicKey as unknown as LibKey, signingKey: caKey as unknown as LibKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(hostnames.map((value) => ({ type: 'dns' as const, value }))),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  // The chain a client needs besides its trusted root: the leaf alone (the CA is the root).
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey), notBefore, notAfter, serial: serial.toUpperCase() };
}

/**
 * A self-signed certificate that names no real host: what a TLS listener presents for a name
 * it has no certificate for. `name` is its common name (pick one that says nothing about who
 * runs the listener).
 */
export async function selfSignedPlaceholder(name: string, days: number): Promise<PemPair> {
  const keys = await newKeys();
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + days * 86_400_000);
  const serial = newSerial();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial, name: `CN=${rdnValue(name)}`, notBefore, notAfter, signingAlgorithm: ALGORITHM, keys: keys as unknown as LibKeyPair,
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey), notBefore, notAfter, serial: serial.toUpperCase() };
}
