// NM-4: egress SNATed, in-cluster traffic not SNATed on the uplink.
import { describeRule } from './rule.js';

describeRule('NM-4', { nodes: 3, labPrefix: 'snm4' });
