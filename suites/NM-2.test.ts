// NM-2: node agents and hostNetwork pods reach pods without NAT.
import { describeRule } from './rule.js';

describeRule('NM-2', { nodes: 3, labPrefix: 'snm2' });
