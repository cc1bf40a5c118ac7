// The lab's dataplane profiles as data: the real CNI each models, what differs
// from the ideal lab, and the strict checks it fails by design (FIELD.md §1,
// §2). The README's profile table and the detection matrix's baseline come
// from here. Pure data.
import type { Dataplane } from './plan.js';
import type { FaultDef } from './faults.js';

export interface ProfileDef {
  name: Dataplane;
  /** The real CNI (family) it models, and how the lab builds it. */
  models: string;
  /** What differs from the ideal lab, in the ways that trip verdicts. */
  differs: string;
  /** Checks of the strict profile that fail on a clean lab of this profile, by design; every other check passes. */
  strictFails: readonly string[];
}

export const PROFILES: readonly ProfileDef[] = [
  {
    name: 'host-gw',
    models: 'flannel host-gw / a routed bridge setup: the real `bridge` plugin with host-local IPAM over the node\'s podCIDR',
    differs: 'the ideal lab: a cni0 bridge per node, routes to other nodes\' podCIDRs via their addresses, masquerade of pod traffic leaving the cluster with node addresses exempt',
    strictFails: [],
  },
  {
    name: 'vxlan',
    models: 'flannel VXLAN: `bridge` + host-local, a flannel.1 device (VNI 1, port 8472) with static FDB and neighbour entries',
    differs: 'as host-gw, over a VXLAN overlay (pod MTU 1450)',
    strictFails: [],
  },
  {
    name: 'kindnet',
    models: 'kind\'s kindnetd: the real `ptp` plugin with host-local IPAM over the node\'s podCIDR, kindnetd\'s KIND-MASQ-AGENT iptables chain',
    differs: 'no bridge: a veth per pod, the range\'s gateway as a /32 on every host end and a /32 route per pod; every packet not to the pod range and not to a LOCAL address is masqueraded, so pod → other node is SNATed',
    strictFails: ['NM-2.3'],
  },
  {
    name: 'calico',
    models: 'Calico (BGP, calico-ipam, natOutgoing): the veth wiring of calico\'s CNI plugin done by hand (the plugin is not packaged), addresses from host-local over the node\'s /26 block',
    differs: 'no bridge: host ends (cali…) without address, MAC ee:ee:ee:ee:ee:ee, proxy ARP; pods\' default route via 169.254.1.1; /26 blocks taken in order from 10.244.0.0/16, ignoring the /24 podCIDRs the API reports (node-5 holds a block inside node-1\'s); routes per block via node addresses; pool → non-pool traffic masqueraded, nodes included',
    strictFails: ['NM-2.3', 'NM-3.4'],
  },
  {
    name: 'vpc',
    models: 'AWS VPC CNI / Azure CNI: pod addresses from the VPC (host-local over a /26 prefix per node of 172.18.64.0/18, standing in for ipamd), the VPC CNI\'s veth wiring and policy rules done by hand',
    differs: 'nodes report no podCIDR; every node has a second NIC (eth1, the secondary ENI) and its pods\' traffic leaves by it (`from <prefix> lookup 100`, pref 1536; `to <prefix> lookup main`, pref 512); the fabric routes each node\'s prefix to its eth1, nodes route nothing; pods\' default route via 169.254.1.1 with a static ARP entry; SNAT only for pod traffic leaving the VPC (172.18.0.0/16) by eth1, so pod → node keeps the pod IP',
    // NM-3.4 is skipped, not failed: nodes have no podCIDR to be inside of.
    strictFails: [],
  },
  {
    name: 'flannel',
    models: 'flannel (VXLAN backend, kube-flannel manifest): a per-node subnet.env as flanneld writes it, the `bridge` + host-local config flannel\'s CNI meta-plugin derives from it (the meta-plugin is not packaged), flanneld\'s FLANNEL-POSTRTG and FLANNEL-FWD rules',
    differs: 'as vxlan, but the pods\' config comes from the node\'s subnet.env at every ADD (`ipMasq: !FLANNEL_IPMASQ`, MTU from the file, a route to FLANNEL_NETWORK and a default route), and flanneld masquerades pod traffic to anything outside the network but multicast, node addresses included',
    strictFails: ['NM-2.3'],
  },
];

export function profileDef(name: Dataplane): ProfileDef {
  return PROFILES.find((p) => p.name === name)!;
}

/**
 * What a `--profile strict` run must find on a 3-node lab of this profile
 * with this fault (or clean): the fault's declared outcome on that profile
 * when it declares one (FaultDef.on), else the fault's checks on top of the
 * profile's strict failures by design.
 */
export function expectedOn(fault: FaultDef | undefined, dataplane: Dataplane): { failed: string[]; undecided: string[] } {
  const own = fault?.on?.[dataplane];
  if (own) return { failed: [...own.failed].sort(), undecided: [...own.undecided].sort() };
  return { failed: [...new Set([...profileDef(dataplane).strictFails, ...(fault?.caughtBy ?? [])])].sort(), undecided: [...(fault?.undecided ?? [])].sort() };
}
