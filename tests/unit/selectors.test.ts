import { describe, expect, test } from 'vitest';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from '../../src/lab/apiserver/selectors.js';
import { ApiError } from '../../src/lab/apiserver/status.js';

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front', 'podwire.dev/run': 'r1' };
  test.each([
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['app=db', false],
    ['app in (web,db)', true],
    ['app in (db, cache)', false],
    ['app notin (db)', true],
    ['tier', true],
    ['!tier', false],
    ['missing', false],
    ['!missing', true],
    ['missing!=x', true],
    ['app=web,tier=front', true],
    ['app=web,tier=back', false],
    ['podwire.dev/run=r1', true],
    ['app in (web),!missing,tier', true],
  ])('%j matches %j', (sel, want) => {
    expect(matchesLabels(parseLabelSelector(sel), labels)).toBe(want);
  });

  test.each(['app in (', '=x', 'a b c', 'app in web'])('rejects %j with a 400 naming it', (sel) => {
    try {
      parseLabelSelector(sel);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ApiError);
      expect((e as ApiError).code).toBe(400);
      expect((e as ApiError).message).toContain(sel.trim() || sel);
    }
  });
});

describe('field selectors', () => {
  const get = (f: string) => ({ 'metadata.name': 'p1', 'spec.nodeName': 'node-2' })[f];
  test.each([
    ['metadata.name=p1', true],
    ['metadata.name==p1', true],
    ['metadata.name!=p1', false],
    ['spec.nodeName=node-2,metadata.name=p1', true],
    ['spec.nodeName=node-1', false],
  ])('%j → %j', (sel, want) => {
    expect(matchesFields(parseFieldSelector(sel, ['metadata.name', 'spec.nodeName'], 'Pod'), get)).toBe(want);
  });

  test('an unsupported field is a 400 naming it', () => {
    expect(() => parseFieldSelector('spec.bogus=1', ['metadata.name'], 'Pod')).toThrow(/field label not supported: spec.bogus/);
  });
});
