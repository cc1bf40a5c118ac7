export * from './layers.js';
export { decodeFrame, LINKTYPE, DEFAULT_VXLAN_PORTS, type DecodeOptions, type RawFrame } from './packet.js';
export { CaptureReader, readCapture, type CaptureRecord, type CaptureError, type CaptureFormat } from './capture-file.js';
export { findToken, makeToken, parseToken, TOKEN_PREFIX } from './token.js';
export { formatPacket, formatFileError, packetJson, formatTime, type PacketJson } from './format.js';
