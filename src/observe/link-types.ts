/**
 * Numbers and names the frame decoder dispatches on: LINKTYPE_* values as stored in pcap/pcapng
 * files (https://www.tcpdump.org/linktypes.html), the EtherTypes it decodes or knows to carry no
 * TCP (IEEE registry), and the PPP protocol numbers (RFC 1661, IANA "PPP DLL protocol numbers").
 */

/** Link-layer header types the decoder understands. */
export const LinkType = {
  NULL: 0,
  EN10MB: 1,
  PPP: 9,
  RAW_12: 12,
  RAW_14: 14,
  PPP_HDLC: 50,
  PPP_ETHER: 51,
  RAW: 101,
  C_HDLC: 104,
  IEEE802_11: 105,
  LOOP: 108,
  LINUX_SLL: 113,
  IEEE802_11_RADIOTAP: 127,
  PPP_PPPD: 166,
  IPV4: 228,
  IPV6: 229,
  NFLOG: 239,
  LINUX_SLL2: 276,
} as const;

/** Names of link types that appear in captures but are not decoded (for the "skipped" reasons). */
const LINK_TYPE_NAMES: Record<number, string> = {
  3: 'AX25',
  6: 'IEEE802_5 (token ring)',
  8: 'SLIP',
  10: 'FDDI',
  107: 'FRELAY',
  119: 'PRISM (802.11)',
  122: 'IP_OVER_FC',
  143: 'DOCSIS',
  163: 'IEEE802_11_AVS',
  187: 'BLUETOOTH_HCI_H4',
  192: 'PPI',
  195: 'IEEE802_15_4',
  220: 'USB_LINUX_MMAPPED',
  249: 'NETANALYZER',
  253: 'NETLINK',
  254: 'IPOIB',
};

/** A readable name for a link type number (the tcpdump.org name where known). */
export function linkTypeName(linkType: number): string {
  for (const [name, value] of Object.entries(LinkType)) if (value === linkType) return name;
  return LINK_TYPE_NAMES[linkType] ?? 'unknown';
}

export const EtherType = {
  IPV4: 0x0800,
  IPV6: 0x86dd,
  VLAN: 0x8100,
  QINQ: 0x88a8,
  QINQ_OLD: 0x9100,
  QINQ_OLD2: 0x9200,
  QINQ_OLD3: 0x9300,
  MPLS: 0x8847,
  MPLS_MULTICAST: 0x8848,
  PPPOE_SESSION: 0x8864,
  TRANSPARENT_ETHERNET: 0x6558,
  ERSPAN_I_II: 0x88be,
  ERSPAN_III: 0x22eb,
  PBB: 0x88e7,
  PPP: 0x880b,
} as const;

/** EtherTypes of protocols that never carry TCP: counted as "not TCP", not as undecoded. */
export const NON_IP_ETHERTYPES: ReadonlySet<number> = new Set([
  0x0806, // ARP
  0x8035, // RARP (also Cisco SLARP on C_HDLC)
  0x0842, // Wake-on-LAN
  0x2000, // Cisco CDP
  0x2004, // Cisco DTP
  0x809b, // AppleTalk
  0x80f3, // AARP
  0x8137, // IPX
  0x8138, // IPX
  0x8808, // Ethernet flow control
  0x8809, // slow protocols (LACP)
  0x8863, // PPPoE discovery
  0x888e, // EAPOL
  0x8892, // PROFINET
  0x88a4, // EtherCAT
  0x88b8, // GOOSE
  0x88ba, // IEC 61850 SV
  0x88cc, // LLDP
  0x88f7, // PTP
  0x8902, // CFM
  0x8906, // FCoE
  0x8914, // FIP
  0x9000, // loopback (configuration test protocol)
  0x0000, // GRE keepalive
]);

/** PPP protocol numbers (RFC 1661 §2; IANA). */
export const PppProtocol = {
  IPV4: 0x0021,
  IPV6: 0x0057,
  MPLS: 0x0281,
  MPLS_MULTICAST: 0x0283,
  VJ_COMPRESSED: 0x002d,
  VJ_UNCOMPRESSED: 0x002f,
  COMPRESSED: 0x00fd,
} as const;

/** Aruba's GRE protocol types 0x8200–0x8350 (step 0x10) carry 802.11 frames (Wireshark packet-gre.h). */
export function isArubaGreProtocol(protocol: number): boolean {
  return protocol >= 0x8200 && protocol <= 0x8350 && (protocol & 0x0f) === 0;
}
