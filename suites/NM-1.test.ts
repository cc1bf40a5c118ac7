// NM-1: pod to pod without NAT, same node and across nodes, replies included.
import { describeRule } from './rule.js';

describeRule('NM-1', { nodes: 3, labPrefix: 'snm1' });
