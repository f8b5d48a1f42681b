/**
 * Every bound a lab file is held to, in one place. The loader enforces them before anything is
 * created, the JSON Schema states them (lab-kinds.ts builds both from these numbers), and the README
 * lists them. Each bound is far above what a real lab needs and far below what breaks something.
 */

/** A lab file is a few KiB; anything larger is not a lab (a capture, a log, /dev/zero). */
export const MAX_LAB_FILE_BYTES = 256 * 1024;

/** Mappings and lists inside each other; real labs nest 5 deep (`expect[0].states.path[1]`), 4,000 overflowed the stack. */
export const MAX_YAML_DEPTH = 20;

/** Alias nodes (`*name`) in a file; their expansion is bounded by yaml's maxAliasCount, set to twice this (load-lab.ts). */
export const MAX_YAML_ALIASES = 50;

/** Every duration (timeout, wait timeout, sleep, timer about/within): 1 h. Node's setTimeout overflows above 2^31-1 ms (24.8 days) and fires at once. */
export const MAX_DURATION_MS = 3_600_000;

/** Steps and expectations of one lab (700,000 steps were accepted and ran out of memory). */
export const MAX_STEPS = 500;
export const MAX_EXPECTATIONS = 200;

/** A lab's hosts get .2, .3, … of its /24 (.1 is the bridge, .255 broadcast): at most .2–.254. */
export const MAX_HOSTS = 253;

/** Bytes of one `send` step (the agent holds them in memory). */
export const MAX_SEND_BYTES = 16 * 1024 * 1024;

/** Payload of one injected segment: what fits a 1500-byte Ethernet frame under 20 bytes of IP and 20 of TCP header. */
export const MAX_INJECT_BYTES = 1460;

/** listen backlog; the kernel caps it at net.core.somaxconn anyway (4096 by default, SOMAXCONN in include/linux/socket.h). */
export const MAX_BACKLOG = 65_535;

/** Packet and socket counts in expectations. */
export const MAX_EXPECTED_COUNT = 1_000_000;

/** Lengths of names and texts. Host names are container host names (at most 63 characters, RFC 1123). */
export const MAX_NAME_CHARS = 40;
export const MAX_TITLE_CHARS = 200;
export const MAX_TEXT_CHARS = 20_000;
export const MAX_RULE_CHARS = 500;
/** A sysctl value: one line; the longest kernel values (tcp_fastopen_key, ip_local_reserved_ports) are under 200. */
export const MAX_SYSCTL_VALUE_CHARS = 256;
export const MAX_SYSCTLS_PER_HOST = 100;

/** Keys that would reach an object's prototype in JavaScript; refused everywhere (file keys and --set paths). */
export const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
