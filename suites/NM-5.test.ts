// NM-5 (extended): full-size DF packets cross nodes or draw "fragmentation needed".
import { describeRule } from './rule.js';

describeRule('NM-5', { nodes: 3, labPrefix: 'snm5' });
