// NM-3: pod IPs unique, address plan sound, identity on the wire.
import { describeRule } from './rule.js';

describeRule('NM-3', { nodes: 3, labPrefix: 'snm3' });
