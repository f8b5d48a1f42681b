import type { Lang } from './catalog.js';
import type { Text } from './text.js';

/*
 * ICMP messages as people read them: the type names (RFC 792; ICMPv6: RFC 4443) and the destination
 * unreachable codes (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1), one table per language.
 */

interface IcmpNames {
  readonly types: Readonly<Record<number, string>>;
  readonly unreachable: Readonly<Record<number, string>>;
  readonly types6: Readonly<Record<number, string>>;
  readonly unreachable6: Readonly<Record<number, string>>;
  /** Around the name after `ICMP type 3 code 1`. */
  readonly open: string;
  readonly close: string;
}

const NAMES: Readonly<Record<Lang, IcmpNames>> = {
  en: {
    types: { 0: 'echo reply', 3: 'destination unreachable', 5: 'redirect', 8: 'echo request', 11: 'time exceeded', 12: 'parameter problem' },
    unreachable: {
      0: 'net unreachable',
      1: 'host unreachable',
      2: 'protocol unreachable',
      3: 'port unreachable',
      9: 'net administratively prohibited',
      10: 'host administratively prohibited',
      13: 'communication administratively prohibited',
    },
    types6: { 1: 'destination unreachable', 2: 'packet too big', 3: 'time exceeded', 4: 'parameter problem' },
    unreachable6: { 0: 'no route', 1: 'administratively prohibited', 3: 'address unreachable', 4: 'port unreachable' },
    open: ' (',
    close: ')',
  },
  zh: {
    types: { 0: '回显应答', 3: '目的不可达', 5: '重定向', 8: '回显请求', 11: '超时', 12: '参数问题' },
    unreachable: {
      0: '网络不可达',
      1: '主机不可达',
      2: '协议不可达',
      3: '端口不可达',
      9: '网络被管理性禁止',
      10: '主机被管理性禁止',
      13: '通信被管理性禁止',
    },
    types6: { 1: '目的不可达', 2: '分组过大', 3: '超时', 4: '参数问题' },
    unreachable6: { 0: '无路由', 1: '被管理性禁止', 3: '地址不可达', 4: '端口不可达' },
    open: '（',
    close: '）',
  },
};

/** `ICMP type 3 code 1 (host unreachable)` (`ICMPv6 …` for family 6) in `lang`; the code is left out when undefined. */
export function describeIcmp(type: number, code: number | undefined, family: 4 | 6 = 4, lang: Lang = 'en'): string {
  const words = NAMES[lang];
  const name = (family === 4 ? words.types : words.types6)[type];
  const unreachable = family === 4 ? type === 3 : type === 1;
  const codeName = unreachable && code !== undefined ? (family === 4 ? words.unreachable : words.unreachable6)[code] : undefined;
  const label = name === undefined ? '' : `${words.open}${codeName ?? name}${words.close}`;
  return `${family === 6 ? 'ICMPv6' : 'ICMP'} type ${type}${code === undefined ? '' : ` code ${code}`}${label}`;
}

/** describeIcmp() in every language. */
export function icmpText(type: number, code: number | undefined, family: 4 | 6 = 4): Text {
  return { en: describeIcmp(type, code, family, 'en'), zh: describeIcmp(type, code, family, 'zh') };
}
