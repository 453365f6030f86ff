import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSlipwayError } from './errors.js';
import { lookupHostname, normalizeHostname } from './hostname.js';

const BASE = 'apps.slipway.test';

function reason(input: string): unknown {
  try {
    normalizeHostname(input, BASE);
  } catch (err) {
    assert.ok(isSlipwayError(err), `not a SlipwayError: ${String(err)}`);
    return err.code === 'invalid_hostname' ? err.details.reason : err.code;
  }
  assert.fail(`accepted ${JSON.stringify(input)}`);
}

describe('normalizeHostname', () => {
  it('accepts ordinary names and stores them lower-case', () => {
    assert.equal(normalizeHostname('www.their-clinic.com', BASE), 'www.their-clinic.com');
    assert.equal(normalizeHostname('WWW.Their-Clinic.COM', BASE), 'www.their-clinic.com');
    assert.equal(normalizeHostname('  a.b  ', BASE), 'a.b');
    assert.equal(normalizeHostname('1password.com', BASE), '1password.com');
    assert.equal(normalizeHostname('x--y.example.org', BASE), 'x--y.example.org');
  });

  it('stores Unicode names as punycode', () => {
    assert.equal(normalizeHostname('bücher.example', BASE), 'xn--bcher-kva.example');
    assert.equal(normalizeHostname('BÜCHER.Example', BASE), 'xn--bcher-kva.example');
    assert.equal(normalizeHostname('例え.jp', BASE), 'xn--r8jz45g.jp');
  });

  it('refuses names longer than DNS allows, and overlong labels', () => {
    const label = 'a'.repeat(63);
    const ok = [label, label, label, 'a'.repeat(61)].join('.');
    assert.equal(ok.length, 253);
    assert.equal(normalizeHostname(ok, BASE), ok);
    assert.equal(reason(`${ok}a`), 'too_long');
    assert.equal(reason('x'.repeat(100_000)), 'too_long');
    assert.equal(reason(`${'a'.repeat(64)}.com`), 'label_too_long');
  });

  it('refuses bad labels', () => {
    for (const bad of ['-a.com', 'a-.com', 'a_b.com', 'a..com', '.a.com', 'a b.com', 'a/b.com', 'a%20.com', 'ex@mple.com']) {
      assert.equal(reason(bad), 'bad_label', bad);
    }
  });

  it('refuses IP literals, v4 and v6, and numeric top-level labels', () => {
    for (const ip of ['127.0.0.1', '10.0.0.1', '999.1.1.1', '[::1]', '::1', '2001:db8::1', '[2001:db8::1]', '1.2.3', '0x7f.1', '12345']) {
      assert.equal(reason(ip), 'ip_literal', ip);
    }
  });

  it('refuses IP literals written in full-width digits or ideographic dots, also as a redirect target', () => {
    for (const ip of ['１２７.０.０.１', '127。0。0。1', '1.2.3.４', '１０.0.0.1', '０x7f.1']) {
      assert.equal(reason(ip), 'ip_literal', ip);
      assert.throws(() => normalizeHostname(ip, null), (err) => isSlipwayError(err) && err.details.reason === 'ip_literal', ip);
    }
  });

  it('finds a claimed name again from its Unicode or upper-case spelling', () => {
    assert.equal(lookupHostname(' Bücher.test '), 'xn--bcher-kva.test');
    assert.equal(lookupHostname('WWW.Example.COM'), 'www.example.com');
    assert.equal(lookupHostname('dom_01abc'), 'dom_01abc');
  });

  it('refuses localhost and its subdomains', () => {
    assert.equal(reason('localhost'), 'localhost');
    assert.equal(reason('LOCALHOST'), 'localhost');
    assert.equal(reason('app.localhost'), 'localhost');
  });

  it('refuses wildcards, a trailing dot, single labels and empty input', () => {
    assert.equal(reason('*.apps.example.com'), 'wildcard');
    assert.equal(reason('a.*.com'), 'wildcard');
    assert.equal(reason('example.com.'), 'trailing_dot');
    assert.equal(reason('com'), 'single_label');
    assert.equal(reason(''), 'empty');
    assert.equal(reason('   '), 'empty');
    assert.equal(reason('a.com:443'), 'ip_literal');
  });

  it('refuses what IDNA refuses', () => {
    assert.equal(reason('xn--zz.com'), 'not_idna');
  });

  it('reserves the base domain and every name under it', () => {
    assert.equal(reason(BASE), 'hostname_reserved');
    assert.equal(reason('APPS.slipway.test'), 'hostname_reserved');
    assert.equal(reason('app.apps.slipway.test'), 'hostname_reserved');
    assert.equal(reason('v2--app.apps.slipway.test'), 'hostname_reserved');
    // A sibling that merely ends with the same letters is not under it.
    assert.equal(normalizeHostname('myapps.slipway.test', BASE), 'myapps.slipway.test');
    assert.equal(normalizeHostname('slipway.test', BASE), 'slipway.test');
  });
});
