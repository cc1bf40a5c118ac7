// The flannel profile's node-side model, pure. flanneld writes a per-node
// subnet file (/run/flannel/subnet.env on a real node; here under the lab's
// state dir), and flannel's CNI meta-plugin (flannel-io/cni-plugin, not
// packaged in Debian) reads it at every ADD and delegates to `bridge` with a
// config derived from it: the node's subnet for host-local, a route to the
// whole network, the MTU from the file, and ipMasq on only when flanneld does
// not masquerade itself. flanneld's masquerade (FLANNEL-POSTRTG) and forward
// (FLANNEL-FWD) rules are here too (flannel-io/flannel pkg/trafficmngr/iptables).
import { CLUSTER_POD_CIDR, type NodePlan } from './plan.js';
import { CNI_VERSION, type BridgeNetConf } from './cni.js';
import type { FaultName } from './faults.js';

export interface SubnetEnv {
  network: string;
  /** The node's lease as flanneld writes it: the gateway address with the subnet's prefix (10.244.1.1/24). */
  subnet: string;
  mtu: number;
  ipMasq: boolean;
}

/** What flanneld would write for this node; flannel-no-ip-masq models flanneld run without --ip-masq. */
export function subnetEnvFor(node: NodePlan, mtu: number, faults: readonly FaultName[] = []): SubnetEnv {
  return { network: CLUSTER_POD_CIDR, subnet: `${node.bridgeIP}/${node.podCIDR.split('/')[1]}`, mtu, ipMasq: !faults.includes('flannel-no-ip-masq') };
}

/** The file's text, in flanneld's format (KEY=value lines). */
export function subnetEnvText(env: SubnetEnv): string {
  return `FLANNEL_NETWORK=${env.network}\nFLANNEL_SUBNET=${env.subnet}\nFLANNEL_MTU=${env.mtu}\nFLANNEL_IPMASQ=${env.ipMasq}\n`;
}

/** Parses the file as the meta-plugin does; a missing key is an error naming it, as there. */
export function parseSubnetEnv(text: string, file = 'subnet.env'): SubnetEnv {
  const kv = new Map(text.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()] as const));
  const missing = ['FLANNEL_NETWORK', 'FLANNEL_SUBNET', 'FLANNEL_MTU', 'FLANNEL_IPMASQ'].filter((k) => !kv.has(k));
  if (missing.length) throw new Error(`${file} is missing ${missing.join(', ')}`);
  const mtu = Number(kv.get('FLANNEL_MTU'));
  if (!Number.isInteger(mtu) || mtu <= 0) throw new Error(`${file}: FLANNEL_MTU is not a number: ${kv.get('FLANNEL_MTU')}`);
  return { network: kv.get('FLANNEL_NETWORK')!, subnet: kv.get('FLANNEL_SUBNET')!, mtu, ipMasq: kv.get('FLANNEL_IPMASQ') === 'true' };
}

/** An address/prefix as its network (Go's net.ParseCIDR, which the meta-plugin uses: 10.244.1.1/24 → 10.244.1.0/24). */
export function networkOf(cidr: string): string {
  const [addr, len] = cidr.split('/');
  const bits = Number(len);
  const n = addr!.split('.').reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
  const masked = bits === 0 ? 0 : (n & (~0 << (32 - bits))) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (masked >>> s) & 255).join('.')}/${bits}`;
}

/**
 * The delegate config the meta-plugin builds from kube-flannel's conflist
 * (`{"type": "flannel", "delegate": {"hairpinMode": true, "isDefaultGateway": true}}`)
 * and the subnet file: type bridge, isGateway, mtu, ipMasq = !FLANNEL_IPMASQ,
 * host-local over the subnet's network with a route to FLANNEL_NETWORK.
 * The bridge is `cni0`, the plugin's default name in kube-flannel's setup.
 */
export function flannelDelegateConf(env: SubnetEnv, ipamDir: string, faults: readonly FaultName[] = []): BridgeNetConf & { isDefaultGateway: boolean } {
  return {
    cniVersion: CNI_VERSION,
    name: 'cbr0',
    type: 'bridge',
    bridge: 'cni0',
    hairpinMode: true,
    isDefaultGateway: true,
    // masquerade-all: `"ipMasq": true` in the delegate, which the meta-plugin keeps.
    ipMasq: faults.includes('masquerade-all') || !env.ipMasq,
    mtu: env.mtu,
    isGateway: true,
    ipam: { type: 'host-local', ranges: [[{ subnet: networkOf(env.subnet) }]], routes: [{ dst: env.network }], dataDir: ipamDir },
  };
}

/**
 * flanneld's masquerade with --ip-masq: nothing inside the network or to
 * the node's own subnet is masqueraded; anything else from the network is
 * (node addresses included, FIELD.md §1), except multicast; traffic from
 * outside the network to it is masqueraded too. Without --ip-masq there are
 * none (the bridge's ipMasq takes over); no-egress-snat loses the two
 * MASQUERADE rules (as iptables flushed under flanneld, k3s#7096).
 */
export function flannelMasqRules(env: SubnetEnv, faults: readonly FaultName[] = []): string[] {
  if (!env.ipMasq) return [];
  const c = '-m comment --comment "flanneld masq"';
  const sub = networkOf(env.subnet);
  return [
    ':FLANNEL-POSTRTG - [0:0]',
    `-A POSTROUTING ${c} -j FLANNEL-POSTRTG`,
    `-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 ${c} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${sub} -d ${env.network} ${c} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${env.network} -d ${sub} ${c} -j RETURN`,
    ...(faults.includes('no-egress-snat') ? [] : [
      `-A FLANNEL-POSTRTG -s ${env.network} ! -d 224.0.0.0/4 ${c} -j MASQUERADE --random-fully`,
      `-A FLANNEL-POSTRTG ! -s ${env.network} -d ${env.network} ${c} -j MASQUERADE --random-fully`,
    ]),
  ];
}

/** flanneld's forward rules: pod traffic is accepted whatever the FORWARD policy (why forward-drop does not apply to flannel). */
export function flannelForwardRules(env: SubnetEnv): string {
  const c = '-m comment --comment "flanneld forward"';
  return ['*filter', ':FORWARD ACCEPT [0:0]', ':FLANNEL-FWD - [0:0]', `-A FORWARD ${c} -j FLANNEL-FWD`,
    `-A FLANNEL-FWD -s ${env.network} ${c} -j ACCEPT`, `-A FLANNEL-FWD -d ${env.network} ${c} -j ACCEPT`, 'COMMIT', ''].join('\n');
}
