// The lab's dataplane profiles as data: the real CNI each models, what differs
// from the ideal lab, and the strict checks it fails by design (FIELD.md §1,
// §2). The README's profile table and the detection matrix's baseline come
// from here. Pure data.
import type { Dataplane } from './plan.js';

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
];

export function profileDef(name: Dataplane): ProfileDef {
  return PROFILES.find((p) => p.name === name)!;
}
