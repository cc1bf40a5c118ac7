import { describe, expect, test } from 'vitest';
import { decodeFrame, findToken, inner, innermostIp, makeToken, outer, outermostIp, parseToken, readCapture } from '../../src/decode/index.js';
import { ipv6 } from '../../src/decode/packet.js';

describe('IPv6 text form (RFC 5952)', () => {
  test.each([
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['fd000077000000000000000000000002', 'fd00:77::2'],
    ['20010db8000000010000000000000001', '2001:db8:0:1::1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['20010db8000100000000000100000000', '2001:db8:1::1:0:0'],
    ['fe800000000000000000000000000000', 'fe80::'],
    ['20010db8aaaabbbbccccddddeeee0001', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:1'],
  ])('%s → %s', (hex, text) => {
    expect(ipv6(Buffer.from(hex, 'hex'), 0)).toBe(text);
  });
});

describe('flow tokens', () => {
  test.each([
    ['podwire/run1/flow-a', 'podwire/run1/flow-a'],
    ['xxpodwire/r-2/f.b_c\nrest', 'podwire/r-2/f.b_c'],
    ['podwire//x podwire/ok/yes', 'podwire/ok/yes'],
    ['podwire/run-only', undefined],
    ['podwire/', undefined],
    ['nothing here', undefined],
  ])('%j → %j', (payload, token) => {
    expect(findToken(Buffer.from(payload))).toBe(token);
  });

  test('found in long payloads too (native search path)', () => {
    const b = Buffer.concat([Buffer.alloc(1000, 0x70), Buffer.from('podwire/big/payload')]);
    expect(findToken(b)).toBe('podwire/big/payload');
  });

  test('make and parse round trip; bad ids refused', () => {
    expect(parseToken(makeToken('r1', 'node-1.a_tcp'))).toEqual({ run: 'r1', flow: 'node-1.a_tcp' });
    expect(() => makeToken('r/1', 'x')).toThrow(/run id/);
    expect(() => makeToken('r', 'a b')).toThrow(/flow id/);
  });
});

/** Ether/IPv4/UDP 8472/VXLAN/Ether/IPv4/UDP with a token, built by hand. */
function vxlanFrame(): Buffer {
  const token = Buffer.from('podwire/t/v1');
  const innerIp = Buffer.alloc(20 + 8 + token.length);
  innerIp.writeUInt8(0x45, 0); innerIp.writeUInt16BE(innerIp.length, 2); innerIp.writeUInt8(17, 9);
  Buffer.from([10, 244, 1, 2, 10, 244, 2, 3]).copy(innerIp, 12);
  innerIp.writeUInt16BE(1111, 20); innerIp.writeUInt16BE(7000, 22); innerIp.writeUInt16BE(8 + token.length, 24);
  token.copy(innerIp, 28);
  const innerEth = Buffer.concat([Buffer.alloc(12, 1), Buffer.from([0x08, 0x00]), innerIp]);
  const vx = Buffer.from([0x08, 0, 0, 0, 0, 0, 1, 0]);
  const outerUdp = Buffer.alloc(8);
  outerUdp.writeUInt16BE(40000, 0); outerUdp.writeUInt16BE(8472, 2); outerUdp.writeUInt16BE(8 + vx.length + innerEth.length, 4);
  const outerIp = Buffer.alloc(20);
  outerIp.writeUInt8(0x45, 0); outerIp.writeUInt16BE(20 + outerUdp.length + vx.length + innerEth.length, 2); outerIp.writeUInt8(17, 9);
  Buffer.from([172, 18, 0, 11, 172, 18, 0, 12]).copy(outerIp, 12);
  return Buffer.concat([Buffer.alloc(12, 2), Buffer.from([0x08, 0x00]), outerIp, outerUdp, vx, innerEth]);
}

const frame = (data: Buffer, linktype = 1) => ({ index: 0, tsSec: 0, tsNsec: 0, linktype, caplen: data.length, origLen: data.length, data });

describe('asking a packet for its headers', () => {
  test('innermost and outermost IP, outer UDP port, VNI, token', () => {
    const p = decodeFrame(frame(vxlanFrame()));
    expect(p.encapsulation).toEqual(['vxlan']);
    expect(outermostIp(p)).toMatchObject({ src: '172.18.0.11', dst: '172.18.0.12' });
    expect(innermostIp(p)).toMatchObject({ src: '10.244.1.2', dst: '10.244.2.3' });
    expect(outer(p, 'udp')?.dstPort).toBe(8472);
    expect(inner(p, 'udp')?.dstPort).toBe(7000);
    expect(inner(p, 'vxlan')?.vni).toBe(1);
    expect(p.token).toBe('podwire/t/v1');
  });

  test('the VXLAN port set is an option', () => {
    const p = decodeFrame(frame(vxlanFrame()), { vxlanPorts: [4789] });
    expect(p.encapsulation).toEqual([]);
    expect(innermostIp(p)?.src).toBe('172.18.0.11');
  });

  test('every prefix of a frame decodes as far as it goes and says where it stopped', () => {
    const full = vxlanFrame();
    for (let n = 0; n < full.length; n++) {
      const p = decodeFrame({ ...frame(full.subarray(0, n)), origLen: full.length });
      expect(p.truncated).toBe(true);
      if (n < 14) expect(p.layers).toEqual([]);
      if (p.issue) expect(p.issue.offset).toBeLessThanOrEqual(n);
    }
  });
});

describe('pcapng timestamps', () => {
  test('if_tsresol is honoured (microseconds by default, nanoseconds when declared)', () => {
    const block = (type: number, body: Buffer) => {
      const len = 12 + body.length;
      const b = Buffer.alloc(len);
      b.writeUInt32LE(type, 0); b.writeUInt32LE(len, 4); body.copy(b, 8); b.writeUInt32LE(len, len - 4);
      return b;
    };
    const shb = block(0x0a0d0d0a, Buffer.from([0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    const idb = (tsresol?: number) => {
      const opts = tsresol === undefined ? Buffer.alloc(0) : Buffer.from([9, 0, 1, 0, tsresol, 0, 0, 0, 0, 0, 0, 0]);
      return block(1, Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 4, 0]), opts]));
    };
    const epb = (ifId: number, ts: bigint) => {
      const body = Buffer.alloc(20 + 4);
      body.writeUInt32LE(ifId, 0); body.writeUInt32LE(Number(ts >> 32n), 4); body.writeUInt32LE(Number(ts & 0xffffffffn), 8);
      body.writeUInt32LE(4, 12); body.writeUInt32LE(4, 16);
      return block(6, body);
    };
    const file = Buffer.concat([shb, idb(), idb(9), epb(0, 1_700_000_000_123_456n), epb(1, 1_700_000_000_123_456_789n)]);
    const { records, error } = readCapture(file);
    expect(error).toBeUndefined();
    expect(records.map((r) => [r.tsSec, r.tsNsec])).toEqual([[1_700_000_000, 123_456_000], [1_700_000_000, 123_456_789]]);
  });
});
