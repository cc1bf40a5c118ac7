// Reference decoding with tshark for agreement tests: the fields both sides
// must agree on, per packet, in header order (outer to inner, quotations included).
import { execa } from 'execa';
import type { DecodedPacket } from '../../src/decode/index.js';

export const FIELDS = ['ip.src', 'ip.dst', 'ip.proto', 'ipv6.src', 'ipv6.dst', 'ipv6.nxt', 'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport', 'vxlan.vni', 'geneve.vni'] as const;
export type Field = (typeof FIELDS)[number];
export type Row = Record<Field, string[]>;

const num = (v: string) => String(Number(v)); // tshark prints some integers in hex (0x…)

export async function tsharkRows(file: string, vxlanPorts: number[] = [8472]): Promise<{ rows: Row[]; stderr: string }> {
  const args = ['-r', file, '-n', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', '-E', 'separator=/t',
    '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE',
    ...vxlanPorts.flatMap((p) => ['-d', `udp.port==${p},vxlan`]), ...FIELDS.flatMap((f) => ['-e', f])];
  const r = await execa('tshark', args, { reject: false, timeout: 60_000 });
  const rows = String(r.stdout).split('\n').filter((l) => l.length > 0).map((line) => {
    const cells = line.split('\t');
    const row = {} as Row;
    FIELDS.forEach((f, i) => {
      const v = cells[i] ?? '';
      row[f] = v === '' ? [] : v.split(',').map((x) => (f.endsWith('src') || f.endsWith('dst') ? x : num(x)));
    });
    return row;
  });
  return { rows, stderr: String(r.stderr) };
}

export function podwireRow(p: DecodedPacket): Row {
  const row = Object.fromEntries(FIELDS.map((f) => [f, [] as string[]])) as Row;
  for (const l of p.layers) {
    switch (l.kind) {
      case 'ipv4':
        row['ip.src'].push(l.src); row['ip.dst'].push(l.dst); row['ip.proto'].push(String(l.protocol));
        break;
      case 'ipv6':
        row['ipv6.src'].push(l.src); row['ipv6.dst'].push(l.dst); row['ipv6.nxt'].push(String(l.nextHeader));
        break;
      case 'tcp':
        row['tcp.srcport'].push(String(l.srcPort)); row['tcp.dstport'].push(String(l.dstPort));
        break;
      case 'udp':
        row['udp.srcport'].push(String(l.srcPort)); row['udp.dstport'].push(String(l.dstPort));
        break;
      case 'vxlan':
        row['vxlan.vni'].push(String(l.vni));
        break;
      case 'geneve':
        row['geneve.vni'].push(String(l.vni));
        break;
      default:
        break;
    }
  }
  return row;
}
