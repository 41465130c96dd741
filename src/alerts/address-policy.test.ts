// The webhook address policy without a server: which addresses are refused (IPv4 inside IPv6
// included), how allow-list entries match URLs and vouch for addresses, and that a bad entry is
// refused with the flag named.

import { describe, expect, it } from 'vitest';
import { StintError } from '../core/errors.js';
import { blockedRange, WebhookPolicy } from './address-policy.js';

describe('blockedRange', () => {
  it('names the range of every address a member must not reach', () => {
    const cases: Array<[string, string]> = [
      ['127.0.0.1', 'loopback'], ['127.255.0.9', 'loopback'], ['::1', 'loopback'], ['0.0.0.0', 'unspecified'], ['::', 'unspecified'],
      ['169.254.169.254', 'link-local'], ['fe80::1', 'link-local'], ['10.0.0.1', 'private'], ['172.31.255.255', 'private'],
      ['192.168.0.1', 'private'], ['fd12:3456::1', 'unique-local'], ['100.64.0.1', 'shared (CGNAT)'], ['224.0.0.251', 'multicast'],
      ['ff02::1', 'multicast'], ['255.255.255.255', 'reserved'], ['192.0.2.1', 'documentation'],
    ];
    for (const [address, range] of cases) expect(blockedRange(address), address).toBe(range);
  });

  it('checks the IPv4 address inside mapped, compatible, NAT64 and 6to4 IPv6 addresses', () => {
    expect(blockedRange('::ffff:127.0.0.1')).toMatch(/^loopback \(IPv4 127\.0\.0\.1 inside IPv6\)$/);
    expect(blockedRange('::ffff:a9fe:a9fe')).toMatch(/^link-local/);
    expect(blockedRange('::a00:1')).toMatch(/^private/);
    expect(blockedRange('64:ff9b::7f00:1')).toMatch(/^loopback/);
    expect(blockedRange('2002:c0a8:101::1')).toMatch(/^private/);
    expect(blockedRange('::ffff:93.184.216.34')).toBeNull();
    // Forms the red team found accepted: local-use NAT64, IPv4-translated, Teredo.
    expect(blockedRange('64:ff9b:1::7f00:1')).toMatch(/^not global unicast/);
    expect(blockedRange('64:ff9b:1::a00:1')).toMatch(/^not global unicast/);
    expect(blockedRange('::ffff:0:7f00:1')).toMatch(/^not global unicast/);
    expect(blockedRange('2001::7f00:1')).toMatch(/^IETF protocol assignment/);
    expect(blockedRange('2001:0::7f00:1')).toMatch(/^IETF protocol assignment/);
    expect(blockedRange('2001:10::1')).toMatch(/^IETF protocol assignment/);
    expect(blockedRange('2606:4700::1111')).toBeNull();
  });

  it('lets public addresses through', () => {
    for (const address of ['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111', '172.32.0.1', '100.128.0.1']) expect(blockedRange(address), address).toBeNull();
  });
});

describe('WebhookPolicy', () => {
  it('matches hosts, host:port, URL prefixes and CIDRs, and no look-alike', () => {
    const policy = new WebhookPolicy(['hooks.slack.com', 'chat.lab:8065', 'https://ntfy.sh/lab-', '203.0.113.0/24']);
    const ok = (url: string) => policy.ruleProblem(new URL(url)) === null;
    expect(ok('https://hooks.slack.com/services/T/B/x')).toBe(true);
    expect(ok('https://HOOKS.slack.com./x')).toBe(false);
    expect(ok('https://hooks.slack.com.evil.example/x')).toBe(false);
    expect(ok('http://chat.lab:8065/hooks/1')).toBe(true);
    expect(ok('http://chat.lab/hooks/1')).toBe(false);
    expect(ok('https://ntfy.sh/lab-alerts')).toBe(true);
    expect(ok('https://ntfy.sh/other')).toBe(false);
    expect(ok('http://203.0.113.7/x')).toBe(true);
    expect(ok('http://203.0.114.7/x')).toBe(false);
  });

  it('lets only address entries vouch for a blocked address, on their port when they name one', () => {
    const policy = new WebhookPolicy(['chat.lab', '10.0.0.5:8065', '192.168.7.0/24']);
    expect(policy.addressProblem('10.0.0.5', 8065)).toBeNull();
    expect(policy.addressProblem('10.0.0.5', 22)).toMatch(/private address.*--webhook-allow 10\.0\.0\.5:22/);
    expect(policy.addressProblem('192.168.7.20', 443)).toBeNull();
    expect(policy.addressProblem('127.0.0.1', 80)).toMatch(/loopback/);
    expect(policy.addressProblem('93.184.216.34', 443)).toBeNull();
  });

  it('lets admins set any http(s) target and refuses members with the rule and the fix', async () => {
    const policy = new WebhookPolicy([]);
    await expect(policy.checkSet('http://127.0.0.1:9/x', 'admin')).resolves.toBeUndefined();
    const refused = await policy.checkSet('https://hooks.slack.com/x', 'member').then(() => null, (e: unknown) => e);
    expect(refused).toBeInstanceOf(StintError);
    expect((refused as StintError).message).toMatch(/no host is allow-listed.*--webhook-allow/);
    await expect(policy.checkSet('ftp://example.com/', 'admin')).rejects.toThrow(/not an http\(s\) URL/);
  });

  it('refuses a bad entry at start, naming the flag', () => {
    for (const entry of ['10.0.0.0/33', 'http://', 'host/path', 'user:pw@host']) {
      expect(() => new WebhookPolicy([entry]), entry).toThrow(/--webhook-allow/);
    }
  });
});
