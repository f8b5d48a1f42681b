/*
 * What a segment is (SYN, SYN-ACK, FIN, RST, data, ACK), for the analysis and its readers. The classifier
 * lives with the capture's connection tracker (src/verify/connections.ts, another part of the tree owns it);
 * this is the analysis' one door to it, so reports do not import from src/verify.
 */
export { kindOf, type SegmentKind } from '../verify/connections.js';
